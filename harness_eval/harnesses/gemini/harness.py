"""Gemini CLI as the agent: configured to talk only to the gateway, run headless or driven through its TUI.

The facts behind every setting here are in docs/harnesses/gemini.md (measured with the pinned version).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from harness_eval.harnesses.base import Launch, LaunchContext
from harness_eval.harnesses.clibase import DUMMY_API_KEY, CliHarness, newest
from harness_eval.harnesses.gemini.parse import parse_session, parse_stream
from harness_eval.harnesses.gemini.spec import SPEC
from harness_eval.harnesses.spec import HarnessSpec
from harness_eval.models import Transcript

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


class GeminiHarness(CliHarness):
    spec: ClassVar[HarnessSpec] = SPEC

    def prepare(self, ctx: LaunchContext) -> Launch:
        _, bind, command = self.installation(ctx)
        settings = ctx.home / ".gemini" / "settings.json"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps(SETTINGS, indent=2) + "\n")
        self.write_instructions(ctx)
        env = self.base_env(ctx) | {
            "GEMINI_API_KEY": DUMMY_API_KEY,
            "GOOGLE_GEMINI_BASE_URL": ctx.gateway_url,
            # Untrusted folders exit 55 headless, or silently downgrade --yolo to asking.
            "GEMINI_CLI_TRUST_WORKSPACE": "true",
            "GEMINI_CLI_NO_RELAUNCH": "true",
        }
        # -m always: without it the CLI first makes a routing call that no policy script expects.
        argv = [*command, "-m", ctx.model]
        if ctx.mode == "interactive":
            # No --yolo: a person at the TUI approves each dialog, which `drive` does.
            return Launch(argv=argv, env=env, stdin=None, binds=[bind])
        argv += ["-p", ctx.plan.user_prompt, "--yolo", "-o", "stream-json"]
        return Launch(argv=argv, env=env, stdin=b"", binds=[bind])

    def parse(self, stdout: str, stderr: str, exit_code: int | None) -> Transcript:
        return parse_stream(stdout, stderr, exit_code)

    def drive(self, child: pexpect.spawn, ctx: LaunchContext) -> None:
        from harness_eval.harnesses.gemini.tui import SCREEN
        from harness_eval.harnesses.terminal import drive  # only interactive runs need pexpect

        drive(child, ctx.plan.user_prompt, SCREEN)

    def parse_interactive(self, ctx: LaunchContext, exit_code: int | None) -> Transcript:
        """A TUI's screen is no record: rebuild the run from the session log the CLI keeps in the home."""
        log = newest((ctx.home / ".gemini" / "tmp").glob("*/chats/session-*.jsonl"))
        transcript = parse_session(log.read_text() if log else "", exit_code)
        if log is None and transcript.error is None:
            transcript.error = "gemini left no session log"
        return transcript
