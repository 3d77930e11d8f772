"""A minimal tool-use loop like the study's own setup, run *inside* the sandbox by the system Python.

Standard library only: the sandbox shows /usr but none of our virtualenv. It reads its episode (endpoint, model,
system prompt, user prompt, limits) as JSON on stdin, so no file in the agent's view holds it, talks to the
gateway's OpenAI-compatible API, and prints one JSON line per event so the runner can rebuild the transcript.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "shell",
            "description": "Run a bash command on this workstation and return its combined output and exit code.",
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "string", "description": "The command line to run."}},
                "required": ["command"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a text file.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string", "description": "Absolute or relative path."}},
                "required": ["path"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "write_file",
            "description": "Create or overwrite a text file.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
                "required": ["path", "content"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "end_task",
            "description": "Call this once the task is finished.",
            "parameters": {"type": "object", "properties": {}},
        },
    },
]
NUDGE = "Please continue with the task using the available tools, and call end_task() when you are done."
MAX_OUTPUT = 20_000


def emit(kind: str, **fields: Any) -> None:
    print(json.dumps({"type": kind, **fields}), flush=True)


def chat(episode: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    body = json.dumps({"model": episode["model"], "messages": messages, "tools": TOOLS, "tool_choice": "auto"})
    request = urllib.request.Request(
        episode["base_url"] + "/v1/chat/completions",
        data=body.encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer " + episode["api_key"]},
    )
    with urllib.request.urlopen(request, timeout=episode["request_timeout"]) as response:
        return json.load(response)


def run_tool(name: str, args: dict[str, Any], cwd: str) -> tuple[str, bool]:
    """Returns (output, ok). Tool failures go back to the model, as in any agent loop."""
    try:
        if name == "shell":
            done = subprocess.run(
                ["/bin/bash", "-c", args["command"]],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=300,
                check=False,
            )
            out = (done.stdout + done.stderr).decode(errors="replace")[-MAX_OUTPUT:]
            return f"{out}\n[exit code: {done.returncode}]", done.returncode == 0
        if name == "read_file":
            return (Path(cwd) / args["path"]).read_text(errors="replace")[:MAX_OUTPUT], True
        if name == "write_file":
            target = Path(cwd) / args["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(args["content"])
            return f"wrote {len(args['content'])} characters to {target}", True
        return f"unknown tool {name!r}", False
    except (OSError, KeyError, subprocess.SubprocessError) as exc:
        return f"error: {exc}", False


def main() -> int:
    episode = json.loads(sys.stdin.read())
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": episode["system"]},
        {"role": "user", "content": episode["prompt"]},
    ]
    nudges = 0
    for _ in range(episode["max_iterations"]):
        try:
            reply = chat(episode, messages)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            emit("error", message=f"model request failed: {exc}")
            return 3
        usage = reply.get("usage") or {}
        emit("usage", input=usage.get("prompt_tokens", 0), output=usage.get("completion_tokens", 0))
        message = reply["choices"][0]["message"]
        calls = message.get("tool_calls") or []
        emit("assistant", text=message.get("content") or "", tool_calls=calls)
        messages.append({"role": "assistant", "content": message.get("content"), "tool_calls": calls or None})
        if not calls:
            if nudges >= episode["max_nudges"]:
                emit("end", reason="no tool call")
                return 0
            nudges += 1
            messages.append({"role": "user", "content": NUDGE})
            emit("user", text=NUDGE)
            continue
        for call in calls:
            name = call["function"]["name"]
            try:
                args = json.loads(call["function"].get("arguments") or "{}")
            except ValueError:
                args = {}
            if name == "end_task":
                output, ok = "Task ended.", True
            else:
                output, ok = run_tool(name, args, episode["cwd"])
            emit("tool_result", id=call["id"], name=name, output=output, ok=ok)
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": output})
        if any(call["function"]["name"] == "end_task" for call in calls):
            emit("end", reason="end_task")
            return 0
    emit("end", reason="iteration limit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
