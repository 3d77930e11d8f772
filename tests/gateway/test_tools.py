import pytest

from harness_eval.gateway.conversation import ToolSpec
from harness_eval.gateway.tools import UnmappedCall, find_tool, native_arguments

from .conftest import CUSTOM_TOOLS, GEMINI_CLI_TOOLS, OPENCODE_TOOLS

GEMINI = [ToolSpec(name, schema) for name, schema in GEMINI_CLI_TOOLS]
OPENCODE = [ToolSpec(name, schema) for name, schema in OPENCODE_TOOLS]
CUSTOM = [ToolSpec(name, schema) for name, schema in CUSTOM_TOOLS]

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
