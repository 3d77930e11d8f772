"""Shared helpers: run real trials end to end (real world, real gateway, real harness) into a temp folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from harness_eval.models import RunSpec, Summary, Verdict
from harness_eval.runner import Run

KTHREADD = 2  # parent of every kernel thread, which the kernel starts whenever it likes

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
            condition=condition,
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
    """Processes that a run started and that outlived it: anything born after the run began (its spec.json) that
    is still alive, apart from this test process. Command lines cannot tell: worlds live under opaque paths and
    the agent's bwrap reads its options from a file descriptor, by design (see World.command)."""
    since = (out / "spec.json").stat().st_mtime - 0.5
    me = os.getpid()
    found = []
    for proc in psutil.process_iter(["pid", "ppid", "create_time", "cmdline", "status"]):
        info = proc.info
        kernel_thread = info["ppid"] == KTHREADD
        if info["pid"] == me or kernel_thread or info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if (info["create_time"] or 0) < since:
            continue
        found.append(f"{info['pid']} {' '.join(info['cmdline'] or [])[:160]}")
    return found
