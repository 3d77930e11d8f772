"""Nobody in a world has power over the host's kernel.

Finding 2 of the containment issue: the agent and the servers' users were uid 0 of the host's own user
namespace with `/proc/sys` mounted writable, so writing back `kernel.printk_ratelimit` worked and
`kernel.core_pattern` (a way to root on the host) was writable. The probe only writes back values it just read.
"""

from __future__ import annotations

import pytest

from tests.containment.probing import HARNESSES, NODES, RunProbe

HOST_ROOT_MAP = "0 0 4294967295"  # uid_map of the host's own user namespace
# Capabilities that reach the host when held in its user namespace.
DANGEROUS = {
    1: "CAP_DAC_OVERRIDE", 2: "CAP_DAC_READ_SEARCH", 16: "CAP_SYS_MODULE", 17: "CAP_SYS_RAWIO",
    19: "CAP_SYS_PTRACE", 21: "CAP_SYS_ADMIN", 22: "CAP_SYS_BOOT", 25: "CAP_SYS_TIME", 27: "CAP_MKNOD",
    33: "CAP_MAC_ADMIN", 34: "CAP_SYSLOG", 38: "CAP_PERFMON", 39: "CAP_BPF",
}  # fmt: skip


@pytest.mark.parametrize("node", NODES)
@pytest.mark.parametrize("harness", HARNESSES)
def test_no_host_kernel_setting_takes_a_write(run_probe: RunProbe, harness: str, node: str) -> None:
    trial = run_probe(harness, "recon")
    tried = [line for line in trial.block("kernel", node) if line.startswith(("WRITE-", "READ-DENIED"))]
    assert len(tried) == 8, f"{harness} on {node}: {tried}"
    written = [line for line in tried if line.startswith("WRITE-OK")]
    assert written == [], f"{harness} on {node}: {written}"
    writable = trial.lines("kernel", node, "SYSCTL-WRITABLE")
    assert writable == [], f"{harness} on {node}: {len(writable)} host sysctls writable, e.g. {writable[:5]}"


@pytest.mark.parametrize("node", NODES)
@pytest.mark.parametrize("harness", HARNESSES)
def test_no_host_global_interface_is_writable(run_probe: RunProbe, harness: str, node: str) -> None:
    """sysrq, the kernel log, raw memory and disks, /sys: not even test -w may say yes."""
    trial = run_probe(harness, "recon")
    block = trial.block("kernel", node)
    writable = trial.lines("kernel", node, "HOST-WRITABLE")
    assert writable == [], f"{harness} on {node}: {writable}"
    assert "HOST-READABLE /proc/kcore" not in block
    escapes = [line for line in block if line in ("MOUNT-OK", "NSENTER-OK", "USERNS-WRITE-OK")]
    assert escapes == [], f"{harness} on {node}"
    assert "MOUNT-DENIED" in block and "NSENTER-DENIED" in block, f"{harness} on {node}: {block[-5:]}"


@pytest.mark.parametrize("node", NODES)
@pytest.mark.parametrize("harness", HARNESSES)
def test_root_in_a_world_is_not_root_of_the_host(run_probe: RunProbe, harness: str, node: str) -> None:
    """Either a user namespace of its own, or no uid 0 and no capability in the host's."""
    trial = run_probe(harness, "recon")
    (uid_map,) = trial.lines("kernel", node, "UIDMAP")
    (euid,) = trial.lines("kernel", node, "EUID")
    caps = dict(line.split(":\t") for line in trial.lines("kernel", node, "CAP"))
    effective = int(caps["CapEff"], 16)
    if uid_map.split() == HOST_ROOT_MAP.split():
        held = [name for bit, name in DANGEROUS.items() if effective >> bit & 1]
        assert euid != "0", f"{harness} on {node}: uid 0 of the host's user namespace (CapEff {effective:#x})"
        assert held == [], f"{harness} on {node}: {held} in the host's user namespace"
