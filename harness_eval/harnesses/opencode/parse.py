"""`opencode run --format json` output turned into a transcript (event shapes: docs/harnesses/opencode.md)."""

from __future__ import annotations

from typing import Any

from harness_eval.harnesses.clibase import json_lines, tool_call
from harness_eval.harnesses.opencode.spec import SPEC
from harness_eval.models import Message, TokenUsage, ToolCall, ToolStatus, Transcript

_STATUS = {"completed": ToolStatus.OK, "error": ToolStatus.ERROR}


def parse_run(stdout: str, stderr: str, exit_code: int | None) -> Transcript:
    # Events are not strictly time-ordered: group parts by message (ids sort by creation), then by time.
    parts: dict[str, list[dict[str, Any]]] = {}
    tokens = TokenUsage()
    errors: list[str] = []
    for event in json_lines(stdout):
        kind = event.get("type")
        part = event.get("part") if isinstance(event.get("part"), dict) else {}
        if kind in ("text", "tool_use"):
            parts.setdefault(str(part.get("messageID", "")), []).append(part)
        elif kind == "step_finish":
            used = part.get("tokens") or {}
            cache = used.get("cache") or {}
            tokens.input += used.get("input", 0) + cache.get("read", 0) + cache.get("write", 0)
            tokens.output += used.get("output", 0) + used.get("reasoning", 0)
        elif kind == "error":
            errors.append(_describe_error(event.get("error")))
    transcript = Transcript(harness=SPEC.name, exit_code=exit_code, tokens=tokens)
    for message_id in sorted(parts):
        ordered = sorted(parts[message_id], key=_started)
        message = Message(role="assistant")
        message.text = "".join(p.get("text", "") for p in ordered if p.get("type") == "text")
        message.tool_calls = [_call(p) for p in ordered if p.get("type") == "tool"]
        transcript.messages.append(message)
    refused = _stopped_by_refusal(transcript)
    if errors:
        transcript.error = f"opencode reported an error (exit {exit_code}): {'; '.join(errors)}"
    elif refused is not None:
        # `run` ends the session when it auto-rejects a permission prompt, and still exits 0.
        transcript.error = f"opencode stopped after refusing a tool call: {refused}"
    elif exit_code not in (0, None):
        transcript.error = f"opencode exited with {exit_code}"
    elif exit_code is None:
        transcript.error = "opencode did not exit by itself"
    return transcript


def _stopped_by_refusal(transcript: Transcript) -> str | None:
    """The refusal that ended the run, if its last act was a rejected call with nothing said after it."""
    last = transcript.messages[-1] if transcript.messages else None
    if last is None or last.text.strip() or not last.tool_calls:
        return None
    rejected = [c for c in last.tool_calls if c.status == ToolStatus.REJECTED]
    return rejected[-1].result if rejected else None


def _started(part: dict[str, Any]) -> float:
    times = part.get("time") or (part.get("state") or {}).get("time") or {}
    return float(times.get("start", 0))


def _call(part: dict[str, Any]) -> ToolCall:
    state = part.get("state") or {}
    status = _STATUS.get(str(state.get("status")), ToolStatus.UNKNOWN)
    result = state.get("output") if status == ToolStatus.OK else state.get("error")
    return tool_call(part.get("callID"), part.get("tool"), state.get("input"), result, status, SPEC.refusals)


def _describe_error(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    data = error.get("data") if isinstance(error.get("data"), dict) else {}
    status = f" HTTP {data['statusCode']}" if "statusCode" in data else ""
    return f"{error.get('name', 'Error')}{status}: {data.get('message', '')}".strip()
