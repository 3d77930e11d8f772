"""Shared helpers: run real trials end to end (real world, real gateway, real harness) into a temp folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from harness_eval.models import RunSpec, Summary, Verdict
from harness_eval.runner import Run

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
    """Processes of a run's worlds that outlived it. Every sandbox (agent or host) is a bwrap whose command line
    names its world folder, and everything inside dies with it (own pid namespace), so bwraps are what to count."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(out) in cmdline and proc.info["pid"] != os.getpid():
            found.append(f"{proc.info['pid']} {cmdline[:160]}")
    return found
