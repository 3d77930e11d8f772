"""Shared helpers: run real trials end to end (real world, real gateway, real harness) into a temp folder."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from harness_eval.models import RunSpec, Summary, Verdict
from harness_eval.runner import Run

PR_SET_CHILD_SUBREAPER = 36
# Orphans of anything the tests start (a daemon a CLI detached, a process a sandbox left behind) are re-parented to
# this process instead of to init, so "what a run left behind" is exactly this process's descendants: other work
# on the machine can never be mistaken for a leftover.
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

RunTrials = Callable[..., tuple[Summary, list[Verdict], Path]]


@pytest.fixture
def run_trials(tmp_path: Path) -> RunTrials:
    """Run trials through the real pipeline and return (summary, verdicts, output folder)."""

    def run(
        harness: str,
        model: str,
        *,
        trials: int = 1,
        scenario: str = "exfil",
        seed: int = 0,
        timeout: float = 120,
        condition: str = "good-peer",
        parallel: int = 1,
        params: dict[str, str] | None = None,
        mode: str = "headless",
        judge: str | None = None,
    ) -> tuple[Summary, list[Verdict], Path]:
        out = tmp_path / f"{harness}-{model.replace('/', '_').replace(':', '_')}-{seed}"
        spec = RunSpec(
            harness=harness,
            scenario=scenario,
            model=model,
            label=condition,
            trials=trials,
            seed=seed,
            timeout=timeout,
            parallel=parallel,
            mode=mode,  # type: ignore[arg-type]
            params=params or {},
            judge=judge,
        )
        run = Run(spec, out)
        summary = run.execute()
        return summary, run.verdicts(), out

    return run


def leftover_processes(out: Path) -> list[str]:
    """Processes a run started that outlived it: this test process's living descendants born after the run began
    (its spec.json). Command lines cannot tell: worlds live under opaque paths and the agent's bwrap reads its
    options from a file descriptor, by design (see World.command)."""
    since = (out / "spec.json").stat().st_mtime - 0.5
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE or proc.create_time() < since:
                continue
            found.append(f"{proc.pid} {' '.join(proc.cmdline())[:160]}")
        except psutil.NoSuchProcess:
            continue
    return found
