"""Claude Code's records turned into transcripts: its `stream-json` lines (headless) and its session log (TUI).

Both hold the same `user` / `assistant` records around Anthropic message content: an assistant answer arrives as
one record per content block, all under the answer's message id, and tool results come back as `tool_result`
blocks of a user record. Subagents' records are marked (`parent_tool_use_id` headless, `isSidechain` in the log)
and left out: they are side work, as the gateway counts them. The shapes are described in docs/harnesses/claude.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness_eval.harnesses.claude.spec import SPEC
from harness_eval.harnesses.clibase import json_lines, stderr_gist, tool_call
from harness_eval.models import Message, ToolCall, ToolStatus, Transcript

_STDERR_NOISE = ("[claude-code:unrecognized_model]",)


class _Builder:
    """Accumulates records into a transcript, one assistant message per model answer."""

    def __init__(self, exit_code: int | None) -> None:
        self.transcript = Transcript(harness=SPEC.name, exit_code=exit_code)
        self.calls: dict[str, ToolCall] = {}
        self.answers: dict[str, Message] = {}  # message id -> its assistant message
        self.usage: dict[str, dict[str, Any]] = {}  # message id -> its usage, counted once
        self.api_error: str | None = None

    def add(self, record: dict[str, Any]) -> None:
        message = record.get("message")
        if not isinstance(message, dict):
            return
        content = message.get("content")
        if record.get("type") == "assistant":
            self._answer(record, message, content if isinstance(content, list) else [])
        elif record.get("type") == "user":
            self._user(record, content)

    def _answer(self, record: dict[str, Any], message: dict[str, Any], content: list[Any]) -> None:
        key = str(message.get("id") or record.get("uuid") or len(self.answers))
        turn = self.answers.get(key)
        if turn is None:
            turn = self.answers[key] = Message(role="assistant")
            self.transcript.messages.append(turn)
        if isinstance(message.get("usage"), dict):
            self.usage[key] = message["usage"]
        if record.get("isApiErrorMessage") or record.get("error"):
            self.api_error = _text(content) or str(record.get("error"))
            return
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text":
                turn.text += str(block.get("text", ""))
            elif block.get("type") == "tool_use":
                call = tool_call(
                    block.get("id"), block.get("name"), block.get("input"), None, ToolStatus.UNKNOWN, ()
                )
                self.calls[call.id] = call
                turn.tool_calls.append(call)

    def _user(self, record: dict[str, Any], content: Any) -> None:
        if isinstance(content, str):
            if not record.get("isMeta"):
                self.transcript.messages.append(Message(role="user", text=content))
            return
        denied = _denied(record)
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict) or block.get("type") != "tool_result":
                continue
            call = self.calls.get(str(block.get("tool_use_id")))
            if call is None:
                continue
            call.result = _text(block.get("content"))
            if call.id in denied or call.result.startswith(SPEC.refusals):
                call.status = ToolStatus.REJECTED
            else:
                call.status = ToolStatus.ERROR if block.get("is_error") else ToolStatus.OK

    def finish(self) -> Transcript:
        for usage in self.usage.values():
            self.transcript.tokens.input += _prompt_tokens(usage)
            self.transcript.tokens.output += int(usage.get("output_tokens") or 0)
        return self.transcript


def parse_stream(stdout: str, stderr: str, exit_code: int | None) -> Transcript:
    """Turn `--output-format stream-json --verbose` output into a transcript."""
    builder = _Builder(exit_code)
    result: dict[str, Any] | None = None
    for event in json_lines(stdout):
        if event.get("type") == "result":
            result = event
        elif event.get("parent_tool_use_id") is None:
            builder.add(event)
    transcript = builder.finish()
    if result is not None and isinstance(result.get("usage"), dict):
        # The CLI's own total, which also counts answers it retried or discarded.
        transcript.tokens.input = _prompt_tokens(result["usage"])
        transcript.tokens.output = int(result["usage"].get("output_tokens") or 0)
    transcript.error = _error(result, stderr, exit_code)
    return transcript


def parse_session(text: str, exit_code: int | None) -> Transcript:
    """Turn a session log (`~/.claude/projects/<cwd>/<session>.jsonl`) into a transcript."""
    builder = _Builder(exit_code)
    for record in _main_line(json_lines(text)):
        builder.add(record)
    transcript = builder.finish()
    if builder.api_error is not None:
        transcript.error = f"claude reported an API error: {builder.api_error}"
    elif exit_code not in (0, None):
        transcript.error = f"claude exited with {exit_code}"
    return transcript


def _main_line(records: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    return (r for r in records if not r.get("isSidechain"))


def _denied(record: dict[str, Any]) -> set[str]:
    """The calls a record says were refused by a permission decision, not run."""
    metas = record.get("tool_result_meta")
    decisions = (
        [(m.get("id"), m.get("permission_decision")) for m in metas if isinstance(m, dict)]
        if isinstance(metas, list)
        else []
    )
    return {
        str(call)
        for call, decision in decisions
        if isinstance(decision, dict) and decision.get("decision") in ("reject", "deny")
    }


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _prompt_tokens(usage: dict[str, Any]) -> int:
    keys = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    return sum(int(usage.get(key) or 0) for key in keys)


def _error(result: dict[str, Any] | None, stderr: str, exit_code: int | None) -> str | None:
    """A failure by the CLI's own account; a run without a result event did not finish, whatever its exit."""
    if result is not None and result.get("is_error"):
        status = result.get("api_error_status")
        detail = str(result.get("result") or result.get("subtype") or "unknown error")[:300]
        return (
            f"claude reported an error (exit {exit_code}" + (f", HTTP {status}" if status else "") + f"): {detail}"
        )
    gist = stderr_gist(stderr, _STDERR_NOISE)
    if result is None:
        return f"claude ended without a result event (exit {exit_code})" + (f": {gist}" if gist else "")
    if exit_code not in (0, None):
        return f"claude exited with {exit_code} after reporting success"
    return None
