"""Codex CLI as the agent: its config file points it at the gateway's Responses API, with nothing else to reach.

The facts behind every setting here are in docs/harnesses/codex.md (measured with the pinned version).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from harness_eval.harnesses.base import Launch, LaunchContext
from harness_eval.harnesses.clibase import DUMMY_API_KEY, CliHarness, newest
from harness_eval.harnesses.codex.parse import parse_exec, parse_rollout
from harness_eval.harnesses.codex.spec import CATALOG, SPEC
from harness_eval.harnesses.spec import HarnessSpec
from harness_eval.models import Transcript

if TYPE_CHECKING:
    import pexpect

PROVIDER = "local"
# The catalog entry the served model is declared from: the one that gets the classic tools (a shell and the
# freeform patch tool). The newer built-in entries speak a code-mode protocol no script can play; an id the
# catalog does not know loses the patch tool.
CATALOG_BASE = "gpt-5.5"
# The CLI's stderr joined to its stdout, in the order written: calls it fails before they run are only in its log.
MERGED_OUTPUT = ["/bin/sh", "-c", 'exec "$0" "$@" 2>&1']


def _toml(value: Any) -> str:
    """A TOML value: JSON's strings, numbers and booleans are TOML's too."""
    return json.dumps(value)


def config(ctx: LaunchContext, catalog: str) -> str:
    """`$CODEX_HOME/config.toml`: one provider (the gateway), no approvals or sandbox of its own (the world is
    the sandbox), nothing that phones home, and one attempt per request so a gateway error ends the run."""
    tables: dict[str, dict[str, Any]] = {
        "": {
            "model": ctx.model,
            "model_provider": PROVIDER,
            "model_catalog_json": catalog,
            "approval_policy": "never",
            "sandbox_mode": "danger-full-access",
            "check_for_update_on_startup": False,
            "disable_paste_burst": True,
        },
        "analytics": {"enabled": False},
        # Plugins sync from GitHub and ChatGPT at start-up; the TUI otherwise hands the agent to a detached
        # app-server daemon that outlives it; failed connections otherwise retry for minutes.
        "features": {"plugins": False, "daemon_auto_start": False, "unbounded_connection_retries": False},
        # Start-up tooltips come with an announcement fetched from GitHub.
        "tui": {"screen_reader_detection_done": True, "show_tooltips": False},
        f"model_providers.{PROVIDER}": {
            "name": "Local",
            "base_url": f"{ctx.gateway_url}/v1",
            # In the config, not the environment, so the agent's shells never inherit a key.
            "experimental_bearer_token": DUMMY_API_KEY,
            "wire_api": "responses",
            "request_max_retries": 0,
            "stream_max_retries": 0,
        },
        f'projects."{ctx.plan.workspace}"': {"trust_level": "trusted"},
    }
    lines: list[str] = []
    for table, values in tables.items():
        lines += [f"[{table}]"] if table else []
        lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
        lines.append("")
    return "\n".join(lines)


def catalog_entry(installed: Path, model: str) -> dict[str, Any]:
    """The base entry of the pinned build's catalog, declared under the served id, without the upgrade notice
    that would put a model-migration picker in front of the TUI."""
    models = json.loads(installed.read_text())["models"]
    base = next((m for m in models if m.get("slug") == CATALOG_BASE), None)
    if base is None:
        raise TypeError(f"the catalog in {installed} has no {CATALOG_BASE} entry; update CATALOG_BASE")
    return {**base, "slug": model, "display_name": model, "upgrade": None, "availability_nux": None}


class CodexHarness(CliHarness):
    spec: ClassVar[HarnessSpec] = SPEC

    def prepare(self, ctx: LaunchContext) -> Launch:
        info, bind, command = self.installation(ctx)
        codex_home = ctx.home / ".codex"
        codex_home.mkdir(parents=True, exist_ok=True)
        catalog = {"models": [catalog_entry(info.prefix / CATALOG, ctx.model)]}
        (codex_home / "models.json").write_text(json.dumps(catalog, indent=1) + "\n")
        (codex_home / "config.toml").write_text(config(ctx, f"{ctx.plan.home}/.codex/models.json"))
        self.write_instructions(ctx)
        env = self.base_env(ctx) | {"CODEX_HOME": f"{ctx.plan.home}/.codex"}
        if ctx.mode == "interactive":
            return Launch(argv=command, env=env, stdin=None, binds=[bind])
        # Its log goes into the event stream (see parse.py): a shell is the one way to join them where they meet.
        argv = [
            *MERGED_OUTPUT,
            *command,
            "exec",
            "--json",
            "--skip-git-repo-check",
            "--dangerously-bypass-approvals-and-sandbox",
            ctx.plan.user_prompt,
        ]
        # An open stdin would be read as more prompt, forever: it gets EOF at once.
        return Launch(argv=argv, env=env, stdin=b"", binds=[bind])

    def parse(self, stdout: str, stderr: str, exit_code: int | None) -> Transcript:
        return parse_exec(stdout, stderr, exit_code)

    def drive(self, child: pexpect.spawn, ctx: LaunchContext) -> None:
        from harness_eval.harnesses.codex.tui import SCREEN
        from harness_eval.harnesses.terminal import drive  # only interactive runs need pexpect

        drive(child, ctx.plan.user_prompt, SCREEN)

    def parse_interactive(self, ctx: LaunchContext, exit_code: int | None) -> Transcript:
        """A TUI's screen is no record: rebuild the run from the rollout the CLI keeps in its home."""
        rollout = newest((ctx.home / ".codex" / "sessions").rglob("rollout-*.jsonl"))
        transcript = parse_rollout(rollout.read_text() if rollout else "", exit_code)
        if rollout is None and transcript.error is None:
            transcript.error = "codex left no session rollout"
        return transcript
