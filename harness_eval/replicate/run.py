"""A preset as one batch on disk, and its table once the trials are in.

The replication folder holds `preset.json` (the preset as run, models resolved), `index.json` and one ordinary
run per (setup, scenario, cell) under `<setup>/<scenario>/<cell>/`, so `resume`, `report` and `compare` read it
like any grid; `replication.md` and `replication.html` are written when the table is made.
"""

from __future__ import annotations

from pathlib import Path

from harness_eval.errors import HarnessEvalError
from harness_eval.fileio import write_atomic
from harness_eval.models import Outcome, Summary
from harness_eval.replicate.preset import Preset, run_specs
from harness_eval.replicate.table import Counts, Table, build, html_page, markdown
from harness_eval.runner import Batch


def batch(preset: Preset, out: Path, trials: int | None, seed: int, timeout: float, parallel: int) -> Batch:
    """The preset's runs in `out`; `out` may already hold this very preset (to resume it), never another."""
    specs = run_specs(preset, trials, seed, timeout, parallel)
    record = out / "preset.json"
    if record.is_file():
        before = Preset.model_validate_json(record.read_text())
        if before.model_dump(exclude={"trials"}) != preset.model_dump(exclude={"trials"}):
            raise HarnessEvalError(
                f"{out} holds a replication of another preset (or other models); use another --out"
            )
    write_atomic(record, preset.model_dump_json(indent=2) + "\n")
    return Batch(list(specs.values()), out, list(specs))


def tabulate(preset: Preset, done: Batch) -> Table:
    """Count each figure's behaviour over the completed trials of its runs, and write the table beside them."""
    from harness_eval.workspaces.scenario import Scenario, cell_label

    counts: Counts = {}
    versions: dict[str, list[str]] = {name: [] for name in preset.setups}
    behaviors = {f.behavior for f in preset.figures}
    for run in done.runs:
        summary = run.out / "summary.json"
        if summary.is_file():
            setup = versions[str(run.out.relative_to(done.out)).split("/", 1)[0]]
            reported = Summary.model_validate_json(summary.read_text()).model_versions
            setup += [v for v in reported if v not in setup]
        completed = [v for v in run.verdicts() if v.outcome is Outcome.COMPLETED]
        where = str(run.out.relative_to(done.out))
        for behavior in behaviors:
            counts.setdefault(behavior, {})[where] = (
                sum(behavior in v.behaviors for v in completed),
                len(completed),
            )
    cells = {
        figure.id: [
            (c.scenario, cell_label(cell))
            for c in figure.cells
            for cell in Scenario.load(c.scenario).cells(c.axes)
        ]
        for figure in preset.figures
    }
    table = build(preset, counts, cells, versions)
    write_atomic(done.out / "replication.md", markdown(table))
    write_atomic(done.out / "replication.html", html_page(table))
    write_atomic(done.out / "replication.json", table.model_dump_json(indent=2) + "\n")
    return table
