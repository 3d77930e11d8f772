"""A Markdown summary of finished runs, to paste into a paper draft or an issue."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness_eval.fileio import write_atomic
from harness_eval.pricing import PriceTable
from harness_eval.report.context import environment, summary
from harness_eval.report.runs import LoadedRun


def render_markdown(runs: Sequence[LoadedRun], prices: PriceTable | None = None) -> str:
    env = environment(html=False)
    # Agent-chosen names never reach this page, but cell values and paths do: a "|" would split a table cell.
    env.filters["md"] = lambda value: str(value).replace("|", "\\|").replace("\n", " ")
    return env.get_template("report.md.j2").render(**summary(runs, prices))


def write_markdown(runs: Sequence[LoadedRun], path: Path, prices: PriceTable | None = None) -> None:
    write_atomic(path, render_markdown(runs, prices))
