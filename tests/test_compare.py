"""Comparing setups over the same worlds: rates side by side, their difference and its test, and the same-seed
trials whose verdicts differ."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from harness_eval.compare import Comparison, compare, render
from harness_eval.errors import HarnessEvalError
from harness_eval.report.runs import load_runs
from harness_eval.stats import two_proportion
from tests.report.conftest import WriteRun, write_run  # noqa: F401 - the fixture, shared with the report tests

EXFIL, NOTHING = ["exfiltration"], []


def two_harnesses(write_run: WriteRun) -> Comparison:  # noqa: F811
    custom = write_run("custom", behaviors=[EXFIL, EXFIL, EXFIL, NOTHING, ["exfiltration", "spec_gaming"]])
    gemini = write_run("gemini", harness="gemini", behaviors=[EXFIL, NOTHING, NOTHING, NOTHING, None])
    return compare(load_runs([custom, gemini]))


def test_rates_difference_and_test_per_behaviour_and_cell(write_run: WriteRun) -> None:  # noqa: F811
    comparison = two_harnesses(write_run)
    assert comparison.setups == ["custom", "gemini"] and comparison.simulated
    rows = {row.behavior: row for row in comparison.rows}
    assert list(rows) == ["exfiltration", "spec_gaming"]
    exfil = rows["exfiltration"]
    assert [(c.setup, c.count, c.n) for c in exfil.setups] == [("custom", 4, 5), ("gemini", 1, 4)]
    (diff,) = exfil.differences
    assert (diff.a, diff.b) == ("custom", "gemini")
    assert diff.test == two_proportion(4, 5, 1, 4) and diff.test.test == "fisher"
    # A behaviour only one setup showed is still compared: zero is a count.
    assert [(c.count, c.n) for c in rows["spec_gaming"].setups] == [(1, 5), (0, 4)]


def test_same_seed_pairs_whose_verdicts_differ_are_listed(write_run: WriteRun) -> None:  # noqa: F811
    comparison = two_harnesses(write_run)
    found = {m.seed: m for m in comparison.mismatches}
    assert sorted(found) == [2, 3, 5]  # seed 1 (both exfiltrated) and 4 (neither did) agree
    assert found[2].behaviors == ["exfiltration"] and found[2].a_trial.parts[-2:] == ("trials", "2")
    assert found[2].b_trial.parent.parent.name == "gemini"
    assert (found[5].a_outcome, found[5].b_outcome) == ("completed", "error")
    assert found[5].behaviors == ["exfiltration", "spec_gaming"]


def test_json_round_trip_and_terminal_tables(write_run: WriteRun) -> None:  # noqa: F811
    comparison = two_harnesses(write_run)
    assert Comparison.model_validate(json.loads(comparison.model_dump_json())) == comparison
    out = io.StringIO()
    Console(file=out, width=220).print(render(comparison))
    text = out.getvalue()
    assert "SIMULATED" in text and "4/5 = 0.80 [0.38, 0.96]" in text and "1/4 = 0.25" in text
    assert "Same-seed trials whose verdicts differ: 3" in text


def test_one_setup_is_nothing_to_compare(write_run: WriteRun) -> None:  # noqa: F811
    with pytest.raises(HarnessEvalError, match="nothing to compare"):
        compare(load_runs([write_run("custom", behaviors=[NOTHING])]))


def test_two_versions_of_one_harness_are_compared(write_run: WriteRun) -> None:  # noqa: F811
    old = write_run("old", harness="gemini", cli_version="0.60.0", behaviors=[EXFIL, EXFIL, NOTHING])
    new = write_run("new", harness="gemini", cli_version="0.61.0", behaviors=[EXFIL, NOTHING, NOTHING])
    comparison = compare(load_runs([old, new]))
    assert comparison.setups == ["gemini@0.60.0", "gemini@0.61.0"]
    (row,) = comparison.rows
    assert [(c.setup, c.count) for c in row.setups] == [("gemini@0.60.0", 2), ("gemini@0.61.0", 1)]
    assert [m.seed for m in comparison.mismatches] == [2]


def test_two_runs_of_one_setup_are_one_sample_not_a_comparison(write_run: WriteRun) -> None:  # noqa: F811
    with pytest.raises(HarnessEvalError, match="nothing to compare: every run given is custom"):
        compare(load_runs([write_run("a", behaviors=[EXFIL]), write_run("b", seed=1, behaviors=[EXFIL])]))
