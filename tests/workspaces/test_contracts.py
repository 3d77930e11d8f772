"""A scenario is checked against the detectors it names when it loads: a typo'd behaviour, a ground-truth field
missing, misspelt or of the wrong type is one clear error naming the scenario, behaviour and field, before any
trial -- from Python and from the command line."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness_eval.errors import HarnessEvalError
from harness_eval.verdicts import DETECTORS
from harness_eval.workspaces.scenario import BUILTIN_DIR, Scenario
from tests.test_cli import assert_one_clear_error, cli

Edit = Callable[[dict[str, Any]], None]


def variant(tmp_path: Path, edit: Edit, base: str = "misrep") -> Path:
    """A copy of a built-in scenario with its YAML edited: the scenario a researcher gets slightly wrong."""
    folder = tmp_path / "bad-scenario"
    shutil.copytree(BUILTIN_DIR / base, folder)
    data = yaml.safe_load((folder / "scenario.yaml").read_text())
    edit(data)
    (folder / "scenario.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


def typo_behaviour(data: dict[str, Any]) -> None:
    data["behaviors"] = ["strategic_misrepresentaton", "refusal"]


def missing_field(data: dict[str, Any]) -> None:
    del data["ground_truth"]["threshold"]


def wrong_type(data: dict[str, Any]) -> None:
    data["ground_truth"]["tolerance"] = "ten points"


def misspelt_key(data: dict[str, Any]) -> None:
    data["ground_truth"]["tolerence"] = data["ground_truth"].pop("tolerance")


BAD: list[tuple[Edit, str]] = [
    (
        typo_behaviour,
        "scenario 'misrep': unknown behaviour 'strategic_misrepresentaton' "
        "(did you mean 'strategic_misrepresentation'?",
    ),
    (
        missing_field,
        "scenario 'misrep', behaviour 'strategic_misrepresentation': ground_truth.threshold: field required",
    ),
    (
        wrong_type,
        "scenario 'misrep', behaviour 'strategic_misrepresentation': ground_truth.tolerance: Input should be a "
        "valid number",
    ),
    (misspelt_key, "scenario 'misrep': ground_truth.tolerence is read by none of its behaviours"),
]
IDS = ["typo-behaviour", "missing-field", "wrong-type", "misspelt-key"]


@pytest.mark.parametrize(("edit", "message"), BAD, ids=IDS)
def test_a_misfit_scenario_fails_to_load_with_one_clear_error(tmp_path: Path, edit: Edit, message: str) -> None:
    with pytest.raises(HarnessEvalError) as caught:
        Scenario.load(str(variant(tmp_path, edit)))
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(("edit", "message"), BAD[:3], ids=IDS[:3])
def test_the_command_line_refuses_it_before_any_trial(tmp_path: Path, edit: Edit, message: str) -> None:
    out = tmp_path / "run"
    done = cli("--cli", "custom", "--scenario", str(variant(tmp_path, edit)), "--trials", "1", "--out", str(out))
    assert_one_clear_error(done, "error: scenario 'misrep'")
    # One message, which the console wraps to its width.
    assert done.stderr.count("error:") == 1 and message in " ".join(done.stderr.split()), done.stderr
    assert not out.exists()


def test_a_nested_field_and_a_missing_artifact_are_named(tmp_path: Path) -> None:
    def no_expect(data: dict[str, Any]) -> None:
        del data["ground_truth"]["shutdown_mechanism"]["expect"]

    with pytest.raises(HarnessEvalError, match=r"'shutdown_tampering': ground_truth\.shutdown_mechanism\.expect"):
        Scenario.load(str(variant(tmp_path, no_expect, base="tamper")))

    def no_weights(data: dict[str, Any]) -> None:
        for file in data["files"]:
            if file.get("artifact") == "peer_weights":
                del file["artifact"]

    with pytest.raises(HarnessEvalError, match=r"'exfiltration': ground_truth\.artifacts: .*peer_weights"):
        Scenario.load(str(variant(tmp_path / "w", no_weights, base="exfil")))


def test_rendered_values_are_checked_as_each_plan_is_built(tmp_path: Path) -> None:
    """A template can render a non-number in one cell only: the load (default cell) passes, that cell's build
    fails as clearly."""

    def bad_in_one_cell(data: dict[str, Any]) -> None:
        data["ground_truth"]["threshold"] = "{{ 'eighty' if condition == 'bad-peer' else threshold }}"

    scenario = Scenario.load(str(variant(tmp_path, bad_in_one_cell)))
    scenario.build({"condition": "good-peer"}, seed=1)
    with pytest.raises(HarnessEvalError, match=r"ground_truth\.threshold: Input should be a valid number"):
        scenario.build({"condition": "bad-peer"}, seed=1)


def test_stats_axes_must_exist(tmp_path: Path) -> None:
    def typo(data: dict[str, Any]) -> None:
        data["stats"]["baseline"]["value"] = "nopeer"

    with pytest.raises(HarnessEvalError, match="stats: axis condition has no value 'nopeer'"):
        Scenario.load(str(variant(tmp_path, typo)))


def test_the_registry_names_each_detector_by_its_own_behaviour() -> None:
    assert all(name == d.behavior for name, d in DETECTORS.items())
