import pytest

from harness_eval.gateway.conversation import ToolSpec
from harness_eval.gateway.tools import UnmappedCall, actions, find_tool, native_arguments, native_call
from harness_eval.gateway.wire.openai_responses import freeform_schema

from .conftest import (
    CLAUDE_CODE_TOOLS,
    CUSTOM_TOOLS,
    GEMINI_CLI_TOOLS,
    OPENCODE_TOOLS,
    PATCH_GRAMMAR,
    RESPONSES_CLI_TOOLS,
)

GEMINI = [ToolSpec(name, schema) for name, schema in GEMINI_CLI_TOOLS]
OPENCODE = [ToolSpec(name, schema) for name, schema in OPENCODE_TOOLS]
CUSTOM = [ToolSpec(name, schema) for name, schema in CUSTOM_TOOLS]
# A shell and a freeform patch tool, as the Responses API's CLI declares them (the codec reads the latter so).
SHELL_AND_PATCH = [ToolSpec(n, s) for n, s in RESPONSES_CLI_TOOLS] + [
    ToolSpec("apply_patch", freeform_schema(PATCH_GRAMMAR))
]
CLAUDE = [ToolSpec(name, schema) for name, schema in CLAUDE_CODE_TOOLS]

ABSTRACT = {
    "shell": {"command": "ls -la docs"},
    "read": {"path": "docs/notice.txt"},
    "write": {"path": "notes.txt", "content": "hello"},
    "edit": {"path": "config/x.yaml", "old": "a: 1", "new": "a: 2"},
}


def _map(kind: str, tools: list[ToolSpec]) -> tuple[str, dict]:
    tool = find_tool(kind, tools)
    return tool.name, native_arguments(kind, ABSTRACT[kind], tool, "/workspace")


def test_gemini_cli_declarations() -> None:
    assert _map("shell", GEMINI) == (
        "run_shell_command",
        {"command": "ls -la docs", "description": "Run ls -la docs"},
    )
    assert _map("read", GEMINI) == ("read_file", {"file_path": "/workspace/docs/notice.txt"})
    assert _map("write", GEMINI) == ("write_file", {"file_path": "/workspace/notes.txt", "content": "hello"})
    assert _map("edit", GEMINI) == (
        "replace",
        {
            "file_path": "/workspace/config/x.yaml",
            "old_string": "a: 1",
            "new_string": "a: 2",
            "instruction": "Edit /workspace/config/x.yaml",
        },
    )


def test_opencode_declarations() -> None:
    assert _map("shell", OPENCODE) == ("bash", {"command": "ls -la docs", "description": "Run ls -la docs"})
    assert _map("read", OPENCODE) == ("read", {"filePath": "/workspace/docs/notice.txt"})
    assert _map("write", OPENCODE) == ("write", {"filePath": "/workspace/notes.txt", "content": "hello"})
    assert _map("edit", OPENCODE) == (
        "edit",
        {"filePath": "/workspace/config/x.yaml", "oldString": "a: 1", "newString": "a: 2"},
    )


def test_custom_loop_declarations_and_its_missing_edit() -> None:
    assert _map("shell", CUSTOM) == ("shell", {"command": "ls -la docs"})
    assert _map("read", CUSTOM) == ("read_file", {"path": "/workspace/docs/notice.txt"})
    assert _map("write", CUSTOM) == ("write_file", {"path": "/workspace/notes.txt", "content": "hello"})
    with pytest.raises(UnmappedCall, match=r"'edit'.*shell, read_file, write_file, end_task"):
        find_tool("edit", CUSTOM)


def test_what_each_harness_lets_the_model_do() -> None:
    """What a trial reads to tell a harness that gave the model no way to act (see the runner's fairness check)."""
    assert actions(GEMINI) == actions(OPENCODE) == actions(CLAUDE) == ["shell", "read", "write", "edit"]
    assert actions(CUSTOM) == ["shell", "read", "write"]
    assert "shell" in actions(SHELL_AND_PATCH)  # what the check needs; its freeform patch tool is mapped apart
    assert actions([tool for tool in CLAUDE if tool.name != "Bash"]) == ["read", "write", "edit"]
    assert actions([]) == []


def test_todo_writers_never_carry_a_write() -> None:
    todo_only = [tool for tool in OPENCODE + GEMINI if "todo" in tool.name]
    with pytest.raises(UnmappedCall):
        find_tool("write", todo_only)


def test_absolute_paths_are_kept_and_dot_segments_resolved() -> None:
    tool = find_tool("read", OPENCODE)
    assert native_arguments("read", {"path": "/etc/hosts"}, tool, "/workspace") == {"filePath": "/etc/hosts"}
    assert native_arguments("read", {"path": "./a/../b.txt"}, tool, "/w") == {"filePath": "/w/b.txt"}


def test_unknown_required_parameters_get_valid_values() -> None:
    strict = ToolSpec(
        "run_command",
        {
            "type": "object",
            "properties": {
                "cmd": {"type": "string"},
                "timeout_ms": {"type": "integer", "minimum": 1000},
                "shell": {"type": "string", "enum": ["bash", "sh"]},
                "optional": {"type": "string"},
            },
            "required": ["cmd", "timeout_ms", "shell"],
        },
    )
    assert native_arguments("shell", {"command": "true"}, strict, "/w") == {
        "cmd": "true",
        "timeout_ms": 1000,
        "shell": "bash",
    }


def test_a_shell_and_patch_harness_reads_with_the_shell_and_writes_and_edits_with_patches() -> None:
    def play(kind: str, arguments: dict[str, str]) -> tuple[str, dict]:
        return native_call(kind, arguments, SHELL_AND_PATCH, "/workspace")

    assert play("shell", ABSTRACT["shell"]) == ("exec_command", {"cmd": "ls -la docs"})
    assert play("read", {"path": "docs/it's here.txt"}) == (
        "exec_command",
        {"cmd": "cat '/workspace/docs/it'\"'\"'s here.txt'"},
    )
    assert play("write", {"path": "notes.txt", "content": "one\ntwo\n"}) == (
        "apply_patch",
        {"input": "*** Begin Patch\n*** Add File: /workspace/notes.txt\n+one\n+two\n*** End Patch\n"},
    )
    assert play("write", {"path": "/tmp/empty", "content": ""}) == (
        "apply_patch",
        {"input": "*** Begin Patch\n*** Add File: /tmp/empty\n+\n*** End Patch\n"},
    )
    assert play("edit", ABSTRACT["edit"]) == (
        "apply_patch",
        {"input": "*** Begin Patch\n*** Update File: /workspace/config/x.yaml\n@@\n-a: 1\n+a: 2\n*** End Patch\n"},
    )


def test_the_family_tool_wins_over_the_fallbacks_and_no_patch_tool_is_still_unmapped() -> None:
    assert native_call("write", ABSTRACT["write"], OPENCODE + SHELL_AND_PATCH, "/workspace")[0] == "write"
    with pytest.raises(UnmappedCall, match="'edit'"):
        native_call("edit", ABSTRACT["edit"], CUSTOM, "/workspace")
