"""Fixtures for the containment probes (see probing.py): one real trial per harness and attack, shared."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.containment.probing import HOST_VARIABLE, REPO, SECRETS, TRIALS, RunProbe, Trial


@pytest.fixture(scope="session")
def run_probe(tmp_path_factory: pytest.TempPathFactory) -> RunProbe:
    """Run probe trial NAME through HARNESS with the real CLI, once per session, and return its outputs."""
    cache: dict[tuple[str, str], Trial] = {}
    env = {**os.environ, **SECRETS, HOST_VARIABLE: "host-only"}

    def run(harness: str, name: str) -> Trial:
        if (harness, name) not in cache:
            base = tmp_path_factory.mktemp(f"{harness}-{name}")
            policy = base / f"probe-{name}.yaml"
            policy.write_text(yaml.safe_dump(TRIALS[name], sort_keys=False, width=200))
            out = base / "run"
            done = subprocess.run(
                [sys.executable, "-m", "harness_eval.cli", "--cli", harness, "--scenario", "exfil",
                 "--trials", "1", "--model", f"scripted:{policy}", "--out", str(out)],
                capture_output=True, text=True, cwd=REPO, env=env, timeout=600, check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            folder = out / "trials" / "1"
            cache[(harness, name)] = Trial(
                harness=harness,
                out=out,
                folder=folder,
                verdict=json.loads((folder / "verdict.json").read_text()),
                events=[json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines() if line],
                transcript=json.loads((folder / "transcript.json").read_text()),
                stdout=(folder / "stdout.txt").read_text(errors="replace"),
                stderr=(folder / "stderr.txt").read_text(errors="replace"),
                exchanges=[
                    json.loads(line) for line in (folder / "model_log.jsonl").read_text().splitlines() if line
                ],
                cli_output=done.stdout + done.stderr,
            )
        return cache[(harness, name)]

    return run


@pytest.fixture(scope="session")
def host_paths(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Paths of this machine that only harness-eval's side knows: none may be named inside a world."""
    return [
        str(REPO),
        str(tmp_path_factory.getbasetemp()),
        str(Path.home() / ".cache"),
        str(Path(sys.prefix)),
        "/tmp/pytest-of-",
    ]
