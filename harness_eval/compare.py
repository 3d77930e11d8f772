"""The same worlds through different setups (harnesses, models, modes): where do their rates differ, and which
individual worlds (same seed, same cell) ended differently.

A same-seed pair shares its world and, with a scripted policy, the model's every move, so any verdict that
differs points at the harness itself; with a real model it is where to start reading transcripts.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from pathlib import Path

from pydantic import BaseModel
from rich.console import Group
from rich.table import Table

from harness_eval.errors import HarnessEvalError
from harness_eval.models import Verdict
from harness_eval.report.runs import LoadedRun, cell_label
from harness_eval.stats import Count, ProportionTest, two_proportion


class SetupCount(Count):
    setup: str
    run: Path


class Difference(BaseModel):
    a: str
    b: str
    test: ProportionTest  # rate of a minus rate of b


class Row(BaseModel):
    """One behaviour in one cell: each setup's rate, and every pair of setups' difference."""

    behavior: str
    cell: dict[str, str]
    setups: list[SetupCount]
    differences: list[Difference]


class SeedMismatch(BaseModel):
    """Two setups' trials of the same world whose verdicts differ."""

    seed: int
    cell: dict[str, str]
    a: str
    b: str
    behaviors: list[str]  # behaviours found in exactly one of the two trials
    a_outcome: str
    b_outcome: str
    a_trial: Path
    b_trial: Path


class Comparison(BaseModel):
    setups: list[str]
    simulated: bool
    rows: list[Row]
    mismatches: list[SeedMismatch]


def compare(runs: Sequence[LoadedRun]) -> Comparison:
    setups = list(dict.fromkeys(run.setup for run in runs))
    if len(setups) < 2:
        raise HarnessEvalError(f"nothing to compare: every run given is {setups[0] if setups else 'missing'}")
    by_cell: dict[str, dict[str, LoadedRun]] = {}
    for run in runs:
        by_cell.setdefault(repr(sorted(run.cell.items())), {})[run.setup] = run
    rows, mismatches = [], []
    for cell_runs in by_cell.values():
        present = list(cell_runs.values())
        behaviors = list(dict.fromkeys(b for run in present for b in run.behaviors))
        rows += [_row(behavior, present) for behavior in behaviors]
        mismatches += [m for a, b in combinations(present, 2) for m in _mismatches(a, b)]
    return Comparison(
        setups=setups, simulated=any(run.simulated for run in runs), rows=rows, mismatches=mismatches
    )


def _row(behavior: str, runs: list[LoadedRun]) -> Row:
    counts = [
        SetupCount(**Count.of(*run.count(behavior)).model_dump(), setup=run.setup, run=run.path) for run in runs
    ]
    differences = []
    for a, b in combinations(counts, 2):
        test = two_proportion(a.count, a.n, b.count, b.n)
        if test is not None:
            differences.append(Difference(a=a.setup, b=b.setup, test=test))
    return Row(behavior=behavior, cell=runs[0].cell, setups=counts, differences=differences)


def _mismatches(a: LoadedRun, b: LoadedRun) -> list[SeedMismatch]:
    b_trials = {t.verdict.seed: t for t in b.trials}
    found = []
    for trial in a.trials:
        other = b_trials.get(trial.verdict.seed)
        if other is None or _same(trial.verdict, other.verdict):
            continue
        found.append(
            SeedMismatch(
                seed=trial.verdict.seed,
                cell=a.cell,
                a=a.setup,
                b=b.setup,
                behaviors=sorted(set(trial.verdict.behaviors) ^ set(other.verdict.behaviors)),
                a_outcome=trial.verdict.outcome.value,
                b_outcome=other.verdict.outcome.value,
                a_trial=trial.dir,
                b_trial=other.dir,
            )
        )
    return found


def _same(a: Verdict, b: Verdict) -> bool:
    return a.outcome == b.outcome and set(a.behaviors) == set(b.behaviors)


# ---------------------------------------------------------------------------------------------------------------
# Rendering.
# ---------------------------------------------------------------------------------------------------------------


def fmt_rate(count: Count) -> str:
    """ "3/6 = 0.50 [0.19, 0.81]", or "0/0" when nothing completed."""
    if count.rate is None or count.ci95 is None:
        return f"{count.count}/{count.n}"
    return f"{count.count}/{count.n} = {count.rate:.2f} [{count.ci95[0]:.2f}, {count.ci95[1]:.2f}]"


def fmt_test(test: ProportionTest) -> str:
    low, high = test.ci95
    return f"{test.difference:+.2f} [{low:+.2f}, {high:+.2f}]"


def fmt_p(p: float | None) -> str:
    if p is None:
        return "-"
    return f"{p:.2g}" if p >= 1e-4 else "<1e-4"


def render(comparison: Comparison) -> Group:
    """Rich tables for a terminal: rates side by side, then the worlds that ended differently."""
    rates = Table(title="Rates per setup (95% Wilson CI); difference with Newcombe 95% CI")
    rates.add_column("behaviour")
    rates.add_column("cell")
    for setup in comparison.setups:
        rates.add_column(setup, justify="right")
    rates.add_column("difference", justify="right")
    rates.add_column("p", justify="right")
    rates.add_column("note")
    for row in comparison.rows:
        by_setup = {c.setup: c for c in row.setups}
        notes = [f"{c.setup}: {c.warning}" for c in row.setups if c.warning]
        rates.add_row(
            row.behavior,
            cell_label(row.cell),
            *(fmt_rate(by_setup[s]) if s in by_setup else "-" for s in comparison.setups),
            "\n".join(f"{d.a} - {d.b}: {fmt_test(d.test)}" for d in row.differences) or "-",
            "\n".join(f"{fmt_p(d.test.p_value)} ({d.test.test})" for d in row.differences) or "-",
            "; ".join(notes),
        )
    seeds = Table(title=f"Same-seed trials whose verdicts differ: {len(comparison.mismatches)}")
    for column in ("seed", "cell", "setups", "outcomes", "behaviours that differ", "trials"):
        seeds.add_column(column)
    for m in comparison.mismatches:
        seeds.add_row(
            str(m.seed),
            cell_label(m.cell),
            f"{m.a} / {m.b}",
            f"{m.a_outcome} / {m.b_outcome}",
            ", ".join(m.behaviors) or "-",
            f"{m.a_trial}\n{m.b_trial}",
        )
    parts: list[Table | str] = [rates, seeds]
    if comparison.simulated:
        parts.insert(0, "[bold reverse] SIMULATED [/] scripted models: these rates test the tool, not a model")
    return Group(*parts)
