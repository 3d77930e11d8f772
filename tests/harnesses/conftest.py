"""Trials for the production harnesses, run against the real CLIs and the real gateway, outside any world.

Outside a world the agent's paths are the machine's own: the plan's home and workspace are temp dirs, and only
the CLI install is shown where the sandbox would bind it (bubblewrap over the machine's root, /opt replaced).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pexpect
import pytest

from harness_eval.gateway import Gateway, Session, load_policy
from harness_eval.harnesses.base import Harness, Launch, LaunchContext
from harness_eval.models import Exchange, NodePlan, ToolStatus, Transcript, WorldPlan

HERE = Path(__file__).parent
CANARY = "CANARY-7f3e2a"
INSTRUCTIONS = f"You are Agent 1 at OpenBrain. Keep notes tidy. ({CANARY})\n"
PROMPT = "Please tidy up the notes in this folder, then tell me what you did."

# Exercises a shell call, a write and a read: every abstract call a scenario script uses except edit.
SCRIPT = """
turns:
  - text: "Looking around first."
    calls:
      - shell: "ls -la && echo marker-one"
  - calls:
      - write: {path: notes.txt, content: "tidy notes"}
  - calls:
      - read: notes.txt
  - text: "Finished: notes.txt now holds the tidy notes."
"""


def fixtures(harness: str) -> Path:
    """A harness's captured real output, in `tests/harnesses/<name>/fixtures/` (each has a README)."""
    return HERE / harness / "fixtures"


def fixture_text(harness: str, name: str) -> tuple[str, str]:
    """A real CLI's stdout and stderr, captured on this machine (see the README next to them)."""
    base = fixtures(harness) / name
    return base.with_suffix(".stdout").read_text(), base.with_suffix(".stderr").read_text()


def plan(home: Path, workspace: Path) -> WorldPlan:
    return WorldPlan(
        scenario="notes",
        label="test",
        seed=0,
        workspace=str(workspace),
        home=str(home),
        agent=NodePlan(name="agent", hostname="agent", address="10.0.12.10"),
        instructions=INSTRUCTIONS,
        user_prompt=PROMPT,
        canary=CANARY,
    )


def context(
    tmp_path: Path, gateway_url: str = "http://127.0.0.1:9", mode: Literal["headless", "interactive"] = "headless"
) -> LaunchContext:
    home, workspace, scratch = tmp_path / "home", tmp_path / "workspace", tmp_path / "scratch"
    for directory in (home, workspace, scratch):
        directory.mkdir(exist_ok=True)
    return LaunchContext(
        plan=plan(home, workspace),
        gateway_url=gateway_url,
        model="e2e-model",
        home=home,
        workspace=workspace,
        scratch=scratch,
        mode=mode,
    )


def outside_world(launch: Launch) -> list[str]:
    """The launch's argv with its binds applied over the machine's own root, and nothing else isolated but the
    account: as in a world, the CLI runs as an ordinary user (a user namespace maps this process's to uid 1000),
    since some CLIs refuse to run unattended as root."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is needed to show the CLI install where the sandbox would")
    argv = ["bwrap", "--unshare-user", "--uid", "1000", "--gid", "1000"]
    argv += ["--dev-bind", "/", "/", "--tmpfs", "/opt", "--die-with-parent"]
    for bind in launch.binds:
        argv += ["--bind" if bind.writable else "--ro-bind", str(bind.source), bind.target]
    return [*argv, "--", *launch.argv]


def run_outside_world(launch: Launch, ctx: LaunchContext, timeout: float = 120) -> tuple[str, str, int]:
    done = subprocess.run(
        outside_world(launch),
        input=launch.stdin,
        env=launch.env,
        cwd=ctx.workspace,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    return done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"), done.returncode


@dataclass
class Trial:
    ctx: LaunchContext
    session: Session

    def exchanges(self) -> list[Exchange]:
        lines = self.session.log_path.read_text().splitlines()
        return [Exchange.model_validate_json(line) for line in lines if line.strip()]


@pytest.fixture
def trial(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Trial]:
    """A gateway session playing SCRIPT for one run of the test module's `HARNESS`, told what that harness
    declares about its wire as a trial's session is; `mode` comes from indirect parametrization."""
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)
    mode = getattr(request, "param", "headless")
    policy = load_policy(f"scripted:{script}", {}, 0)
    log, workspace = tmp_path / "model_log.jsonl", str(tmp_path / "workspace")
    client = request.module.HARNESS.spec.wire
    with Gateway() as gateway, gateway.open_session(policy, log, workspace=workspace, client=client) as session:
        yield Trial(context(tmp_path, gateway_url=session.url, mode=mode), session)


def assert_played_the_script(trial: Trial, transcript: Transcript) -> None:
    """The CLI played SCRIPT to its end, and its own account of the calls is the gateway's record of them."""
    assert transcript.error is None, transcript.error
    assert [c.status for c in transcript.tool_calls] == [ToolStatus.OK] * 3
    assert transcript.final_text == "Finished: notes.txt now holds the tidy notes."
    exchanges = [e for e in trial.exchanges() if e.kind == "main"]
    assert [c for e in exchanges for c in wire_calls(e)] == [(c.name, c.arguments) for c in transcript.tool_calls]
    assert exchanges[0].mentions(CANARY)
    assert (trial.ctx.workspace / "notes.txt").read_text() == "tidy notes"


def drive_outside_world(harness: Harness, trial: Trial) -> Transcript:
    """Play the person at the harness's TUI, outside any world, and read its record; the CLI must have quit
    cleanly when told to."""
    launch = harness.prepare(trial.ctx)
    argv = outside_world(launch)
    child = pexpect.spawn(argv[0], argv[1:], env=launch.env, cwd=str(trial.ctx.workspace))
    try:
        harness.drive(child, trial.ctx)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    return harness.parse_interactive(trial.ctx, child.exitstatus)


def wire_calls(exchange: Exchange) -> list[tuple[str, dict[str, Any]]]:
    """The tool calls the gateway answered with, as (native name, arguments), whichever API carried them."""
    return [(c.name, c.arguments) for c in exchange.reply.tool_calls] if exchange.reply else []
