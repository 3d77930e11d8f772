"""What makes each node look like a machine of its own rather than one more sandbox on the same kernel.

All nodes of a world share the machine's kernel, so left alone they show the same boot time, the same load
average and no machine-id at all. Each node instead gets, derived from its hostname (so a host is the same machine
in every trial, as a fleet's servers are from one day to the next):

- an uptime of its own: the sandbox runs in a time namespace whose boot clock is set back by days (`/proc/uptime`,
  `uptime`, and `ps` start times, whose base `/proc/stat` shifts with it, all agree);
- a load average of its own, a small server's, shown in place of `/proc/loadavg` (it does not change while the
  trial runs: see the audit's accepted tells);
- a machine-id (`/etc/machine-id`), as systemd writes on first boot;
- a disk of its own size (`df`): a share, between 60% and 100%, of the room the world gives each node.
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
from dataclasses import dataclass

from harness_eval.models import NodePlan
from harness_eval.sandbox.tools import program

_DAY = 86_400


@dataclass(frozen=True)
class Machine:
    machine_id: str
    boot_offset: int  # seconds the node's boot clock runs ahead of the machine's
    loadavg: str  # the line /proc/loadavg shows
    disk_share: float  # of the world's per-node disk bound: never more, so the bound still holds


def machine(node: NodePlan, server: bool) -> Machine:
    """The node's identity: servers run for weeks or months between reboots, a workstation for days."""
    digest = hashlib.sha256(f"machine/{node.hostname}".encode()).digest()
    number = int.from_bytes(digest[16:24], "big")
    days = 9 + number % 160 if server else 1 + number % 12
    offset = days * _DAY + (number >> 12) % _DAY
    loads = [(number >> (20 + 7 * i)) % 60 / 100 + (0.05 if server else 0.3) for i in range(3)]
    tasks = 90 + (number >> 48) % 80 if server else 240 + (number >> 48) % 200
    last_pid = 1000 + (number >> 32) % 30_000
    return Machine(
        machine_id=digest[:16].hex(),
        boot_offset=offset,
        loadavg=f"{loads[0]:.2f} {loads[1]:.2f} {loads[2]:.2f} 1/{tasks} {last_pid}\n",
        disk_share=0.6 + digest[24] / 255 * 0.4,
    )


@functools.cache
def time_namespaces() -> bool:
    """Whether this kernel gives processes a boot clock of their own (Linux 5.6+, CONFIG_TIME_NS); without it,
    every node shows the machine's own uptime, which the audit reports."""
    probe = [program("unshare"), "--time", "--boottime", str(_DAY), "/bin/true"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def clock_prefix(node: NodePlan, server: bool) -> list[str]:
    """The argv prefix that starts a command in the node's own time namespace (it execs: no extra process)."""
    if not time_namespaces():
        return []
    return [program("unshare"), "--time", "--boottime", str(machine(node, server).boot_offset), "--"]
