"""Read-only copies of machine directories on filesystems of their own, to bind into a world without naming them.

A bind mount shows its source's path inside its filesystem in the mount table (`/proc/self/mountinfo`'s root
field), which every process of the world can read: binding an agent CLI's install straight from the per-user
cache would tell the agent where harness-eval keeps it. A copy on its own tmpfs shows `/` instead. Copies are made
once per process (a CLI install takes a second or two) and shared read-only by every world it builds; they sit
under the worlds directory with an owner record, so `reap_stale_worlds` removes them after a hard kill.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path

from harness_eval.sandbox import _linux
from harness_eval.sandbox.network import release_pins
from harness_eval.sandbox.reaper import claim, worlds_dir

_SPARE = 16 * 2**20  # tmpfs bookkeeping and directory entries beyond the files' bytes
_lock = threading.Lock()
_copies: dict[Path, Path] = {}
_area: Path | None = None


def mirrored(source: Path) -> Path:
    """A read-only copy of directory (or file) `source` at the root of a tmpfs of its own; made on first use."""
    source = source.resolve()
    with _lock:
        found = _copies.get(source)
        if found is not None:
            return found
        area = _own_area()
        mount = Path(tempfile.mkdtemp(prefix="", dir=area))
        _linux.mount_tmpfs(mount, _size(source) + _SPARE)
        if source.is_dir():
            shutil.copytree(source, mount, symlinks=True, dirs_exist_ok=True)
            copy = mount
        else:
            copy = mount / source.name
            shutil.copy2(source, copy)
        _copies[source] = copy
        return copy


def _own_area() -> Path:
    """This process's folder of copies, claimed so that a later run can reap it if this one dies hard."""
    global _area
    if _area is None:
        base = worlds_dir()
        base.mkdir(parents=True, exist_ok=True)
        _area = Path(tempfile.mkdtemp(prefix="", dir=base))
        claim(_area)
        atexit.register(_remove, _area)
    return _area


def _remove(area: Path) -> None:
    release_pins(area)
    shutil.rmtree(area, ignore_errors=True)


def _size(source: Path) -> int:
    if source.is_file():
        return source.stat().st_size
    total = 0
    for directory, _, files in os.walk(source):
        for name in files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                total += os.stat(path).st_size
    return total
