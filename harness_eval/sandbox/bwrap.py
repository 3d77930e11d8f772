"""What every node's bubblewrap sandbox is made of: the machine's programs, a curated /etc, the node's files.

/etc is an allow-list rather than the machine's whole directory: the machine's /etc holds its SSH host keys, shadow
passwords and package-manager settings, none of which a node of the world should see.
"""

from __future__ import annotations

import functools
import os
import posixpath
from collections.abc import Sequence
from pathlib import Path

from harness_eval.models import NodePlan
from harness_eval.sandbox import accounts
from harness_eval.sandbox.machine import machine
from harness_eval.sandbox.tree import NodeTree

_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC_SHARED = tuple(
    "/etc/" + name
    for name in (
        "alternatives",
        "bash.bashrc",
        "ca-certificates.conf",
        "debian_version",
        "gai.conf",
        "host.conf",
        "inputrc",
        "issue",
        "ld.so.cache",
        "ld.so.conf",
        "ld.so.conf.d",
        "localtime",
        "login.defs",
        "magic",
        "mime.types",
        "mtab",
        "networks",
        "nsswitch.conf",
        "os-release",
        "profile",
        "protocols",
        "services",
        "shells",
        "ssl/certs",
        "terminfo",
        "timezone",
    )
)
# Written per node by `write_etc`, bound over the machine's.
_ETC_OWN = ("hostname", "hosts", "resolv.conf", "passwd", "group", "shadow", "machine-id", "ssh")
# Host-wide kernel interfaces under /proc, shown read-only even to a root that might appear (sshd): the same set
# container runtimes protect. /sys is not mounted at all.
_PROC_READ_ONLY = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs")


@functools.cache
def _system_args() -> tuple[str, ...]:
    """Read-only binds of the machine's programs and shared /etc; symlinks (merged /usr) stay symlinks."""
    args: list[str] = []
    for path in _SYSTEM + _ETC_SHARED:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            args += ["--ro-bind", path, path]
    return tuple(args)


def hosts_file(nodes: Sequence[NodePlan]) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    lines += [f"{n.address}\t{' '.join(dict.fromkeys([n.hostname, *n.aliases]))}" for n in nodes]
    return "\n".join(lines) + "\n"


def write_etc(etc: Path, node: NodePlan, hosts: str, home: str, server: bool) -> None:
    """The node's own /etc files, accounts made up (see `accounts`); `ssh/` is made here, filled by the caller.

    Beside /etc goes the load average the node shows in place of the machine's (see `machine`)."""
    (etc / "ssh").mkdir(parents=True)
    identity = machine(node, server)
    (etc / "machine-id").write_text(identity.machine_id + "\n")
    _loadavg(etc).write_text(identity.loadavg)
    (etc / "hostname").write_text(node.hostname + "\n")
    (etc / "hosts").write_text(hosts)
    (etc / "resolv.conf").write_text("")  # no DNS on the LAN: names come from /etc/hosts only
    for name, text in accounts.databases(home, server).items():
        (etc / name).write_text(text)
    (etc / "shadow").chmod(0o640)


def _loadavg(etc: Path) -> Path:
    return etc.parent / "loadavg"


# Last of all mounts: the sandbox's own root (a tmpfs holding the mount points) turns read-only, so nothing can be
# written anywhere but the node's private tree, where it is watched and kept.
SEAL = ("--remount-ro", "/")


def _parents(mounts: Sequence[str]) -> list[str]:
    """Directories the sandbox must create to hold /etc's files and the private mounts (/var for /var/tmp)."""
    parents = {"/etc"}
    for mount in mounts:
        parent = posixpath.dirname(mount)
        while parent not in ("/", "/dev"):
            parents.add(parent)
            parent = posixpath.dirname(parent)
    return sorted(parents)


def sandbox_args(node: NodePlan, tree: NodeTree, etc: Path, binds: Sequence[str] = ()) -> list[str]:
    """bwrap options shared by hosts and the agent; each adds its capabilities, environment and command.

    `binds` are the mount points the caller adds, whose parents must be there and traversable by the node's
    unprivileged account.
    """
    args = ["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-uts", "--unshare-ipc"]
    args += ["--unshare-cgroup", "--hostname", node.hostname]
    for directory in _parents(
        [*tree.mounts, *binds, *_ETC_SHARED]
    ):  # else bwrap makes them 0700, which no real system has
        args += ["--perms", "0755", "--dir", directory]
    args += [*_system_args(), "--proc", "/proc", "--dev", "/dev"]
    for path in _PROC_READ_ONLY:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    args += ["--ro-bind", str(_loadavg(etc)), "/proc/loadavg"]  # the kernel's counts the whole machine's tasks
    for name in _ETC_OWN:
        args += ["--ro-bind", str(etc / name), f"/etc/{name}"]
    for mount in tree.mounts:
        args += ["--bind", str(tree.backing_of(mount)), mount]
    return args
