"""The leftover-process check that many end-to-end tests lean on must be able to fail."""

from __future__ import annotations

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
