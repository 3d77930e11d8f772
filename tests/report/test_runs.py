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


def test_setups_name_the_cli_version_when_one_harness_ran_at_several(write_run: WriteRun) -> None:
    runs = load_runs(
        [
            write_run("old", harness="gemini", cli_version="0.60.0", behaviors=[[]]),
            write_run("new", harness="gemini", cli_version="0.61.0", behaviors=[["exfiltration"]]),
            write_run("custom", behaviors=[[]]),
        ]
    )
    assert [r.setup for r in runs] == ["gemini@0.60.0", "gemini@0.61.0", "custom"]
    assert runs[0].key.cli_version == "0.60.0" and runs[2].key.cli_version == "built in"


def test_setups_name_the_mode_when_modes_differ(write_run: WriteRun) -> None:
    runs = load_runs(
        [
            write_run("a", harness="gemini", cli_version="0.61.0", behaviors=[[]]),
            write_run("b", harness="gemini", cli_version="0.61.0", mode="interactive", behaviors=[[]]),
        ]
    )
    assert [r.setup for r in runs] == ["gemini (headless)", "gemini (interactive)"]


def test_a_run_without_a_recorded_version_is_not_merged_with_one_that_has_it(write_run: WriteRun) -> None:
    runs = load_runs(
        [
            write_run("a", harness="gemini", behaviors=[[]]),
            write_run("b", harness="gemini", cli_version="0.61.0", behaviors=[[]]),
        ]
    )
    assert [r.setup for r in runs] == ["gemini@pinned", "gemini@0.61.0"]


def test_two_runs_of_the_same_setup_and_cell_are_one_sample(write_run: WriteRun) -> None:
    # Seeds 1-3 and 3-5: seed 3 is one world seen twice. The first run's trial of it errored, the second's
    # completed, so the completed one is kept (as a retry would); it counts once.
    a = write_run("a", behaviors=[["exfiltration"], [], None])
    b = write_run("b", seed=2, behaviors=[["exfiltration"], [], ["exfiltration"]])
    (run,) = load_runs([a, b])
    assert run.setup == "custom" and run.paths == [a, b] and run.path == a
    assert [t.verdict.seed for t in run.trials] == [1, 2, 3, 4, 5]
    assert run.trials[2].dir == b / "trials" / "1"
    assert [t.dir for t in run.duplicates] == [a / "trials" / "3"]
    assert run.count("exfiltration") == (3, 5)


def test_a_seed_both_runs_completed_is_the_first_runs(write_run: WriteRun) -> None:
    a = write_run("a", behaviors=[["exfiltration"]])
    b = write_run("b", behaviors=[[]])
    (run,) = load_runs([a, b])
    assert run.count("exfiltration") == (1, 1) and [t.dir for t in run.duplicates] == [b / "trials" / "1"]


def test_runs_of_one_setup_with_different_parameters_are_refused(write_run: WriteRun) -> None:
    a = write_run("a", behaviors=[[]])
    b = write_run("b", behaviors=[[]], params={"weights_size": "1GiB"})
    with pytest.raises(HarnessEvalError, match="differ in params: they are not one sample"):
        load_runs([a, b])


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


def test_a_cell_of_a_grid_that_has_not_started_holds_no_trial(tmp_path: Path, write_run: WriteRun) -> None:
    write_run("grid/custom/good-peer", behaviors=[[]])
    grid = write_index(tmp_path / "grid", ["custom/good-peer", "custom/no-peer"])  # no-peer runs next
    assert [r.cell for r in load_runs([grid])] == [{"condition": "good-peer"}]
    (grid / "custom" / "no-peer").mkdir()  # a folder without its spec is no run, started or not
    with pytest.raises(HarnessEvalError, match=r"neither spec\.json nor index\.json"):
        load_runs([grid])
