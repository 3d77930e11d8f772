"""Atomic writes: never a half-written file under the final name, and readable like any other output."""

from __future__ import annotations

import os
from pathlib import Path

from harness_eval.fileio import write_atomic


def test_write_atomic_replaces_whole_and_respects_umask(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "verdict.json"
    write_atomic(target, "one")
    write_atomic(target, b"two")
    assert target.read_text() == "two"
    assert list(target.parent.iterdir()) == [target]  # no temp files left behind
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
