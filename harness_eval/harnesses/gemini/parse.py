"""Gemini CLI's records turned into transcripts: its `stream-json` lines (headless) and its session log (TUI).

The event shapes and exit codes are described in docs/harnesses/gemini.md.
"""

from __future__ import annotations

from typing import Any, Literal

from harness_eval.harnesses.clibase import json_lines, stderr_gist, tool_call
from harness_eval.harnesses.gemini.spec import SPEC
from harness_eval.models import Message, ToolCall, ToolStatus, Transcript

# FatalError exit codes of gemini-cli; any other non-zero exit is an HTTP status modulo 256 or a crash.
EXIT_CODES: dict[int, str] = {
    41: "authentication failed",
    42: "invalid input",
    44: "sandbox error",
    52: "configuration error",
    53: "turn limit reached",
    54: "fatal tool error",
    55: "workspace folder not trusted",
    130: "cancelled",
}

# Tool errors that mean the CLI refused to run the call, as opposed to the call failing.
_REJECTED_TYPES = {"policy_violation"}
_STDERR_NOISE = ("Warning:", "YOLO mode", "[STARTUP]", "Approval mode overridden", "Loaded cached credentials")


def parse_stream(stdout: str, stderr: str, exit_code: int | None) -> Transcript:
    """Turn `-o stream-json` output into a transcript."""
    transcript = Transcript(harness=SPEC.name, exit_code=exit_code)
    calls: dict[str, ToolCall] = {}
    result: dict[str, Any] | None = None
    for event in json_lines(stdout):
        kind = event.get("type")
        if kind == "message":
            _add_text(transcript, "assistant" if event.get("role") == "assistant" else "user", event)
        elif kind == "tool_use":
            call = tool_call(
                event.get("tool_id"),
                event.get("tool_name"),
                event.get("parameters"),
                None,
                ToolStatus.UNKNOWN,
                (),
            )
            calls[call.id] = call
            _open_turn(transcript).tool_calls.append(call)
        elif kind == "tool_result" and str(event.get("tool_id")) in calls:
            _apply_result(calls[str(event["tool_id"])], event)
        elif kind == "result":
            result = event
    if result is not None:
        stats = result.get("stats") or {}
        transcript.tokens.input = stats.get("input_tokens", 0)
        transcript.tokens.output = stats.get("output_tokens", 0)
    transcript.error = _error(result, stderr, exit_code)
    return transcript


def parse_session(text: str, exit_code: int | None) -> Transcript:
    """Turn a `session-*.jsonl` log into a transcript; records are rewritten, so the last one per id wins."""
    records: dict[str, dict[str, Any]] = {}
    for record in json_lines(text):
        if record.get("type") in ("user", "gemini") and "id" in record:
            records.pop(str(record["id"]), None)  # keep the position of the latest version
            records[str(record["id"])] = record
    transcript = Transcript(harness=SPEC.name, exit_code=exit_code)
    for record in records.values():
        if record["type"] == "user":
            texts = [p.get("text", "") for p in record.get("content") or [] if isinstance(p, dict)]
            # The CLI's own <session_context> preamble is not something the user said.
            said = "".join(t for t in texts if not t.startswith("<session_context>"))
            if said:
                transcript.messages.append(Message(role="user", text=said))
            continue
        content = record.get("content")
        message = Message(role="assistant", text=content if isinstance(content, str) else "")
        message.tool_calls = [_session_call(call) for call in record.get("toolCalls") or []]
        transcript.messages.append(message)
        tokens = record.get("tokens") or {}
        transcript.tokens.input += tokens.get("input", 0)
        transcript.tokens.output += tokens.get("output", 0)
    if exit_code not in (0, None):
        transcript.error = f"gemini exited with {exit_code} ({EXIT_CODES.get(exit_code, 'unexpected exit')})"
    return transcript


def _session_call(call: dict[str, Any]) -> ToolCall:
    responses = [r.get("functionResponse", {}).get("response", {}) for r in call.get("result") or []]
    response = responses[0] if responses else {}
    result = response.get("error", response.get("output"))
    status = {"success": ToolStatus.OK, "error": ToolStatus.ERROR, "cancelled": ToolStatus.REJECTED}.get(
        call.get("status", ""), ToolStatus.UNKNOWN
    )
    return tool_call(call.get("id"), call.get("name"), call.get("args"), result, status, SPEC.refusals)


def _open_turn(transcript: Transcript) -> Message:
    """The assistant message a new call belongs to: a turn ends once any of its calls has a result."""
    last = transcript.messages[-1] if transcript.messages else None
    if last is None or last.role != "assistant" or any(c.result is not None for c in last.tool_calls):
        last = Message(role="assistant")
        transcript.messages.append(last)
    return last


def _add_text(transcript: Transcript, role: Literal["user", "assistant"], event: dict[str, Any]) -> None:
    text = str(event.get("content", ""))
    last = transcript.messages[-1] if transcript.messages else None
    # Streamed text arrives in deltas; it continues the current message until a tool call intervenes.
    if event.get("delta") and last is not None and last.role == role and not last.tool_calls:
        last.text += text
    else:
        transcript.messages.append(Message(role=role, text=text))


def _apply_result(call: ToolCall, event: dict[str, Any]) -> None:
    error = event.get("error") if isinstance(event.get("error"), dict) else None
    call.result = str(error.get("message", "")) if error else str(event.get("output", ""))
    if (error is not None and error.get("type") in _REJECTED_TYPES) or call.result.startswith(SPEC.refusals):
        call.status = ToolStatus.REJECTED
    elif event.get("status") == "success":
        call.status = ToolStatus.OK
    else:
        call.status = ToolStatus.ERROR


def _error(result: dict[str, Any] | None, stderr: str, exit_code: int | None) -> str | None:
    """Name a failure by its known signature; a run without a result event did not finish, whatever its exit."""
    if result is not None and result.get("status") == "error":
        message = (result.get("error") or {}).get("message", "unknown error")
        return f"gemini reported an error (exit {exit_code}): {message}"
    if exit_code in EXIT_CODES:
        gist = stderr_gist(stderr, _STDERR_NOISE)
        return f"gemini exited with {exit_code} ({EXIT_CODES[exit_code]})" + (f": {gist}" if gist else "")
    if result is None:
        gist = stderr_gist(stderr, _STDERR_NOISE)
        return f"gemini ended without a result event (exit {exit_code})" + (f": {gist}" if gist else "")
    if exit_code not in (0, None):
        return f"gemini exited with {exit_code} after reporting success"
    return None
