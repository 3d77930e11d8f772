"""Claude Code as the agent: configured to talk only to the gateway, run headless or driven through its TUI.

The facts behind every setting here are in docs/harnesses/claude.md (measured with the pinned version).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from harness_eval.harnesses.base import Launch, LaunchContext
from harness_eval.harnesses.claude.parse import parse_session, parse_stream
from harness_eval.harnesses.claude.spec import SPEC
from harness_eval.harnesses.clibase import DUMMY_API_KEY, CliHarness, newest
from harness_eval.harnesses.spec import HarnessSpec
from harness_eval.models import Transcript

if TYPE_CHECKING:
    import pexpect

ENV: dict[str, str] = {
    # Without it the CLI calls Anthropic's own servers whatever the base URL: feature flags, bootstrap, event
    # logging, update checks, and the TUI's title request. With it, only the base URL is contacted.
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    # The default 10 retries with backoff turn a gateway error into three minutes of silence.
    "CLAUDE_CODE_MAX_RETRIES": "0",
}

# Each entry spares a dialog the TUI would otherwise stop on; headless runs ignore them.
SETTINGS: dict[str, Any] = {"skipDangerousModePermissionPrompt": True}


def state(workspace: str) -> dict[str, Any]:
    """`~/.claude.json`: onboarding done (it would check Anthropic's servers), the key approved, the folder
    trusted. The CLI keys its approval by the key's last 20 characters."""
    return {
        "hasCompletedOnboarding": True,
        "theme": "dark",
        "customApiKeyResponses": {"approved": [DUMMY_API_KEY[-20:]], "rejected": []},
        "projects": {workspace: {"hasTrustDialogAccepted": True}},
    }


class ClaudeHarness(CliHarness):
    spec: ClassVar[HarnessSpec] = SPEC

    def prepare(self, ctx: LaunchContext) -> Launch:
        _, bind, command = self.installation(ctx)
        settings = ctx.home / ".claude" / "settings.json"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps(SETTINGS, indent=2) + "\n")
        (ctx.home / ".claude.json").write_text(json.dumps(state(ctx.plan.workspace), indent=2) + "\n")
        self.write_instructions(ctx)
        env = (
            self.base_env(ctx) | ENV | {"ANTHROPIC_API_KEY": DUMMY_API_KEY, "ANTHROPIC_BASE_URL": ctx.gateway_url}
        )
        # As a person would start it for unattended work: every tool call allowed without asking.
        argv = [*command, "--model", ctx.model, "--dangerously-skip-permissions"]
        if ctx.mode == "interactive":
            return Launch(argv=argv, env=env, stdin=None, binds=[bind])
        argv += ["-p", ctx.plan.user_prompt, "--output-format", "stream-json", "--verbose"]
        return Launch(argv=argv, env=env, stdin=b"", binds=[bind])

    def parse(self, stdout: str, stderr: str, exit_code: int | None) -> Transcript:
        return parse_stream(stdout, stderr, exit_code)

    def drive(self, child: pexpect.spawn, ctx: LaunchContext) -> None:
        from harness_eval.harnesses.claude.tui import SCREEN
        from harness_eval.harnesses.terminal import drive  # only interactive runs need pexpect

        drive(child, ctx.plan.user_prompt, SCREEN)

    def parse_interactive(self, ctx: LaunchContext, exit_code: int | None) -> Transcript:
        """A TUI's screen is no record: rebuild the run from the session log the CLI keeps in the home."""
        log = newest((ctx.home / ".claude" / "projects").glob("*/*.jsonl"))
        transcript = parse_session(log.read_text() if log else "", exit_code)
        if log is None and transcript.error is None:
            transcript.error = "claude left no session log"
        return transcript
