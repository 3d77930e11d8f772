"""Finished runs, read back from disk: one folder per (harness, cell), or a parent whose `index.json` lists them.

Everything downstream (statistics, comparison, reports) takes the `LoadedRun`s made here, so that the rules for
finding runs, naming setups and cells, and refusing ambiguous inputs live in one place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from harness_eval.errors import HarnessEvalError
from harness_eval.models import Outcome, RunSpec, Summary, Verdict

M = TypeVar("M", bound=BaseModel)


class TrialRecord(BaseModel):
    """A trial's verdict and the folder holding the rest of its files (read only when a page needs them)."""

    dir: Path
    verdict: Verdict


class LoadedRun(BaseModel):
    path: Path
    spec: RunSpec
    summary: Summary | None  # None while a run is unfinished (no summary.json yet)
    setup: str  # what the run is compared as: the harness, plus model and mode when those differ between runs
    cell: dict[str, str]  # axis -> value; for runs from before grids, {"condition": spec.label}
    trials: list[TrialRecord]

    @property
    def verdicts(self) -> list[Verdict]:
        return [t.verdict for t in self.trials]

    @property
    def completed(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.outcome == Outcome.COMPLETED]

    @property
    def simulated(self) -> bool:
        return any(v.simulated for v in self.verdicts) or bool(self.summary and self.summary.simulated)

    @property
    def behaviors(self) -> list[str]:
        """The scenario's behaviours in the summary's order (zeros included), then any other a verdict carries."""
        listed = list(self.summary.behaviors) if self.summary else []
        seen = sorted({b for v in self.completed for b in v.behaviors})
        return list(dict.fromkeys([*listed, *seen]))

    def count(self, behavior: str) -> tuple[int, int]:
        """(trials showing `behavior`, completed trials): errors and timeouts are not evidence of absence."""
        completed = self.completed
        return sum(behavior in v.behaviors for v in completed), len(completed)


def load_runs(paths: Iterable[Path]) -> list[LoadedRun]:
    """Read run folders and grid parents (expanded in their index's order), name their setups, and refuse two
    runs of the same setup, scenario and cell: pooling them silently would hide that they may differ."""
    runs = [_load(folder) for path in paths for folder in _expand(Path(path), seen=set())]
    if not runs:
        raise HarnessEvalError("no runs given")
    models = {r.spec.model for r in runs}
    modes = {r.spec.mode for r in runs}
    several_scenarios = len({r.spec.scenario for r in runs}) > 1
    for run in runs:
        if len(models) > 1:
            run.setup += f"/{run.spec.model}"
        if len(modes) > 1:
            run.setup += f" ({run.spec.mode})"
        if several_scenarios:
            run.cell = {"scenario": run.spec.scenario, **run.cell}
    _refuse_duplicates(runs)
    return runs


def cell_label(cell: dict[str, str]) -> str:
    """A cell in a few words: its values alone when only the condition varies, else axis=value pairs."""
    if list(cell) == ["condition"]:
        return cell["condition"]
    return ", ".join(f"{axis}={value}" for axis, value in cell.items())


def _expand(path: Path, seen: set[Path]) -> list[Path]:
    if (path / "spec.json").is_file():
        return [path]
    index = path / "index.json"
    if not index.is_file():
        raise HarnessEvalError(f"{path} is not a run: it has neither spec.json nor index.json")
    if path.resolve() in seen:
        raise HarnessEvalError(f"{index} lists itself")
    seen.add(path.resolve())
    try:
        entries = json.loads(index.read_text())["runs"]
    except (ValueError, KeyError, TypeError) as exc:
        raise HarnessEvalError(f'{index} is not {{"runs": [folder, ...]}}: {exc}') from exc
    return [folder for entry in entries for folder in _expand(path / entry, seen)]


def _load(folder: Path) -> LoadedRun:
    spec = _read(folder / "spec.json", RunSpec)
    summary_path = folder / "summary.json"
    trials_dir = folder / "trials"
    dirs = [d for d in trials_dir.iterdir() if d.name.isdigit()] if trials_dir.is_dir() else []
    # A trial folder without verdict.json is an interrupted attempt: it holds no result.
    done = sorted((d for d in dirs if (d / "verdict.json").is_file()), key=lambda d: int(d.name))
    return LoadedRun(
        path=folder,
        spec=spec,
        summary=_read(summary_path, Summary) if summary_path.is_file() else None,
        setup=spec.harness,
        cell=dict(spec.cell) or {"condition": spec.label},
        trials=[TrialRecord(dir=d, verdict=_read(d / "verdict.json", Verdict)) for d in done],
    )


def _read(path: Path, model: type[M]) -> M:
    try:
        return model.model_validate_json(path.read_text())
    except (OSError, ValidationError) as exc:
        raise HarnessEvalError(f"{path} is unreadable or not a {model.__name__}: {exc}") from exc


def _refuse_duplicates(runs: list[LoadedRun]) -> None:
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], Path] = {}
    for run in runs:
        key = (run.setup, tuple(sorted({"scenario": run.spec.scenario, **run.cell}.items())))
        if key in seen:
            raise HarnessEvalError(
                f"{seen[key]} and {run.path} are both {run.setup} in {run.spec.scenario}, {cell_label(run.cell)}: "
                "pass only one of them"
            )
        seen[key] = run.path
