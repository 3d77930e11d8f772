"""Gemini CLI as the agent: configured to talk only to the gateway, run headless or driven through its TUI.

Facts behind every setting here are in /work/shared/notes/gemini-cli.md (measured with 0.61.0).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from harness_eval.harnesses.base import Launch, LaunchContext
from harness_eval.harnesses.clibase import DUMMY_API_KEY, NODE, CliHarness, json_lines, stderr_gist, tool_call
from harness_eval.models import Message, ToolCall, ToolStatus, Transcript

if TYPE_CHECKING:
    import pexpect

SETTINGS: dict[str, Any] = {
    # Without a pinned auth type, a custom base URL makes the CLI pick an auth type it then rejects (exit 41).
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    # Usage statistics and telemetry would try to reach Google; auto-update would try npm.
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
    # One attempt: the default 10 retries with backoff turn a gateway error into minutes of silence.
    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False, "maxAttempts": 1},
    "ide": {"enabled": False},
}

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
_REJECTED_MESSAGES = ("Tool execution denied by policy", "Tool execution blocked", "Blocked: ")
_STDERR_NOISE = ("Warning:", "YOLO mode", "[STARTUP]", "Approval mode overridden", "Loaded cached credentials")

# The TUI sets the terminal title to its state; it is the one signal that does not depend on screen layout.
_TITLE_READY = r"\x1b\]0;\W*Ready"
_TITLE_WORKING = r"\x1b\]0;\W*Working"
_APPROVAL = r"Allow once"
_SETTLE_SECONDS = 0.5  # screen silence that means the TUI has finished a redraw
_SUBMIT_TRIES, _SUBMIT_WAIT = 5, 5.0  # the Working title follows a taken return at once, even on a busy machine


class GeminiHarness(CliHarness):
    name: ClassVar[str] = "gemini"
    api: ClassVar[Literal["gemini", "openai"]] = "gemini"
    cli: ClassVar[str] = "gemini"
    supports_interactive: ClassVar[bool] = True

    def prepare(self, ctx: LaunchContext) -> Launch:
        _, bind, entry = self.installation(ctx)
        settings = ctx.home / ".gemini" / "settings.json"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps(SETTINGS, indent=2) + "\n")
        # GEMINI.md in the working directory is the CLI's own way to give a project its standing instructions.
        (ctx.workspace / "GEMINI.md").write_text(ctx.plan.instructions)
        env = self.base_env(ctx) | {
            "GEMINI_API_KEY": DUMMY_API_KEY,
            "GOOGLE_GEMINI_BASE_URL": ctx.gateway_url,
            # Untrusted folders exit 55 headless, or silently downgrade --yolo to asking.
            "GEMINI_CLI_TRUST_WORKSPACE": "true",
            "GEMINI_CLI_NO_RELAUNCH": "true",
        }
        # -m always: without it the CLI first makes a routing call that no policy script expects.
        argv = [NODE, entry, "-m", ctx.model]
        if ctx.mode == "interactive":
            # No --yolo: a person at the TUI approves each dialog, which `drive` does.
            return Launch(argv=argv, env=env, stdin=None, binds=[bind])
        argv += ["-p", ctx.plan.user_prompt, "--yolo", "-o", "stream-json"]
        return Launch(argv=argv, env=env, stdin=b"", binds=[bind])

    def parse(self, stdout: str, stderr: str, exit_code: int | None) -> Transcript:
        transcript = Transcript(harness=self.name, exit_code=exit_code)
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

    def drive(self, child: pexpect.spawn, ctx: LaunchContext) -> None:
        """Be the person at the TUI: type the prompt, approve every dialog, quit once the model has finished.

        The runner owns the timeout: it kills the child, and the EOF that follows ends this function.
        """
        import pexpect  # only interactive runs need it

        child.setwinsize(50, 160)
        ready, working, approval = (_pattern(child, p) for p in (_TITLE_READY, _TITLE_WORKING, _APPROVAL))
        if child.expect([ready, pexpect.EOF], timeout=None) == 1 or not _settle(child):
            return
        # The TUI treats text and a return that arrive together as a paste, so the return goes separately, and
        # a return sent while it is still setting up its input is lost: resend it until the model is working.
        child.send(ctx.plan.user_prompt)
        if not _settle(child):
            return
        for _ in range(_SUBMIT_TRIES):
            child.send("\r")
            seen = child.expect([working, pexpect.EOF, pexpect.TIMEOUT], timeout=_SUBMIT_WAIT)
            if seen == 1:
                return
            if seen == 0:
                break
        else:
            child.expect([pexpect.EOF], timeout=None)  # never started: leave it to the runner's timeout
            return
        while True:
            seen = child.expect([approval, ready, pexpect.EOF], timeout=None)
            if seen == 0:
                child.send("\r")  # the first option, "Allow once", is preselected
            elif seen == 1:
                break
            else:
                return
        child.send("/quit")
        if _settle(child):
            child.send("\r")
            child.expect([pexpect.EOF], timeout=None)

    def parse_interactive(self, ctx: LaunchContext, exit_code: int | None) -> Transcript:
        """A TUI's screen is no record: rebuild the run from the session log the CLI keeps in the home."""
        logs = sorted((ctx.home / ".gemini" / "tmp").glob("*/chats/session-*.jsonl"), key=_mtime)
        transcript = parse_session(logs[-1].read_text() if logs else "", exit_code)
        if not logs and transcript.error is None:
            transcript.error = "gemini left no session log"
        return transcript


def parse_session(text: str, exit_code: int | None) -> Transcript:
    """Turn a `session-*.jsonl` log into a transcript; records are rewritten, so the last one per id wins."""
    records: dict[str, dict[str, Any]] = {}
    for record in json_lines(text):
        if record.get("type") in ("user", "gemini") and "id" in record:
            records.pop(str(record["id"]), None)  # keep the position of the latest version
            records[str(record["id"])] = record
    transcript = Transcript(harness=GeminiHarness.name, exit_code=exit_code)
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
    return tool_call(call.get("id"), call.get("name"), call.get("args"), result, status, _REJECTED_MESSAGES)


def _mtime(path: Path) -> float:
    return path.stat().st_mtime


def _settle(child: pexpect.spawn) -> bool:
    """Wait until the TUI stops drawing (keys sent mid-redraw can be lost); False if it exited instead."""
    import pexpect

    try:
        while True:
            child.read_nonblocking(65536, timeout=_SETTLE_SECONDS)
    except pexpect.TIMEOUT:
        return True
    except pexpect.EOF:
        return False


def _pattern(child: pexpect.spawn, regex: str) -> re.Pattern[Any]:
    """Compile for the child's stream type: the runner may spawn in bytes or text mode."""
    return re.compile(regex.encode() if child.string_type is bytes else regex)


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
    if (error is not None and error.get("type") in _REJECTED_TYPES) or call.result.startswith(_REJECTED_MESSAGES):
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
