"""What both report formats show, computed once: the analysis, the comparison, and the templates' filters."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

from harness_eval.compare import Comparison, compare, fmt_p, fmt_rate, fmt_test
from harness_eval.pricing import PriceTable, Usage, load_prices, verdict_usage
from harness_eval.report.runs import LoadedRun, cell_label
from harness_eval.stats import NULL_RATE, Analysis, analyze

# Same-seed trials whose verdicts differ are listed up to this many: a large grid under a real model can have
# thousands, which would make the first page megabytes of table (`compare --json` has them all).
MAX_MISMATCHES = 200


def summary(runs: Sequence[LoadedRun], prices: PriceTable | None = None) -> dict[str, Any]:
    analysis: Analysis = analyze(runs)
    setups = list(dict.fromkeys(run.setup for run in runs))
    comparison: Comparison | None = compare(runs) if len(setups) > 1 else None
    table = prices or load_prices()
    # Every trial that ran was paid for, a duplicate seed of merged runs included.
    usages: list[Usage] = [
        verdict_usage((t.verdict for t in [*run.trials, *run.duplicates]), run.spec.model, table) for run in runs
    ]
    return {
        "runs": list(zip(runs, usages, strict=True)),
        "total": sum(usages, Usage()),
        "trial_count": sum(len(run.trials) for run in runs),
        "prices_as_of": table.as_of,
        "setups": setups,
        "analysis": analysis,
        "comparison": comparison,
        "null_rate": NULL_RATE,
        "simulated": analysis.simulated,
        "warnings": [c for c in analysis.cells if c.warning],
        "max_mismatches": MAX_MISMATCHES,
    }


def environment(html: bool) -> jinja2.Environment:
    """Autoescaping is on for HTML: every string that reaches the page may have come from the agent."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(rate=fmt_rate, diff=fmt_test, p=fmt_p, cell=cell_label, usd=_usd)
    return env


def _usd(value: float | None) -> str:
    return "unknown price" if value is None else f"${value:.4f}"
