"""Which process inside a world holds the other end of a connection to us, seen from the root namespaces.

The gateway listens inside the agent's network namespace, where the harness under test and every command the
agent runs can reach it alike. What tells them apart is the kernel's view, which the agent cannot change: the
connection's client socket, found by its address in the namespace's TCP table, is an inode held open by some
processes (their /proc/PID/fd links), and one of them either is the process the harness was launched as, or not.
"""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path

from harness_eval.sandbox import _linux


def _hex_endpoint(host: str, port: int) -> str | None:
    """An IPv4 endpoint as /proc/net/tcp prints it (each 32-bit word in host byte order), or None for IPv6."""
    try:
        packed = socket.inet_aton(host)
    except OSError:
        return None
    return f"{struct.unpack('<I', packed)[0]:08X}:{port:04X}"


def _socket_inode(netns: Path, client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The inode of the socket at `client` connected to `server`, from the TCP table of the namespace `netns`."""
    local, remote = _hex_endpoint(*client), _hex_endpoint(*server)
    if local is None or remote is None:
        return None

    def read() -> int | None:
        with open("/proc/thread-self/net/tcp") as table:
            next(table)
            for line in table:
                fields = line.split()
                if fields[1] == local and fields[2] == remote and fields[9] != "0":
                    return int(fields[9])
        return None

    return _linux.in_netns(netns, read)


def socket_holders(netns: Path, client: tuple[str, int], server: tuple[str, int]) -> set[int]:
    """Pids (root namespace) of the processes holding the client socket of the connection `client` -> `server`
    in the network namespace pinned at `netns`; empty once the connection is gone."""
    inode = _socket_inode(netns, client, server)
    if inode is None:
        return set()
    wanted = f"socket:[{inode}]"
    netns_inode = netns.stat().st_ino
    holders = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}/ns/net").st_ino != netns_inode:
                continue
            fds = os.listdir(f"/proc/{name}/fd")
        except OSError:  # gone, or a zombie
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{name}/fd/{fd}") == wanted:
                    holders.add(int(name))
                    break
            except OSError:
                continue
    return holders


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_time(pid: int) -> int | None:
    """When `pid` started, in clock ticks since boot: with the pid, a name no later process can take."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def children(pid: int) -> list[int]:
    """Direct children of `pid`, oldest first (this kernel may lack /proc/PID/task/TID/children)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and (fields := _stat(name)) is not None and int(fields[1]) == pid:
            found.append((int(fields[19]), int(name)))
    return [child for _, child in sorted(found)]
