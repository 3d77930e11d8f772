"""A world's share of the machine: a cap on its processes and its memory, by control group, and what it hit.

Every process of a world starts in the world's groups (the sandbox launcher joins them before it execs bwrap, and
children stay where they are born), so a fork bomb or a memory hog in the agent's box or on a server stops at the
world's limits and the machine goes on. Disk is capped separately, by each node's tmpfs.

Both cgroup layouts are handled: v2 (one hierarchy, controllers enabled by the parent) and v1 (a hierarchy per
controller, as on this kind of machine). Groups are made under the one harness-eval itself runs in, so a limit
set around harness-eval (a CI job's) still holds. A machine that offers neither controller gets no groups, and
`problems` says so for `doctor`.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

_ROOT = Path("/sys/fs/cgroup")


def _own_groups() -> dict[str, str]:
    """Controller (or "" for v2) -> this process's group path, from /proc/self/cgroup."""
    groups = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            groups[controller] = path
    return groups


def _directories() -> dict[str, Path]:
    """Where this process's pids and memory groups live: {"pids": dir, "memory": dir} (the same dir for v2)."""
    groups = _own_groups()
    found = {}
    if (_ROOT / "cgroup.controllers").is_file():  # v2 mounted at the root
        base = _ROOT / groups.get("", "/").lstrip("/")
        enabled = (base / "cgroup.subtree_control").read_text().split() if base.is_dir() else []
        found = {c: base for c in ("pids", "memory") if c in enabled}
    else:
        for controller in ("pids", "memory"):
            base = _ROOT / controller / groups.get(controller, "/").lstrip("/")
            if (base / "cgroup.procs").is_file():
                found[controller] = base
    return found


def problems() -> list[str]:
    missing = [c for c in ("pids", "memory") if c not in _directories()]
    return [f"no {c} control group to bound a world's {c}" for c in missing]


class Limits:
    """The groups of one world; `join_files` are what its launcher writes its pid to."""

    def __init__(self, pids: int, memory_bytes: int) -> None:
        self.pids, self.memory_bytes = pids, memory_bytes
        name = f"harness-eval-{uuid.uuid4().hex[:12]}"
        self._groups = {c: base / name for c, base in _directories().items()}

    def create(self) -> None:
        for group in set(self._groups.values()):
            group.mkdir()
        v2 = (_ROOT / "cgroup.controllers").is_file()
        if "pids" in self._groups:
            (self._groups["pids"] / "pids.max").write_text(f"{self.pids}\n")
        if "memory" in self._groups:
            limit = "memory.max" if v2 else "memory.limit_in_bytes"
            (self._groups["memory"] / limit).write_text(f"{self.memory_bytes}\n")

    def visible(self) -> list[tuple[Path, str]]:
        """(file, path inside) of each limit, for read-only binds: a process in the world can read its bounds
        where a container's would be (cgroup v2 names, whichever layout the machine has)."""
        v2 = (_ROOT / "cgroup.controllers").is_file()
        files = []
        if "pids" in self._groups:
            files.append((self._groups["pids"] / "pids.max", "/sys/fs/cgroup/pids.max"))
        if "memory" in self._groups:
            source = "memory.max" if v2 else "memory.limit_in_bytes"
            files.append((self._groups["memory"] / source, "/sys/fs/cgroup/memory.max"))
        return files

    @property
    def join_files(self) -> list[Path]:
        return [group / "cgroup.procs" for group in sorted(set(self._groups.values()))]

    def hit(self) -> list[str]:
        """Which limits the world ran into, in words, for the trial's record."""
        found = []
        if "pids" in self._groups:
            events = _keyed(self._groups["pids"] / "pids.events")
            if events.get("max", 0):
                found.append(f"process limit of {self.pids} reached ({events['max']} forks refused)")
        if "memory" in self._groups:
            group = self._groups["memory"]
            events = _keyed(group / "memory.events") or _keyed(group / "memory.oom_control")
            if events.get("oom_kill", 0) or events.get("max", 0):
                found.append(
                    f"memory limit of {self.memory_bytes} bytes reached ({events.get('oom_kill', 0)} killed)"
                )
        return found

    def remove(self) -> None:
        """Delete the groups; call once no process is left in them."""
        for group in set(self._groups.values()):
            with contextlib.suppress(OSError):
                os.rmdir(group)


def _keyed(path: Path) -> dict[str, int]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    pairs = (line.split() for line in lines)
    return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].isdigit()}
