"""A world's private LAN: a network namespace per node, each linked by a veth pair to one bridge.

Namespaces are pinned to files in the world directory rather than named under /run/netns, so worlds with identical
addresses and interface names coexist, and nothing global needs a unique name. No node has a default route: any
address outside the LAN fails at once instead of timing out.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from harness_eval.errors import HarnessEvalError
from harness_eval.models import NodePlan
from harness_eval.sandbox import _linux
from harness_eval.sandbox.tools import program, run

_PREFIX = 24
_SWITCH = ".switch"  # not a valid node name, so it cannot clash with one
_NODE_TCP_BUCKETS = 1024  # each node's own TCP connection hash (see _own_tables)


def check_addresses(nodes: Sequence[NodePlan]) -> None:
    """Every node must be on one /24 LAN (there is no router) and no two may share an address."""
    try:
        addresses = [ipaddress.IPv4Address(node.address) for node in nodes]
    except ipaddress.AddressValueError as exc:
        raise HarnessEvalError(f"world plan has a bad node address: {exc}") from exc
    if len(set(addresses)) != len(addresses):
        raise HarnessEvalError(f"world plan gives two nodes the same address: {[n.address for n in nodes]}")
    lan = ipaddress.IPv4Network(f"{addresses[0]}/{_PREFIX}", strict=False)
    outside = [str(a) for a in addresses if a not in lan]
    if outside:
        raise HarnessEvalError(f"world plan addresses {outside} are not on the LAN {lan} of {addresses[0]}")


class Network:
    """The namespaces and links of one world; `destroy` only unpins them, the kernel then frees everything."""

    def __init__(self, directory: Path, nodes: Sequence[NodePlan]) -> None:
        self.directory = directory
        self.nodes = list(nodes)
        check_addresses(self.nodes)

    def pin(self, node: str) -> Path:
        """The file the node's network namespace is bind-mounted on (give it to nsenter --net= or setns)."""
        return self.directory / node

    def create(self) -> None:
        self.directory.mkdir(parents=True)
        switch = self.pin(_SWITCH)
        self._unshare([switch], [])
        _linux.in_netns(switch, _own_tables)
        # Created from the switch's namespace, so each node gets the small TCP table of its own set just above.
        self._unshare([self.pin(n.name) for n in self.nodes], [program("nsenter"), f"--net={switch}", "--"])
        self._wire_switch()
        for node in self.nodes:
            lan = ipaddress.IPv4Network(f"{node.address}/{_PREFIX}", strict=False)
            # quickack: without it, delayed ACKs stall each SSH handshake twice, ~100 ms per connection
            route = f"route replace {lan} dev eth0 proto kernel scope link src {node.address} quickack 1"
            self._ip(
                node.name,
                ["link set lo up", f"addr add {node.address}/{_PREFIX} dev eth0", "link set eth0 up", route],
            )

    @staticmethod
    def _unshare(pins: list[Path], prefix: list[str]) -> None:
        """A new network namespace pinned on each of `pins`, created by `unshare` run after `prefix`."""
        for pin in pins:
            pin.touch()
        argv = [*prefix, program("unshare")]
        creators = [
            subprocess.Popen([*argv, f"--net={pin}", "true"], stderr=subprocess.PIPE, text=True) for pin in pins
        ]
        failures = [p.communicate()[1].strip() for p in creators if p.wait() != 0]
        if failures:
            raise HarnessEvalError(f"cannot create a network namespace: {failures[0]}")

    def _wire_switch(self) -> None:
        """Create each node's veth pair from the switch side, pushing the eth0 end straight into the node.

        The node namespaces reach `ip` as inherited file descriptors, so no namespace ever needs a global name and
        the link names never appear in the machine's own namespace.
        """
        fds = [os.open(self.pin(n.name), os.O_RDONLY) for n in self.nodes]
        try:
            commands = ["link set lo up", "link add br0 type bridge", "link set br0 up"]
            for index, fd in enumerate(fds):
                commands.append(f"link add p{index} type veth peer name eth0 netns /proc/self/fd/{fd}")
                commands.append(f"link set p{index} master br0 up")
            self._ip(_SWITCH, commands, pass_fds=fds)
        finally:
            for fd in fds:
                os.close(fd)

    def _ip(self, node: str, commands: list[str], pass_fds: Sequence[int] = ()) -> None:
        argv = [program("nsenter"), f"--net={self.pin(node)}", "--", program("ip"), "-batch", "-"]
        run(argv, f"network setup of {node!r}", stdin="\n".join(commands) + "\n", pass_fds=pass_fds)

    def inodes(self) -> dict[int, str]:
        """Namespace inode -> node name: the same number /proc/PID/ns/net shows for a process inside it."""
        return {self.pin(n.name).stat().st_ino: n.name for n in self.nodes}

    def destroy(self) -> None:
        """Unpin every namespace that was pinned; links and bridge vanish with the last reference to them."""
        if not self.directory.exists():
            return
        release_pins(self.directory)
        for pin in self.directory.iterdir():
            pin.unlink()
        self.directory.rmdir()


def _own_tables() -> None:
    """Make network namespaces created from this thread's namespace get a TCP hash table of their own.

    By default every namespace shares the machine's (here 262,144 buckets), and reading a node's /proc/net/tcp,
    as the process monitor does twice a second per node, walks all of it: with 16 trials at once that walk was
    a quarter of the machine's CPU. A node holds a few dozen connections; a table of its own makes the read
    cheap. Kernels before 6.1 have no such setting, and their namespaces keep sharing."""
    with contextlib.suppress(FileNotFoundError):
        Path("/proc/sys/net/ipv4/tcp_child_ehash_entries").write_text(f"{_NODE_TCP_BUCKETS}\n")


def release_pins(directory: Path) -> None:
    """Unmount whatever is mounted under `directory` (namespace pins), also what a killed harness left behind.

    A harness that dies takes its sandboxes with it (they die with their parent) but not its mounts, and a
    directory holding a mount point cannot be deleted: call this before removing an interrupted trial's folder.
    """
    prefix = str(directory.resolve()) + "/"
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])  # \040 is a space
        if point.startswith(prefix):
            _linux.detach_mount(Path(point))
