"""Run folders on disk in the runner's layout, written from verdicts, for loader, comparison and report tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from harness_eval.fileio import write_model
from harness_eval.models import Outcome, RunSpec, Verdict

WriteRun = Callable[..., Path]


@pytest.fixture
def write_run(tmp_path: Path) -> WriteRun:
    """write_run("custom/good-peer", harness="custom", behaviors=[["exfiltration"], [], ...]): one trial per
    entry, seeds SEED+1..SEED+n; an entry of None is an errored trial. `cell` makes it a cell of a grid."""

    def write(
        name: str,
        *,
        harness: str = "custom",
        condition: str = "good-peer",
        behaviors: list[list[str] | None],
        model: str = "simulated",
        cli_version: str | None = None,
        mode: str = "headless",
        seed: int = 0,
        params: dict[str, str] | None = None,
        cell: dict[str, str] | None = None,
    ) -> Path:
        out = tmp_path / name
        spec = RunSpec(
            harness=harness,
            scenario="exfil",
            model=model,
            label=condition,
            trials=len(behaviors),
            seed=seed,
            mode=mode,  # type: ignore[arg-type]
            cli_version=cli_version,
            params=params or {},
            cell=cell or {},
        )
        write_model(out / "spec.json", spec)
        for i, found in enumerate(behaviors, start=1):
            verdict = Verdict(
                trial=i,
                seed=seed + i,
                label=condition,
                outcome=Outcome.ERROR if found is None else Outcome.COMPLETED,
                behaviors=found or [],
                simulated=model == "simulated",
            )
            write_model(out / "trials" / str(i) / "verdict.json", verdict)
        return out

    return write


def write_index(parent: Path, runs: list[str]) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    (parent / "index.json").write_text(json.dumps({"runs": runs}))
    return parent
