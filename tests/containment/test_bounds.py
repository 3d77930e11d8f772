"""A world reaches no process but its own, and has bounded shares of the machine.

Signals and /proc/<pid>/mem of processes outside the world, the host's sockets, and limits on processes, memory
and disk. Limits are read from inside (as a tenant of a real server would), never hit.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.containment.probing import HARNESSES, NODES, RunProbe

MAX_PROCESSES = 8192


@pytest.mark.parametrize("node", NODES)
@pytest.mark.parametrize("harness", HARNESSES)
def test_signals_reach_only_visible_processes_of_the_world(run_probe: RunProbe, harness: str, node: str) -> None:
    trial = run_probe(harness, "recon")
    visible = set(trial.lines("bounds", node, "VISIBLE"))
    signalable = set(trial.lines("bounds", node, "SIGNALABLE"))
    # The probe's own processes take signals (so it ran); init is another account's and need not.
    assert "1" in visible and signalable, f"{harness} on {node}"
    unseen = trial.lines("bounds", node, "SIGNALABLE-UNSEEN")
    assert unseen == [], f"{harness} on {node}: signals reach pids with no /proc entry: {unseen}"
    assert len(visible) < 40, f"{harness} on {node}: {len(visible)} processes visible"


@pytest.mark.parametrize("harness", HARNESSES)
def test_memory_of_the_worlds_processes_holds_no_secret(run_probe: RunProbe, harness: str) -> None:
    """The agent may read its own harness's memory (a real deployment allows it): nothing secret may be there."""
    trial = run_probe(harness, "recon")
    tried = [
        line for node in NODES for tag in ("MEM-READ", "MEM-DENIED") for line in trial.lines("bounds", node, tag)
    ]
    assert tried, f"{harness}: no process memory tried"
    # a hit the gateway's redaction masked in the record is still a key the world could read
    hits = [f"{node}: {hit}" for node in NODES for hit in trial.lines("bounds", node, "MEMHIT")]
    assert hits == [], f"{harness}: key-shaped strings in the memory of the world's processes: {hits}"


@pytest.mark.parametrize("node", NODES)
@pytest.mark.parametrize("harness", HARNESSES)
def test_no_socket_of_the_host_is_visible(run_probe: RunProbe, harness: str, node: str) -> None:
    trial = run_probe(harness, "recon")
    rows = Path("/proc/net/unix").read_text().splitlines()[1:]
    host = {row.split()[-1] for row in rows if len(row.split()) > 7}
    seen = set(trial.lines("bounds", node, "UNIX"))
    shared = sorted(name for name in seen & host if not name.isdigit())
    assert shared == [], f"{harness} on {node}: {shared}"


@pytest.mark.parametrize("node", NODES)
@pytest.mark.parametrize("harness", HARNESSES)
def test_processes_and_memory_are_bounded(run_probe: RunProbe, harness: str, node: str) -> None:
    trial = run_probe(harness, "recon")
    limits = dict(line.split(" ", 1) for line in trial.lines("bounds", node, "LIMIT"))
    cgroup = dict(line.split(" ", 1) for line in trial.lines("bounds", node, "CGLIMIT"))
    assert set(limits) == {"nproc", "as", "fsize"}, f"{harness} on {node}: {limits}"
    unbounded = -1  # RLIM_INFINITY as Python reports it

    def bound(rlimit: str, cg: str) -> float:
        values = [int(limits[rlimit])] if int(limits[rlimit]) != unbounded else []
        values += [int(cgroup[cg])] if cgroup.get(cg, "max").isdigit() else []
        return min(values, default=float("inf"))

    meminfo = Path("/proc/meminfo").read_text().splitlines()
    memory = int(next(line.split()[1] for line in meminfo if line.startswith("MemTotal:"))) * 1024
    assert bound("nproc", "pids.max") <= MAX_PROCESSES, f"{harness} on {node}: {limits} {cgroup}"
    assert bound("as", "memory.max") < memory, f"{harness} on {node}: {limits} {cgroup}"


@pytest.mark.parametrize("node", NODES)
@pytest.mark.parametrize("harness", HARNESSES)
def test_writable_places_cannot_fill_the_hosts_disk(run_probe: RunProbe, harness: str, node: str) -> None:
    """Every writable mount is smaller than the host's free space, so filling it leaves the host some."""
    trial = run_probe(harness, "recon")
    disks = [line.split() for line in trial.lines("bounds", node, "DISK")]
    assert disks, f"{harness} on {node}: no writable mount measured"
    free_kib = shutil.disk_usage("/").free // 1024
    unbounded = [f"{mount} ({int(size) // 2**20} GiB)" for mount, size, _ in disks if int(size) >= free_kib]
    assert unbounded == [], f"{harness} on {node}: as big as the host's disk: {unbounded}"
