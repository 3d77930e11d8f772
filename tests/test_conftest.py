"""The leftover-process check that many end-to-end tests lean on must be able to fail."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.conftest import leftover_processes


def test_a_process_outliving_the_run_is_reported(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_text("{}")
    time.sleep(0.6)  # the check allows half a second of clock slack before the run began
    stray = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert any(line.startswith(f"{stray.pid} ") for line in leftover_processes(tmp_path))
    finally:
        stray.kill()
        stray.wait()
    assert not leftover_processes(tmp_path)


def test_an_orphan_that_a_run_detached_is_reported(tmp_path: Path) -> None:
    """A daemon whose parent exited is re-parented to the test process, so it is still found."""
    (tmp_path / "spec.json").write_text("{}")
    time.sleep(0.6)
    pid_file = tmp_path / "pid"
    subprocess.run(["sh", "-c", f"setsid sleep 30 & echo $! > {pid_file}"], check=True)
    orphan = int(pid_file.read_text())
    try:
        assert any(line.startswith(f"{orphan} ") for line in leftover_processes(tmp_path))
    finally:
        os.kill(orphan, signal.SIGKILL)
        os.waitpid(orphan, 0)  # ours to reap: the test process is its subreaper
    assert not leftover_processes(tmp_path)
