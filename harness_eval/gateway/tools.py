"""Map a script's abstract calls (shell, read, write, edit) onto whatever tools the request declared.

Only the declarations on the wire are consulted, never harness code, so one script plays unchanged in every
harness, including one we have not met, as long as its tool and parameter names look like one of the families
seen so far: `run_shell_command`, `read_file`, `write_file`, `replace`; `bash`, `read`, `write`, `edit`; or our
own loop's `shell`, `read_file`, `write_file`.

A harness may offer only a shell and a patch tool (`exec_command` and a freeform `apply_patch` taking the patch
text as its one `input`). Then a read is the shell's `cat`, and a write or an edit is a patch, as a model working
in such a harness does it: a write adds the file whole (its text ends with a newline), and an edit replaces
whole lines, so its `old` must be complete lines of the file, or the harness reports the patch as failed.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass
from typing import Any

from harness_eval.gateway.conversation import ToolSpec
from harness_eval.gateway.schema import minimal_value, schema_type

PATH_KEYS = ("file_path", "filePath", "path", "absolute_path", "absolutePath", "filename")

# Parameters that only explain a call to a human (or an approval dialog); a model always fills them in.
DESCRIPTIVE_KEYS = ("description", "instruction", "explanation", "reason", "summary")


@dataclass(frozen=True)
class Family:
    """How to recognise the native tool for one abstract kind, and where each abstract argument goes."""

    names: tuple[str, ...]  # exact names, best first
    keywords: tuple[str, ...]  # any name containing one of these qualifies, after the exact names
    arguments: dict[str, tuple[str, ...]]  # abstract argument -> native parameter names it may be called
    verb: str  # for the descriptive parameters: "Read docs/x.txt"


FAMILIES: dict[str, Family] = {
    "shell": Family(
        names=("run_shell_command", "bash", "shell"),
        keywords=("shell", "bash", "command", "exec", "terminal"),
        arguments={"command": ("command", "cmd", "script")},
        verb="Run",
    ),
    "read": Family(
        names=("read_file", "read"),
        keywords=("read",),
        arguments={"path": PATH_KEYS},
        verb="Read",
    ),
    "write": Family(
        names=("write_file", "write"),
        keywords=("write", "create"),
        arguments={"path": PATH_KEYS, "content": ("content", "contents", "text", "file_text")},
        verb="Write",
    ),
    "edit": Family(
        names=("replace", "edit", "edit_file", "str_replace"),
        keywords=("edit", "replace"),
        arguments={
            "path": PATH_KEYS,
            "old": ("old_string", "oldString", "old_str", "old_text", "old"),
            "new": ("new_string", "newString", "new_str", "new_text", "new"),
        },
        verb="Edit",
    ),
}


# A patch tool: named like this, taking the patch as its one text parameter.
PATCH_NAMES = ("apply_patch",)
PATCH_INPUT = "input"


class UnmappedCall(Exception):
    """The request declares no tool that can carry an abstract call; the policy turns this into a message."""


def _rank(family: Family, tool: ToolSpec) -> int | None:
    """Lower is better; None when the tool cannot carry this kind of call at all."""
    if not all(any(key in tool.properties for key in keys) for keys in family.arguments.values()):
        return None
    if tool.name in family.names:
        return family.names.index(tool.name)
    lowered = tool.name.lower()
    if any(keyword in lowered for keyword in family.keywords):
        return len(family.names)
    return None


def actions(tools: list[ToolSpec]) -> list[str]:
    """The abstract kinds of call some declared tool can carry: what a request offers the model to act with."""
    return [kind for kind, family in FAMILIES.items() if any(_rank(family, tool) is not None for tool in tools)]


def find_tool(kind: str, tools: list[ToolSpec]) -> ToolSpec:
    family = FAMILIES[kind]
    ranked = [(rank, tool) for tool in tools if (rank := _rank(family, tool)) is not None]
    if not ranked:
        declared = ", ".join(tool.name for tool in tools) or "none"
        raise UnmappedCall(f"no declared tool can carry a '{kind}' call (declared: {declared})")
    return min(ranked, key=lambda item: item[0])[1]


def native_arguments(kind: str, arguments: dict[str, str], tool: ToolSpec, workspace: str) -> dict[str, Any]:
    """Native arguments for one abstract call: the script's values under the tool's own parameter names, paths
    made absolute (harness file tools reject or misplace relative ones), and every other required or
    descriptive parameter filled in the way a model would."""
    family = FAMILIES[kind]
    values = dict(arguments)
    if "path" in values:
        values["path"] = _absolute(values["path"], workspace)
    native: dict[str, Any] = {}
    for abstract, keys in family.arguments.items():
        key = next(key for key in keys if key in tool.properties)
        native[key] = values[abstract]
    subject = values.get("command") or values.get("path", "")
    subject = subject.splitlines()[0][:80] if subject else ""
    for key, schema in tool.properties.items():
        if key in native:
            continue
        if key in DESCRIPTIVE_KEYS and schema_type(schema) in (None, "string"):
            native[key] = f"{family.verb} {subject}"
        elif key in tool.required:
            native[key] = minimal_value(schema)
    return native


def native_call(
    kind: str, arguments: dict[str, str], tools: list[ToolSpec], workspace: str
) -> tuple[str, dict[str, Any]]:
    """The declared tool's name and its arguments for one abstract call: the family's own tool if there is one,
    else, for a harness of shell and patch tools, a read through the shell and a write or edit as a patch."""
    try:
        tool = find_tool(kind, tools)
    except UnmappedCall:
        shells = [t for t in tools if _rank(FAMILIES["shell"], t) is not None] if kind == "read" else []
        patch = _patch_tool(tools) if kind in ("write", "edit") else None
        if shells:
            shell = find_tool("shell", shells)
            command = f"cat {shlex.quote(_absolute(arguments['path'], workspace))}"
            return shell.name, native_arguments("shell", {"command": command}, shell, workspace)
        if patch is None:
            raise  # the call's own kind is what could not be carried
        return patch.name, {PATCH_INPUT: _patch(kind, arguments, workspace)}
    return tool.name, native_arguments(kind, arguments, tool, workspace)


def _absolute(path: str, workspace: str) -> str:
    return posixpath.normpath(posixpath.join(workspace, path))


def _patch_tool(tools: list[ToolSpec]) -> ToolSpec | None:
    return next(
        (t for t in tools if (t.name in PATCH_NAMES or "patch" in t.name.lower()) and t.required == [PATCH_INPUT]),
        None,
    )


def _patch(kind: str, arguments: dict[str, str], workspace: str) -> str:
    """A patch in the freeform format patch tools take: `*** Add File` with the whole text for a write, an
    `*** Update File` hunk replacing the old lines with the new for an edit."""
    path = _absolute(arguments["path"], workspace)
    if kind == "write":
        body = f"*** Add File: {path}\n" + _lines("+", arguments["content"])
    else:
        body = f"*** Update File: {path}\n@@\n" + _lines("-", arguments["old"]) + _lines("+", arguments["new"])
    return f"*** Begin Patch\n{body}*** End Patch\n"


def _lines(mark: str, text: str) -> str:
    lines = text.removesuffix("\n").split("\n")
    return "".join(f"{mark}{line}\n" for line in lines)
