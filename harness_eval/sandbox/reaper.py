"""Worlds left behind by a harness-eval that died hard (kill -9, a crash, a reboot), found and removed.

Its sandboxes die with it (they die with their parent), but not its mounts (namespace pins) nor its trees. Each
world directory holds an owner record naming the process that built it by pid, boot and start time, which together
no later process can share; a world whose owner is not that same live process is stale. A directory without a
record is never touched: the worlds directory may be shared with other tools (/var/lib/machines is systemd's).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from harness_eval.sandbox.network import release_pins
from harness_eval.sandbox.owners import start_time

OWNER_FILE = ".owner"
WORLDS_DIR = "/var/lib/machines"  # the conventional home of local containers' trees
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def worlds_dir() -> Path:
    """Where worlds live: $HARNESS_EVAL_WORLDS, else /var/lib/machines."""
    return Path(os.environ.get("HARNESS_EVAL_WORLDS", WORLDS_DIR))


def _me() -> dict[str, object]:
    return {"pid": os.getpid(), "boot": _BOOT_ID.read_text().strip(), "start": start_time(os.getpid())}


def claim(directory: Path) -> None:
    """Record this process as the owner of `directory` (a world's, or the folder a caller keeps worlds in)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / OWNER_FILE).write_text(json.dumps(_me()) + "\n")


def _alive(record: Path) -> bool:
    """Whether the process that wrote `record` still runs; an unreadable record counts as alive (leave it)."""
    try:
        owner = json.loads(record.read_text())
        pid, boot, started = int(owner["pid"]), str(owner["boot"]), owner["start"]
    except (OSError, ValueError, KeyError, TypeError):
        return True
    return boot == _BOOT_ID.read_text().strip() and start_time(pid) == started


def reap_stale_worlds(base: Path | None = None) -> list[Path]:
    """Remove every world under `base` (default `worlds_dir()`) whose owner is dead; return what was removed.

    A world is a direct entry of `base` holding an owner record itself or one level down (the runner keeps a
    world's tree at `<entry>/m` beside the files it binds into it). Its mounts are released before the tree goes.
    """
    base = base or worlds_dir()
    removed: list[Path] = []
    if not base.is_dir():
        return removed
    for entry in sorted(base.iterdir()):
        if not entry.is_dir() or entry.is_symlink():
            continue
        records = [entry / OWNER_FILE, *entry.glob(f"*/{OWNER_FILE}")]
        records = [r for r in records if r.is_file()]
        if not records or any(_alive(r) for r in records):
            continue
        release_pins(entry)
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed
