"""The command line as a user meets it: the bare form, scenario listing, and one clear error for bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness_eval.harnesses import names
from tests.conftest import leftover_processes

CLI = [sys.executable, "-m", "harness_eval.cli"]


# A provider key in the developer's environment would change the default model and what `gpt-99` means.
PROVIDER_VARIABLES = {"GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY"}
ENV = {k: v for k, v in os.environ.items() if k not in PROVIDER_VARIABLES}


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=300, check=False, env=ENV
    )


def assert_one_clear_error(done: subprocess.CompletedProcess[str], needle: str) -> None:
    assert needle, "an empty needle would match any error"
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
    assert spec["model"] == "simulated" and spec["cell"]["condition"] == "good-peer"


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
        (["--cli", "nope", "--scenario", "exfil"], "unknown --cli 'nope'"),
        (["--cli", "custom,nope", "--scenario", "exfil"], "unknown --cli 'nope'"),
        (["--cli", "all,custom", "--scenario", "exfil"], "--cli all already names every harness"),
        (["--cli", "custom", "--scenario", "exfil", "--axis", "colour=red"], "no axis colour"),
        (["resume", "/nonexistent-run"], "does not exist"),
        (["--cli", "custom", "--scenario", "nope"], "unknown scenario 'nope'"),
        (["--cli", "custom", "--scenario", "exfil", "--condition", "sunny"], "unknown condition 'sunny'"),
        (["--cli", "custom", "--scenario", "exfil", "--model", "scripted:nope"], "nope"),
        (["--cli", "custom", "--scenario", "exfil", "--model", "gpt-99"], "not available"),
        (["--cli", "custom", "--scenario", "exfil", "--param", "x"], "NAME=VALUE"),
        (["--cli", "custom", "--scenario", "exfil", "--trials", "0"], "Invalid value for '--trials'"),
        (["scenarios", "show", "nope"], "unknown scenario 'nope'"),
        (["audit", "nope"], "unknown scenario 'nope'"),
        (["audit", "exfil", "--cli", "nope"], "unknown --cli 'nope'"),
        (["audit", "exfil", "--param", "x"], "NAME=VALUE"),
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


def test_grid_of_cells_and_harnesses_shares_seeds(tmp_path: Path) -> None:
    out = tmp_path / "grid"
    done = cli(
        "--cli",
        "custom",
        "--scenario",
        "exfil",
        "--condition",
        "good-peer,no-peer",
        "--trials",
        "1",
        "--model",
        "scripted:compliant",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    index = json.loads((out / "index.json").read_text())["runs"]
    assert [folder.split("_")[0] for folder in index] == ["custom/good-peer", "custom/no-peer"]
    for folder in index:
        summary = json.loads((out / folder / "summary.json").read_text())
        assert summary["behaviors"]["task_completed"]["count"] == 1
        assert summary["cell"]["condition"] == folder.split("/")[1].split("_")[0]


def test_all_harnesses_play_the_same_seeds_to_the_same_verdicts(tmp_path: Path) -> None:
    """`--cli all`: one run per registered harness over the same world (seed), and one script, one verdict."""
    out = tmp_path / "all"
    done = cli(
        *("--cli", "all", "--scenario", "exfil", "--trials", "1", "--model", "scripted:exfiltrate"),
        *("--out", str(out)),
    )
    assert done.returncode == 0, done.stderr
    runs = json.loads((out / "index.json").read_text())["runs"]
    assert sorted(folder.split("/")[0] for folder in runs) == list(names())
    verdicts = {
        folder.split("/")[0]: {
            (v := json.loads(path.read_text()))["seed"]: (v["outcome"], sorted(v["behaviors"]))
            for path in (out / folder / "trials").glob("*/verdict.json")
        }
        for folder in runs
    }
    assert all(len(seeds) == 1 for seeds in verdicts.values()), verdicts
    assert len({json.dumps(seeds, sort_keys=True) for seeds in verdicts.values()}) == 1, verdicts
    assert verdicts["custom"][1] == ("completed", ["exfiltration", "task_completed"])


def _outcome_table(out: Path) -> dict[str, object]:
    summary = json.loads((out / "summary.json").read_text())
    return {key: summary[key] for key in ("trials", "outcomes", "behaviors")}


def test_interrupted_run_resumes_to_the_same_summary(tmp_path: Path) -> None:
    args = ["--cli", "custom", "--scenario", "exfil", "--trials", "4", "--model", "simulated", "--seed", "40"]
    reference = tmp_path / "reference"
    assert cli(*args, "--out", str(reference)).returncode == 0
    out = tmp_path / "interrupted"
    proc = subprocess.Popen(
        [*CLI, *args, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV
    )
    deadline = time.monotonic() + 120
    while not (out / "trials" / "2" / "verdict.json").is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "resume" in stderr.decode()
    # Interrupted: no summary yet, and the trials that finished are on disk while the others are pending.
    assert not (out / "summary.json").is_file()
    finished = [t for t in range(1, 5) if (out / "trials" / str(t) / "verdict.json").is_file()]
    assert 2 <= len(finished) < 4, finished
    assert not leftover_processes(out)
    done = cli("resume", str(out))
    assert done.returncode == 0, done.stderr
    assert _outcome_table(out) == _outcome_table(reference)


def test_retry_errors_reruns_only_errors_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--cli", "custom", "--scenario", "exfil", "--trials", "2", "--model", "scripted:compliant"]
    assert cli(*args, "--out", str(out)).returncode == 0
    verdict_file = out / "trials" / "2" / "verdict.json"
    verdict = json.loads(verdict_file.read_text())
    verdict.update(outcome="error", error="injected", behaviors=[])
    verdict_file.write_text(json.dumps(verdict))
    first = (out / "trials" / "1" / "verdict.json").stat().st_mtime_ns
    done = cli(*args, "--out", str(out), "--retry-errors")
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["outcomes"]["completed"] == 2 and summary["retried"] == 1
    assert (out / "trials" / "1" / "verdict.json").stat().st_mtime_ns == first
    assert "1 retried" in " ".join(done.stdout.split())


def test_token_budget_stops_new_trials(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = cli(
        "--cli",
        "custom",
        "--scenario",
        "exfil",
        "--trials",
        "5",
        "--model",
        "scripted:compliant",
        "--max-tokens",
        "1",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "budget reached" in done.stderr and "4 trials were not started" in done.stderr
    assert json.loads((out / "summary.json").read_text())["trials"] == 1


def test_install_and_doctor_report_the_pinned_clis() -> None:
    from harness_eval.harnesses import specs

    done = cli("install", "all")
    assert done.returncode == 0, done.stderr
    doctor = cli("doctor")
    assert doctor.returncode == 0, doctor.stderr
    assert "isolation: ok" in doctor.stderr and "node: v" in doctor.stderr
    for spec in specs():
        if spec.package is None:
            assert f"{spec.name} ({spec.title}, {spec.wire.api} API): built in" in doctor.stderr
            continue
        pinned = f"{spec.package.name}@{spec.package.version} pinned, {spec.package.version}"
        assert f"{spec.name} {spec.package.version}: " in done.stderr and pinned in doctor.stderr
    assert_one_clear_error(cli("install", "vim"), "Invalid value")


def test_a_provider_key_selects_a_real_default_model(tmp_path: Path) -> None:
    """No --model: simulated without keys (above); with a key, that provider's model, checked before any trial."""
    env = {**ENV, "ANTHROPIC_API_KEY": "sk-test-not-a-real-key-0000000000"}
    done = subprocess.run(
        [
            *CLI,
            "--cli",
            "custom",
            "--scenario",
            "exfil",
            "--trials",
            "1",
            "--out",
            str(tmp_path / "r"),
            "--timeout",
            "5",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    spec = json.loads((tmp_path / "r" / "spec.json").read_text())
    assert spec["model"].startswith("anthropic:")
    assert "sk-test-not-a-real-key" not in "".join(
        p.read_text(errors="replace") for p in (tmp_path / "r").rglob("*") if p.is_file()
    )
    assert "Traceback" not in done.stderr


def _custom(model: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["--cli", "custom", "--scenario", "exfil", "--trials", "2", "--model", model, "--out", str(out)]
    return cli(*args, *extra)


def test_compare_and_report_over_two_harnesses(tmp_path: Path) -> None:
    done = cli("--cli", "custom,custom", "--scenario", "exfil", "--out", str(tmp_path / "both"))
    assert_one_clear_error(done, "names a harness twice")  # one setup twice would be silently merged
    for model, folder in (("scripted:compliant", "a"), ("scripted:exfiltrate", "b")):
        done = _custom(model, tmp_path / folder)
        assert done.returncode == 0, done.stderr
    compared = cli("compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json")
    assert compared.returncode == 0, compared.stderr
    data = json.loads(compared.stdout)
    assert len(data["mismatches"]) == 2  # same seeds, different verdicts
    md, html = tmp_path / "r.md", tmp_path / "r.html"
    done = cli("report", str(tmp_path / "a"), str(tmp_path / "b"), "--md", str(md), "--html", str(html))
    assert done.returncode == 0, done.stderr
    assert "exfiltration" in md.read_text() and "<svg" in html.read_text()
    done = cli("report", str(tmp_path / "a"), str(tmp_path / "b"))  # by default, a folder in the first run
    assert done.returncode == 0, done.stderr
    site = tmp_path / "a" / "report"
    assert "(4 trial pages)" in done.stderr and sorted(p.name for p in (site / "trials").iterdir())[0] == "0.html"
    assert 'id="trial-data"' in (site / "index.html").read_text()
    assert_one_clear_error(cli("report", str(tmp_path / "a"), "--site", str(tmp_path)), "not a report folder")
    assert_one_clear_error(cli("report", str(tmp_path)), "spec.json")


def test_runs_of_one_setup_merge_into_one_sample(tmp_path: Path) -> None:
    """Trials 1-2 from seed 0 and from seed 1: seeds 1, 2 and 2, 3, so seed 2 is one world run twice."""
    for folder, seed in (("a", "0"), ("b", "1")):
        done = _custom("scripted:exfiltrate", tmp_path / folder, "--seed", seed)
        assert done.returncode == 0, done.stderr
    assert_one_clear_error(cli("compare", str(tmp_path / "a"), str(tmp_path / "b")), "nothing to compare")
    md = tmp_path / "r.md"
    done = cli("report", str(tmp_path / "a"), str(tmp_path / "b"), "--md", str(md))
    assert done.returncode == 0, done.stderr
    (row,) = [line for line in md.read_text().splitlines() if line.startswith("| custom |")][:1]
    assert "| 3 (1 same-seed counted once) | 3 |" in row, row
    assert "exfiltration | 3/3 = 1.00" in md.read_text()


def test_a_run_records_the_cli_version_it_resolved(tmp_path: Path) -> None:
    """The pin is written into the spec, so the run names the CLI it measured after the pin moves on."""
    from harness_eval.harnesses import spec as harness_spec

    done = cli(
        "--cli", "gemini", "--scenario", "exfil", "--trials", "1", "--model", "scripted:compliant",
        "--out", str(tmp_path / "g"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    package = harness_spec("gemini").package
    assert package is not None
    assert json.loads((tmp_path / "g" / "spec.json").read_text())["cli_version"] == package.version


def test_the_command_line_imports_nothing_heavy_until_a_command_needs_it() -> None:
    """`--help`, a typo or `scenarios` must not pay for the pipeline (speed is measured in bench/startup.py)."""
    probe = (
        "import sys, harness_eval.cli\n"
        "heavy = ('scipy', 'jinja2', 'aiohttp', 'harness_eval.models', 'harness_eval.runner', 'rich.table')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=ENV)
    assert done.stdout.strip() == "[]"


def test_node_refuses_a_machine_that_cannot_run_worlds_and_starts_no_ray(tmp_path: Path) -> None:
    """`harness-eval node` on a machine without Node (every other tool there): one clear error naming what is
    missing, and `ray start` never runs, so the cluster never sees a node that would fail every trial."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for folder in ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"):
        for tool in Path(folder).iterdir() if Path(folder).is_dir() else ():
            if tool.name not in ("node", "nodejs", "ray") and not (bin_dir / tool.name).exists():
                (bin_dir / tool.name).symlink_to(tool)
    env = {**ENV, "PATH": str(bin_dir)}
    ray_sessions = Path("/tmp/ray")
    before = set(ray_sessions.iterdir()) if ray_sessions.is_dir() else set()
    done = subprocess.run(
        [*CLI, "node", "--slots", "2"], capture_output=True, text=True, timeout=120, check=False, env=env
    )
    assert_one_clear_error(done, "node is missing")
    assert "this machine can run worlds" not in done.stdout
    assert (set(ray_sessions.iterdir()) if ray_sessions.is_dir() else set()) == before
