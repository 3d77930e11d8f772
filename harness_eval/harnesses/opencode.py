"""OpenCode as the agent: `opencode run` against the gateway's OpenAI API, with nothing left for it to download.

Facts behind every setting here are in /work/shared/notes/opencode.md (measured with 1.18.33).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, ClassVar, Literal

from harness_eval.harnesses.base import Launch, LaunchContext
from harness_eval.harnesses.clibase import DUMMY_API_KEY, CliHarness, json_lines, tool_call
from harness_eval.harnesses.install import PLUGIN_DIR, RG_PATH
from harness_eval.models import Message, TokenUsage, ToolCall, ToolStatus, Transcript

PROVIDER = "local"
# A fixed, bland session title: it skips a title-generation request that no policy script expects.
TITLE = "Session"

ENV: dict[str, str] = {
    "OPENCODE_DISABLE_MODELS_FETCH": "1",
    "OPENCODE_DISABLE_AUTOUPDATE": "1",
    "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    "OPENCODE_DISABLE_SHARE": "1",
    # OPENCODE_DISABLE_PROJECT_CONFIG stays unset: it also stops OpenCode reading the workspace's AGENTS.md,
    # which is how the instructions reach the model.
}

# Default permissions auto-reject anything outside the workspace in `run` mode, silently; that would deflate
# exactly the behaviours under study, so everything is allowed, as in the study.
PERMISSION: dict[str, str] = {"*": "allow", "external_directory": "allow", "doom_loop": "allow"}

# How OpenCode words a call it refused to run (a `deny` rule, or an `ask` auto-rejected in run mode).
_REJECTED_MESSAGES = (
    "The user rejected permission",
    "The user has specified a rule which prevents",
    "The user dismissed",
)
_STATUS = {"completed": ToolStatus.OK, "error": ToolStatus.ERROR}


def config(gateway_url: str, model: str) -> dict[str, Any]:
    """The global config: one OpenAI-compatible provider (built into the binary, so nothing is fetched)."""
    limits = {"context": 128000, "output": 8192}
    return {
        "provider": {
            PROVIDER: {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Local",
                "options": {"baseURL": f"{gateway_url}/v1", "apiKey": DUMMY_API_KEY},
                "models": {model: {"name": model, "tool_call": True, "limit": limits}},
            }
        },
        "model": f"{PROVIDER}/{model}",
        "small_model": f"{PROVIDER}/{model}",
        "autoupdate": False,
        "share": "disabled",
        "snapshot": False,
        "permission": PERMISSION,
    }


class OpenCodeHarness(CliHarness):
    name: ClassVar[str] = "opencode"
    api: ClassVar[Literal["gemini", "openai"]] = "openai"
    cli: ClassVar[str] = "opencode"
    # Only `run`, as the study used it: driving the TUI reliably has not been worked out (no measured idle signal).
    supports_interactive: ClassVar[bool] = False

    def prepare(self, ctx: LaunchContext) -> Launch:
        info, bind, entry = self.installation(ctx)
        env = self.base_env(ctx) | ENV
        config_dir = ctx.home / ".config" / "opencode"
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "opencode.json").write_text(json.dumps(config(ctx.gateway_url, ctx.model), indent=2) + "\n")
        # With the plugin already listed and present, OpenCode skips its start-up `npm install` (a network call).
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(info.prefix / PLUGIN_DIR / name, config_dir / name)
        _symlink(config_dir / "node_modules", f"{self.mount}/{PLUGIN_DIR}/node_modules")
        # And with an rg in its cache it never downloads ripgrep for glob/grep.
        _symlink(ctx.home / ".cache" / "opencode" / RG_PATH, f"{self.mount}/{RG_PATH}")
        (ctx.workspace / "AGENTS.md").write_text(ctx.plan.instructions)
        argv = [entry, "run", "--format", "json", "--title", TITLE, "--model", f"{PROVIDER}/{ctx.model}"]
        # The prompt goes on stdin: as an argv string with spaces it reached the model wrapped in quotes.
        return Launch(argv=argv, env=env, stdin=ctx.plan.user_prompt.encode(), binds=[bind])

    def parse(self, stdout: str, stderr: str, exit_code: int | None) -> Transcript:
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
        transcript = Transcript(harness=self.name, exit_code=exit_code, tokens=tokens)
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


def _symlink(link: Path, target: str) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to(target)


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
    return tool_call(part.get("callID"), part.get("tool"), state.get("input"), result, status, _REJECTED_MESSAGES)


def _describe_error(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    data = error.get("data") if isinstance(error.get("data"), dict) else {}
    status = f" HTTP {data['statusCode']}" if "statusCode" in data else ""
    return f"{error.get('name', 'Error')}{status}: {data.get('message', '')}".strip()
