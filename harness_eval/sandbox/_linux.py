"""The kernel calls Python 3.11 lacks (setns, mount, umount2), kept behind small helpers.

A network namespace is entered with setns(2), which changes only the calling thread; so every use runs on a fresh
thread that ends right after, and no other code of the harness can ever find itself inside a trial's network.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_CLONE_NEWNET = 0x40000000
_MNT_DETACH = 2
_MS_NOSUID, _MS_NODEV = 2, 4
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def in_netns(netns: Path, fn: Callable[[], T]) -> T:
    """Run `fn` on a throw-away thread inside the network namespace pinned at `netns` and return its result."""
    outcome: dict[str, T | BaseException] = {}

    def target() -> None:
        try:
            fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                _check(_libc.setns(fd, _CLONE_NEWNET), f"setns({netns})")
            finally:
                os.close(fd)
            outcome["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"netns:{netns.name}")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def detach_mount(path: Path) -> None:
    """Lazily unmount `path` (a namespace pin): the namespace dies once nothing else holds it."""
    _check(_libc.umount2(os.fsencode(path), _MNT_DETACH), f"umount({path})")


def mount_tmpfs(path: Path, size: int, source: str = "tmpfs") -> None:
    """Mount a fresh tmpfs of at most `size` bytes on `path` (no device files, no set-uid programs on it).

    `source` is what the mount table and `df` name as its device: free text for a tmpfs."""
    options = f"size={size},mode=0755".encode()
    flags = _MS_NOSUID | _MS_NODEV
    _check(_libc.mount(source.encode(), os.fsencode(path), b"tmpfs", flags, options), f"mount({path})")
