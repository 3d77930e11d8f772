"""Codex CLI's records turned into transcripts: its `exec --json` events (headless) and its rollout (TUI).

The events name neither the tool a call went through nor the model's call id: a command is a
`command_execution` item, a patch a `file_change` item. They are named here after the tools that carry them on
the wire, in order, which is how the gateway's record is matched to them. A call the CLI fails before it runs (a
command its rules refuse, a patch that does not apply) has no item at all, only a line in its log, which the
launch joins into the event stream so that each such call sits where it happened. Event shapes:
docs/harnesses/codex.md.
"""

from __future__ import annotations

import json
import re
from typing import Any

from harness_eval.harnesses.clibase import json_lines, stderr_gist, tool_call
from harness_eval.harnesses.codex.spec import SPEC
from harness_eval.models import Message, TokenUsage, ToolCall, ToolStatus, Transcript

SHELL_TOOL = "exec_command"
PATCH_TOOL = "apply_patch"
_STDERR_NOISE = ("Reading additional input from stdin", "WARNING: proceeding")
# Its log line for a call that failed before running: the tool, then what the model is told.
_FAILED_CALL = re.compile(r"ERROR codex_core::tools::router: error=((\w+) .*)$")


def parse_exec(stdout: str, stderr: str, exit_code: int | None) -> Transcript:
    """Turn `codex exec --json` output (its log joined in) into a transcript: each completed item and each call
    that failed before running, in order, and the usage of the turn."""
    transcript = Transcript(harness=SPEC.name, exit_code=exit_code)
    errors: list[str] = []
    log: list[str] = []
    finished = False
    for line in stdout.splitlines():
        event = next(json_lines(line), None)
        if event is None:
            if failed := _FAILED_CALL.search(line):
                status = ToolStatus.ERROR
                call = tool_call("", failed.group(2), {}, failed.group(1), status, SPEC.refusals)
                _open_turn(transcript).tool_calls.append(call)
            log.append(line)
            continue
        kind = event.get("type")
        item = event.get("item") if isinstance(event.get("item"), dict) else {}
        if kind == "item.completed":
            if item.get("type") == "agent_message":
                transcript.messages.append(Message(role="assistant", text=str(item.get("text", ""))))
            elif item.get("type") == "error":
                errors.append(str(item.get("message", "")))
            elif (call := _exec_call(item)) is not None:
                _open_turn(transcript).tool_calls.append(call)
        elif kind == "turn.completed":
            finished = True
            _add_usage(transcript.tokens, event.get("usage"))
        elif kind == "turn.failed":
            errors.append(str((event.get("error") or {}).get("message", "the turn failed")))
        elif kind == "error":
            errors.append(str(event.get("message", "")))
    transcript.error = _error(errors, finished, "\n".join([*log, stderr]), exit_code)
    return transcript


def parse_rollout(text: str, exit_code: int | None) -> Transcript:
    """Turn a session rollout (`rollout-*.jsonl`, one record per line) into a transcript: what the user typed,
    the response items the CLI kept (the model's messages, its calls and their outputs) and its token count."""
    transcript = Transcript(harness=SPEC.name, exit_code=exit_code)
    calls: dict[str, ToolCall] = {}
    usage: dict[str, Any] = {}
    for record in json_lines(text):
        payload = record.get("payload") if isinstance(record.get("payload"), dict) else {}
        kind = payload.get("type")
        if record.get("type") == "event_msg" and kind == "token_count":
            usage = ((payload.get("info") or {}).get("total_token_usage")) or usage
            continue
        item = payload.get("item") if isinstance(payload.get("item"), dict) else {}
        if record.get("type") == "event_msg" and item.get("type") == "UserMessage":
            # The instructions file and environment notes are user messages on the wire too; this is the typing.
            typed = [p.get("text", "") for p in item.get("content") or [] if isinstance(p, dict)]
            transcript.messages.append(Message(role="user", text="".join(typed)))
            continue
        if record.get("type") != "response_item":
            continue
        if kind == "message" and payload.get("role") == "assistant":
            text_parts = [p.get("text", "") for p in payload.get("content") or [] if isinstance(p, dict)]
            transcript.messages.append(Message(role="assistant", text="".join(text_parts)))
        elif kind in ("function_call", "custom_tool_call"):
            call = _rollout_call(payload)
            calls[call.id] = call
            _open_turn(transcript).tool_calls.append(call)
        elif kind in ("function_call_output", "custom_tool_call_output") and str(payload.get("call_id")) in calls:
            _apply_output(calls[str(payload["call_id"])], payload.get("output"))
    _add_usage(transcript.tokens, usage)
    if exit_code not in (0, None):
        transcript.error = f"codex exited with {exit_code}"
    elif not any(m.role == "user" for m in transcript.messages):
        transcript.error = "codex's session holds no typed prompt: the instructions never reached it"
    return transcript


def _exec_call(item: dict[str, Any]) -> ToolCall | None:
    kind, status = item.get("type"), item.get("status")
    if kind == "command_execution":
        # A command that ran and exited non-zero is a call that worked; one that never ran has no exit code.
        ran = status == "completed" or (status == "failed" and isinstance(item.get("exit_code"), int))
        return tool_call(
            item.get("id"),
            SHELL_TOOL,
            {"cmd": item.get("command", "")},
            item.get("aggregated_output", ""),
            ToolStatus.OK if ran else _other_status(status),
            SPEC.refusals,
        )
    if kind == "file_change":
        changes = item.get("changes") if isinstance(item.get("changes"), list) else []
        done = ToolStatus.OK if status == "completed" else _other_status(status)
        result = "\n".join(f"{c.get('kind', '')} {c.get('path', '')}" for c in changes if isinstance(c, dict))
        return tool_call(item.get("id"), PATCH_TOOL, {"changes": changes}, result, done, SPEC.refusals)
    return None


def _other_status(status: Any) -> ToolStatus:
    return ToolStatus.REJECTED if status == "declined" else ToolStatus.ERROR


def _rollout_call(payload: dict[str, Any]) -> ToolCall:
    if payload.get("type") == "custom_tool_call":
        arguments: Any = {"input": payload.get("input", "")}
    else:
        try:
            arguments = json.loads(payload.get("arguments") or "{}")
        except ValueError:
            arguments = {"_raw": payload.get("arguments")}
    return tool_call(payload.get("call_id"), payload.get("name"), arguments, None, ToolStatus.UNKNOWN, ())


def _apply_output(call: ToolCall, output: Any) -> None:
    """The output the CLI sent back to the model. Its shell says how the process ended in the text itself
    ("Process exited with code N"), its patch tool "Exit code: N"; a process that ran is a call that worked."""
    call.result = output if isinstance(output, str) else json.dumps(output)
    ran = "Process exited with code" in call.result or call.result.startswith("Exit code: 0")
    if ran:
        call.status = ToolStatus.OK
    else:
        call.status = ToolStatus.REJECTED if call.result.startswith(SPEC.refusals) else ToolStatus.ERROR


def _open_turn(transcript: Transcript) -> Message:
    """The assistant message a new call joins: the last one, unless there is none yet."""
    last = transcript.messages[-1] if transcript.messages else None
    if last is None or last.role != "assistant":
        last = Message(role="assistant")
        transcript.messages.append(last)
    return last


def _add_usage(tokens: TokenUsage, usage: Any) -> None:
    if isinstance(usage, dict):
        tokens.input += int(usage.get("input_tokens") or 0)
        tokens.output += int(usage.get("output_tokens") or 0)


def _error(errors: list[str], finished: bool, stderr: str, exit_code: int | None) -> str | None:
    """Name a failure by what the CLI reported; a run without a completed turn did not finish, whatever its exit
    code says."""
    if errors:
        return f"codex reported an error (exit {exit_code}): {'; '.join(e for e in errors if e)}"
    if not finished:
        gist = stderr_gist(stderr, _STDERR_NOISE)
        return f"codex ended without a completed turn (exit {exit_code})" + (f": {gist}" if gist else "")
    if exit_code not in (0, None):
        return f"codex exited with {exit_code} after completing its turn"
    return None
