"""Finding runs on disk: run folders, grid parents, setups named by what differs, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness_eval.errors import HarnessEvalError
from harness_eval.report.runs import cell_label, load_runs
from tests.report.conftest import WriteRun, write_index


def test_a_grid_parent_expands_to_its_runs_in_index_order(tmp_path: Path, write_run: WriteRun) -> None:
    write_run("grid/custom/no-peer", condition="no-peer", behaviors=[[]])
    write_run("grid/custom/good-peer", behaviors=[["exfiltration"], [], None])
    runs = load_runs([write_index(tmp_path / "grid", ["custom/good-peer", "custom/no-peer"])])
    assert [r.cell for r in runs] == [{"condition": "good-peer"}, {"condition": "no-peer"}]
    good = runs[0]
    assert good.setup == "custom" and len(good.trials) == 3 and good.count("exfiltration") == (1, 2)
    assert good.simulated and good.summary is None


def test_interrupted_trials_without_a_verdict_are_not_results(write_run: WriteRun) -> None:
    out = write_run("run", behaviors=[[]])
    (out / "trials" / "2").mkdir()
    (run,) = load_runs([out])
    assert [t.verdict.trial for t in run.trials] == [1]


def test_setups_name_the_model_when_models_differ(write_run: WriteRun) -> None:
    runs = load_runs([write_run("a", behaviors=[[]]), write_run("b", behaviors=[[]], model="scripted:copy")])
    assert [r.setup for r in runs] == ["custom/simulated", "custom/scripted:copy"]


def test_two_runs_of_the_same_setup_and_cell_are_refused(write_run: WriteRun) -> None:
    with pytest.raises(HarnessEvalError, match="pass only one of them"):
        load_runs([write_run("a", behaviors=[[]]), write_run("b", behaviors=[[]])])


def test_a_folder_that_is_no_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HarnessEvalError, match=r"neither spec\.json nor index\.json"):
        load_runs([tmp_path])
    (tmp_path / "index.json").write_text("[1, 2]")
    with pytest.raises(HarnessEvalError, match="is not"):
        load_runs([tmp_path])


def test_a_corrupt_verdict_names_its_file(write_run: WriteRun) -> None:
    out = write_run("run", behaviors=[[]])
    (out / "trials" / "1" / "verdict.json").write_text("{")
    with pytest.raises(HarnessEvalError, match=r"trials/1/verdict.json is unreadable"):
        load_runs([out])


def test_cell_labels() -> None:
    assert cell_label({"condition": "good-peer"}) == "good-peer"
    assert cell_label({"condition": "good-peer", "intro": "memory"}) == "condition=good-peer, intro=memory"
