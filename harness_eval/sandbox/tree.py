"""A node's private filesystem: which of the paths it sees are its own, and where they live on the machine.

Everything else a node sees (/usr, a few /etc files, the sandbox's own root) is read-only, so it can be neither
changed by the agent nor seeded by a scenario: a write outside the private mounts fails loudly instead of landing
somewhere unwatched. The private part is a plain directory tree, kept after the world closes as evidence.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from harness_eval.errors import HarnessEvalError
from harness_eval.models import NodePlan

# Top-level directories that come from the machine (or the sandbox itself) and are never a node's own.
_SHARED = frozenset({"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "proc", "dev", "sys", "boot"})
# Under a machine directory, yet a place to leave files like /tmp, so it is private (and watched) like /tmp.
_PRIVATE_EXCEPTIONS = ("/dev/shm",)
# Mount points whose permissions a real system has and tools check (sshd's StrictModes, mktemp's sticky bit).
_MODES = {"/tmp": 0o1777, "/var/tmp": 0o1777, "/dev/shm": 0o1777, "/root": 0o700}


@dataclass(frozen=True)
class Root:
    """A tree an agent can change: watched while it runs and snapshotted after."""

    node: str
    backing: Path
    view: str


def view_path(path: str) -> str:
    """Normalize a path as a node sees it; relative paths have no meaning without a cwd, so they are refused."""
    if not path.startswith("/"):
        raise HarnessEvalError(f"node paths must be absolute: {path!r}")
    return "/" + posixpath.normpath(path).lstrip("/")


def _within(path: str, directory: str) -> bool:
    return directory == "/" or path == directory or path.startswith(directory + "/")


class NodeTree:
    """The private mounts of one node, each backed by `<backing>/<view path>`."""

    def __init__(self, node: NodePlan, backing: Path, defaults: Iterable[str]) -> None:
        self.node = node
        self.backing = backing
        wanted = [view_path(p) for p in defaults]
        for path in [f.path for f in node.files] + node.dirs:
            path = view_path(path)
            if not any(_within(path, m) for m in wanted):
                wanted.append("/" + path.split("/")[1])
        shared = [
            m
            for m in wanted
            if m == "/" or (m.split("/")[1] in _SHARED and not any(_within(m, e) for e in _PRIVATE_EXCEPTIONS))
        ]
        if shared:
            raise HarnessEvalError(
                f"node {node.name!r} cannot own {shared[0]}: it is the machine's, shared read-only with every node"
            )
        self.mounts = sorted(m for m in set(wanted) if not any(m != o and _within(m, o) for o in wanted))
        self._directories = sorted(set(wanted))  # a default inside another mount (a workspace in HOME) too

    def owns(self, path: str) -> bool:
        return any(_within(path, m) for m in self.mounts)

    def backing_of(self, path: str) -> Path:
        path = view_path(path)
        if not self.owns(path):
            raise ValueError(f"{path} on {self.node.name!r} is not in its private tree {self.mounts}")
        return self.backing / path.lstrip("/")

    def view_of(self, backing: Path) -> str | None:
        try:
            relative = Path(os.path.normpath(backing)).relative_to(self.backing)
        except ValueError:
            return None
        path = view_path("/" + relative.as_posix())
        return path if self.owns(path) else None

    def make(self, path: str, mode: int | None = None) -> Path:
        """Create a directory the node owns, with the permissions a real system gives it."""
        directory = self.backing_of(path)
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(mode if mode is not None else _MODES.get(view_path(path), 0o755))
        return directory

    def create_mounts(self) -> None:
        """bwrap needs every mount point's backing directory to exist; so does a working directory."""
        for directory in self._directories:
            self.make(directory)

    def seed(self) -> None:
        """Place the scenario's directories and files; content first, then the sparse extension, mode and mtime."""
        for path in self.node.dirs:
            self.backing_of(path).mkdir(parents=True, exist_ok=True)
        for seed in self.node.files:
            target = self.backing_of(seed.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(seed.content)
            if seed.apparent_size is not None:
                if seed.apparent_size < len(seed.content):
                    raise HarnessEvalError(
                        f"{seed.path} on {self.node.name!r}: apparent_size {seed.apparent_size} is smaller than"
                        f" its {len(seed.content)} bytes of content"
                    )
                os.truncate(target, seed.apparent_size)  # a hole: looks big, costs nothing
            target.chmod(seed.mode)
            if seed.mtime is not None:
                os.utime(target, (seed.mtime, seed.mtime))

    def give(self, uid: int, gid: int, keep: Collection[str]) -> None:
        """Make everything in the private tree belong to the account `uid:gid`, except the directories in `keep`
        (view paths such as /tmp or /var), which stay root's as on a real system.

        The node's account must be able to change, date and delete what the scenario put there, exactly as the
        owner of those files could; ownership is what lets it, since nothing in a world runs as root.
        """
        for mount in self.mounts:
            top = self.backing_of(mount)
            for directory, dirs, files in os.walk(top):
                view = view_path(mount + "/" + os.path.relpath(directory, top))
                if view not in keep:
                    os.chown(directory, uid, gid, follow_symlinks=False)
                for name in files + [d for d in dirs if os.path.islink(os.path.join(directory, d))]:
                    os.chown(os.path.join(directory, name), uid, gid, follow_symlinks=False)

    def roots(self, whole: bool) -> list[Root]:
        """One root per private mount, or (`whole`) the node's entire backing tree seen as `/`."""
        if whole:
            return [Root(self.node.name, self.backing, "/")]
        return [Root(self.node.name, self.backing_of(m), m) for m in self.mounts]
