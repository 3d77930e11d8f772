"""Worlds of a harness-eval killed with SIGKILL are found and removed by the next one; live ones never."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness_eval.sandbox import World, claim, reap_stale_worlds

from .conftest import make_plan

CRASHING_HARNESS = """
import os, sys
from pathlib import Path
from harness_eval.sandbox import World
from tests.sandbox.conftest import make_plan
World(make_plan(), Path(sys.argv[1])).start()
os.kill(os.getpid(), 9)
"""


def test_a_killed_harness_world_is_reaped_and_a_live_one_kept(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    base = tmp_path / "worlds"
    dead = base / "abc123" / "m"  # laid out as the runner does: <entry>/m beside the staged binds
    done = subprocess.run([sys.executable, "-c", CRASHING_HARNESS, str(dead)], cwd=repo, capture_output=True)
    assert done.returncode == -9, done.stderr
    assert str(dead) in Path("/proc/self/mountinfo").read_text()  # namespace pins outlive their harness
    (base / "other-tool").mkdir()  # no owner record: not ours, never touched
    with World(make_plan(), base / "live" / "m"):
        claimed = base / "claimed"
        claim(claimed)
        assert reap_stale_worlds(base) == [base / "abc123"]
        assert sorted(p.name for p in base.iterdir()) == ["claimed", "live", "other-tool"]
    assert str(dead) not in Path("/proc/self/mountinfo").read_text()
    assert reap_stale_worlds(base) == []  # a closed world of a live process is still its own
    assert reap_stale_worlds(tmp_path / "missing") == []
