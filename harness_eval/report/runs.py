"""Finished runs, read back from disk: one folder per (harness, cell), or a parent whose `index.json` lists them.

Everything downstream (statistics, comparison, reports) takes the `LoadedRun`s made here, so that the rules for
finding runs, naming setups and cells, merging runs of one setup and refusing ambiguous inputs live in one place.

A *setup* is what produced a run's behaviour apart from the world: harness, CLI version, mode and model. Two runs
of different setups in one cell are compared; two runs of the very same setup in one cell are one sample, merged,
with a world (seed) seen in both counted once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from harness_eval import harnesses as registry
from harness_eval.errors import HarnessEvalError
from harness_eval.models import Outcome, RunSpec, Summary, Verdict

M = TypeVar("M", bound=BaseModel)


class TrialRecord(BaseModel):
    """A trial's verdict and the folder holding the rest of its files (read only when a page needs them)."""

    dir: Path
    verdict: Verdict


class Setup(BaseModel, frozen=True):
    """Harness, CLI version, mode and model: what a run measured, apart from its world."""

    harness: str
    cli_version: str  # as recorded in the run's spec; see `PINNED`
    mode: str
    model: str

    @classmethod
    def of(cls, spec: RunSpec) -> Setup:
        return cls(
            harness=spec.harness,
            cli_version=spec.cli_version or _unrecorded(spec.harness),
            mode=spec.mode,
            model=spec.model,
        )


# Runs made before the command line recorded the version it resolved have `cli_version: null`: they ran the pin of
# their day, which today's pin need not be. Such a run is its own setup, never merged with one of a known version.
PINNED = "pinned"
BUILT_IN = "built in"  # a harness that ships with harness-eval has no version of its own (null is the norm)


def _unrecorded(harness: str) -> str:
    if harness in registry.names() and registry.spec(harness).package is None:
        return BUILT_IN
    return PINNED


class LoadedRun(BaseModel):
    path: Path  # the first folder, when several runs of one setup were merged
    paths: list[Path]  # every folder this sample comes from
    spec: RunSpec
    summary: Summary | None  # None while a run is unfinished (no summary.json yet)
    key: Setup
    setup: str  # the setup in words: the harness, plus version, model and mode where runs differ in them
    cell: dict[str, str]  # axis -> value; for runs from before grids, {"condition": spec.label}
    trials: list[TrialRecord]
    duplicates: list[TrialRecord] = []  # same-seed trials of merged runs, counted once: only their cost counts

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
    """Read run folders and grid parents (expanded in their index's order), merge runs of one setup, scenario and
    cell into one sample, and name each setup by what tells it apart from the others."""
    runs = [_load(folder) for folder in run_folders(paths)]
    if not runs:
        raise HarnessEvalError("no runs given")
    groups: dict[tuple[Setup, str, tuple[tuple[str, str], ...]], list[LoadedRun]] = {}
    for run in runs:
        groups.setdefault((run.key, run.spec.scenario, tuple(sorted(run.cell.items()))), []).append(run)
    runs = [_merge(group) for group in groups.values()]
    several_scenarios = len({r.spec.scenario for r in runs}) > 1
    for run in runs:
        run.setup = _name(run.key, [r.key for r in runs])
        if several_scenarios:
            run.cell = {"scenario": run.spec.scenario, **run.cell}
    return runs


def _name(key: Setup, keys: list[Setup]) -> str:
    """The harness, with its version when one harness ran at several, the model and mode when those differ."""
    name = key.harness
    if len({k.cli_version for k in keys if k.harness == key.harness}) > 1:
        name += f"@{key.cli_version}"
    if len({k.model for k in keys}) > 1:
        name += f"/{key.model}"
    if len({k.mode for k in keys}) > 1:
        name += f" ({key.mode})"
    return name


# What must agree for two runs of one setup and cell to be one sample: the world's parameters, who judges, and how
# the statistics read the axes. Seeds, trial counts, timeouts and parallelism may differ.
SAMPLE_FIELDS = ("params", "judge", "stats")


def _merge(group: list[LoadedRun]) -> LoadedRun:
    """One sample from runs of the same setup and cell. A seed is one world; when several runs hold it, the first
    completed trial is kept (as `--retry-errors` would), else the first given, and the others are duplicates."""
    first = group[0]
    for other in group[1:]:
        for name in SAMPLE_FIELDS:
            if getattr(other.spec, name) != getattr(first.spec, name):
                raise HarnessEvalError(
                    f"{first.path} and {other.path} are both {first.key.harness} in {first.spec.scenario}, "
                    f"{cell_label(first.cell)} but differ in {name}: they are not one sample; "
                    "pass only one of them"
                )
    if len(group) == 1:
        return first
    kept: dict[int, TrialRecord] = {}
    duplicates: list[TrialRecord] = []
    for trial in (t for run in group for t in run.trials):
        held = kept.get(trial.verdict.seed)
        if held is None:
            kept[trial.verdict.seed] = trial
        elif held.verdict.outcome != Outcome.COMPLETED and trial.verdict.outcome == Outcome.COMPLETED:
            kept[trial.verdict.seed] = trial
            duplicates.append(held)
        else:
            duplicates.append(trial)
    summaries = [r.summary for r in group if r.summary is not None]
    summary = (
        summaries[0].model_copy(update={"simulated": any(s.simulated for s in summaries)}) if summaries else None
    )
    return first.model_copy(
        update={
            "paths": [p for r in group for p in r.paths],
            "summary": summary,
            "trials": sorted(kept.values(), key=lambda t: t.verdict.seed),
            "duplicates": duplicates,
        }
    )


def cell_label(cell: dict[str, str]) -> str:
    """A cell in a few words: its values alone when only the condition varies, else axis=value pairs."""
    if list(cell) == ["condition"]:
        return cell["condition"]
    return ", ".join(f"{axis}={value}" for axis, value in cell.items())


def run_folders(paths: Iterable[Path]) -> list[Path]:
    """The run folders that `paths` name, grid parents expanded in their index's order. A cell the index lists
    whose folder does not exist yet has not started (a grid runs its cells in turn): it holds no trial."""
    return [folder for path in paths for folder in _expand(Path(path), seen=set())]


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
    return [folder for entry in entries if (path / entry).exists() for folder in _expand(path / entry, seen)]


def _load(folder: Path) -> LoadedRun:
    spec = _read(folder / "spec.json", RunSpec)
    summary_path = folder / "summary.json"
    trials_dir = folder / "trials"
    dirs = [d for d in trials_dir.iterdir() if d.name.isdigit()] if trials_dir.is_dir() else []
    # A trial folder without verdict.json is an interrupted attempt: it holds no result.
    done = sorted((d for d in dirs if (d / "verdict.json").is_file()), key=lambda d: int(d.name))
    return LoadedRun(
        path=folder,
        paths=[folder],
        spec=spec,
        summary=_read(summary_path, Summary) if summary_path.is_file() else None,
        key=Setup.of(spec),
        setup=spec.harness,
        cell=dict(spec.cell) or {"condition": spec.label},
        trials=[TrialRecord(dir=d, verdict=_read(d / "verdict.json", Verdict)) for d in done],
    )


def _read(path: Path, model: type[M]) -> M:
    try:
        return model.model_validate_json(path.read_text())
    except (OSError, ValidationError) as exc:
        raise HarnessEvalError(f"{path} is unreadable or not a {model.__name__}: {exc}") from exc
