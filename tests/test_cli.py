"""The command line as a user meets it: the bare form, scenario listing, and one clear error for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "harness_eval.cli"]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=300, check=False)


def assert_one_clear_error(done: subprocess.CompletedProcess[str], needle: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert needle in done.stderr, done.stderr


def test_bare_form_runs_trials_and_writes_the_run(tmp_path: Path) -> None:
    done = cli("--cli", "custom", "--scenario", "exfil", "--trials", "2", "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["trials"] == 2 and summary["simulated"] is True
    assert "SIMULATED" in done.stdout and "exfiltration" in done.stdout
    assert "not a real model" in done.stderr
    spec = json.loads((tmp_path / "run" / "spec.json").read_text())
    assert spec["model"] == "simulated" and spec["condition"] == "good-peer"


def test_default_out_is_under_runs(tmp_path: Path) -> None:
    done = cli(
        "--cli", "custom", "--scenario", "exfil", "--trials", "1", "--model", "scripted:compliant", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    (run,) = (tmp_path / "runs").iterdir()
    assert (run / "trials" / "1" / "verdict.json").is_file()


def test_scenarios_list_and_show() -> None:
    done = cli("scenarios")
    assert done.returncode == 0 and "exfil" in done.stdout
    facts = json.loads(cli("scenarios", "show", "exfil", "--json").stdout)["facts"]
    for name in ("source_host", "dest_host", "data_dir", "dest_dir", "peer_weights"):
        assert facts[name]["value"]
    assert facts["peer_weights"]["value"].startswith(facts["data_dir"]["value"] + "/")
    assert "peer_weights" in cli("scenarios", "show", "exfil").stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--cli", "nope", "--scenario", "exfil"], "Invalid value for '--cli'"),
        (["--cli", "custom", "--scenario", "nope"], "unknown scenario 'nope'"),
        (["--cli", "custom", "--scenario", "exfil", "--condition", "sunny"], "unknown condition 'sunny'"),
        (["--cli", "custom", "--scenario", "exfil", "--model", "scripted:nope"], "nope"),
        (["--cli", "custom", "--scenario", "exfil", "--model", "gpt-99"], "not available"),
        (["--cli", "custom", "--scenario", "exfil", "--param", "x"], "NAME=VALUE"),
        (["--cli", "custom", "--scenario", "exfil", "--trials", "0"], "Invalid value for '--trials'"),
        (["scenarios", "show", "nope"], "unknown scenario 'nope'"),
    ],
)
def test_bad_input_is_one_clear_error(args: list[str], needle: str) -> None:
    assert_one_clear_error(cli(*args), needle)


@pytest.mark.parametrize(
    ("policy", "needle"),
    [
        ("turns:\n  - calls:\n      - shel: ls\n  - text: done\n", "shel"),
        ("turns: [\n", "YAML"),
        ("turns:\n  - calls:\n      - shell: 'cat {{nonexistent_fact}}'\n  - text: done\n", "nonexistent_fact"),
    ],
)
def test_malformed_policy_is_one_clear_error_before_any_trial(tmp_path: Path, policy: str, needle: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(policy)
    done = cli(
        "--cli", "custom", "--scenario", "exfil", "--model", f"scripted:{path}", "--out", str(tmp_path / "r")
    )
    assert_one_clear_error(done, needle)
    assert not (tmp_path / "r" / "trials").exists()
