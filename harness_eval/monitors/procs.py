"""Process recorder: every process living in one of the world's network namespaces, and its TCP connections.

The shims only see the tools we wrapped; this sees everything the agent (and each host) runs, including a
`python -c` that opens a socket itself. It polls from the root namespace, where `/proc` shows all processes,
and attributes each to a node by the inode of its network namespace, which is the one thing a sandboxed process
cannot change about itself.

Connections are read per namespace from `/proc/PID/net/tcp{,6}`, which shows the table of PID's namespace, so one
read per node and poll covers all of its processes; closed connections linger there in TIME_WAIT for a minute, so
even a short transfer between two polls is usually seen.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psutil

from harness_eval.models import Event, EventSource
from harness_eval.monitors.events import Sink

_LISTEN = "0A"
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
CONNECTION_INTERVAL = 0.5  # seconds between reads of the TCP tables while polling


@dataclass
class _Proc:
    node: str
    argv: list[str]
    started: float  # psutil create_time, to tell a reused pid from an exec
    exe: str | None  # to tell an exec from a process retitling itself (sshd does, in its argv memory)


@dataclass(frozen=True)
class _Socket:
    local: str
    remote: str
    listening: bool
    inode: int


def _address(hex_address: str) -> str:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    # The kernel prints each 32-bit word in host byte order.
    words = b"".join(struct.pack("<I", int.from_bytes(raw[i : i + 4], "big")) for i in range(0, len(raw), 4))
    if len(words) == 4:
        return f"{socket.inet_ntop(socket.AF_INET, words)}:{int(port, 16)}"
    return f"[{socket.inet_ntop(socket.AF_INET6, words)}]:{int(port, 16)}"


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def _tcp_table(netns: int) -> list[_Socket]:
    """The TCP sockets of the network namespace open as fd `netns`, read from inside it.

    Entering the namespace (this thread only) works when no process is left in it, which is exactly when the
    last look matters: the agent has exited, and its closed connections wait in TIME_WAIT.
    """
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    sockets = []
    try:
        _setns(netns)
        try:
            for table in ("tcp", "tcp6"):
                with contextlib.suppress(FileNotFoundError), open(f"/proc/thread-self/net/{table}") as lines:
                    next(lines)
                    for line in lines:
                        fields = line.split()
                        local, remote = _address(fields[1]), _address(fields[2])
                        sockets.append(_Socket(local, remote, fields[3] == _LISTEN, int(fields[9])))
        finally:
            _setns(home)
    finally:
        os.close(home)
    return sockets


def _argv(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return _trimmed([a.decode(errors="backslashreplace") for a in raw.split(b"\0")])


def _trimmed(argv: list[str]) -> list[str]:
    """Without the empty strings a retitled process (sshd) leaves where its longer original argv was."""
    while argv and not argv[-1]:
        argv = argv[:-1]
    return argv


def _exe(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def _nspid(pid: int) -> int | None:
    """pid as the process sees itself, inside its own pid namespace: what the shim log records."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return None


class _Census:
    """Which processes of the machine are in which network namespace, one look shared by all monitors.

    Finding a world's processes means looking at every process of the machine, and each trial's monitor did so
    20 times a second: with 16 trials at once, 16 walks of /proc per poll where one answers them all. A look at
    most one poll interval old serves a monitor's periodic poll; the first and last looks of a trial are fresh."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken = -float("inf")
        self._by_netns: dict[int, list[int]] = {}

    def take(self, max_age: float, fresh: bool) -> dict[int, list[int]]:
        """Network namespace inode -> pids in it, ascending."""
        with self._lock:
            if fresh or time.monotonic() - self._taken >= max_age:
                self._taken = time.monotonic()
                self._by_netns = self._look()
            return self._by_netns

    @staticmethod
    def _look() -> dict[int, list[int]]:
        by_netns: dict[int, list[int]] = {}
        for pid in psutil.pids():
            try:
                inode = os.stat(f"/proc/{pid}/ns/net").st_ino
            except OSError:
                continue
            by_netns.setdefault(inode, []).append(pid)
        return by_netns


_CENSUS = _Census()


class ProcessMonitor:
    """Poll `/proc` and emit `proc` events for processes in the given network namespaces.

    Kinds: `start` (pid, ppid, argv, cwd, exe; `detail["nspid"]` is the pid inside the sandbox); `exec` when a
    known pid runs a new program (a process that only retitles itself just updates the argv of its `exit`);
    `exit` when it is gone (the exit code of a process that is not our child is not knowable); and `connect` /
    `accept` / `listen` for TCP sockets, with `detail["laddr"]` and `detail["raddr"]`. Times are when a poll
    saw the change, so up to `interval` late (`CONNECTION_INTERVAL` for sockets).
    """

    def __init__(self, netns_inodes: dict[int, str], sink: Sink, interval: float = 0.05) -> None:
        self._nodes = dict(netns_inodes)
        self._sink = sink
        self._interval = interval
        self._procs: dict[int, _Proc] = {}
        self._sockets: set[tuple[str, str, str]] = set()  # (node, local, remote) already reported
        self._netns: dict[str, int] = {}  # node -> open fd of its network namespace
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ProcessMonitor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.poll()
        self._thread = threading.Thread(target=self._run, name="process-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling after one last look, so whatever ended just before is recorded."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        for fd in self._netns.values():
            os.close(fd)  # a namespace we hold open would outlive the world
        self._netns.clear()

    def _run(self) -> None:
        # Reading a TCP table walks the kernel's whole connection hash (~3 ms here, whatever the namespace holds),
        # so connections are read less often than processes; TIME_WAIT keeps closed ones visible meanwhile.
        every = max(1, round(CONNECTION_INTERVAL / self._interval))
        polls = 0
        while not self._stop.wait(self._interval):
            polls += 1
            self.poll(connections=polls % every == 0, fresh=False)
        self.poll()

    def _members(self, fresh: bool) -> Iterator[tuple[int, str]]:
        census = _CENSUS.take(self._interval, fresh)
        members = [(pid, node) for inode, node in self._nodes.items() for pid in census.get(inode, ())]
        yield from sorted(members)

    def poll(self, connections: bool = True, *, fresh: bool = True) -> None:
        """One look at /proc; called by the thread, or directly to take a synchronous look (always fresh)."""
        now = time.time()
        alive = dict(self._members(fresh))
        for pid in [p for p in self._procs if p not in alive]:
            self._exited(now, pid)
        for pid, node in alive.items():
            known = self._procs.get(pid)
            if known is None:
                self._started(now, pid, node)
                continue
            argv = _argv(pid)
            if argv is None or argv == known.argv:
                continue
            exe = _exe(pid)
            if self._create_time(pid) != known.started:
                self._exited(now, pid)
                self._started(now, pid, node)
            elif exe != known.exe:
                known.argv, known.exe = argv, exe
                self._emit(now, "exec", known.node, pid=pid, argv=argv, detail={"exe": exe})
            else:
                known.argv = argv  # retitled, not a new program
        if connections:
            self._connections(now)

    def _emit(self, t: float, kind: str, node: str, **fields: Any) -> None:
        self._sink(Event(t=t, source=EventSource.PROC, kind=kind, node=node, **fields))

    @staticmethod
    def _create_time(pid: int) -> float | None:
        try:
            return psutil.Process(pid).create_time()
        except psutil.Error:
            return None

    def _started(self, t: float, pid: int, node: str) -> None:
        try:
            process = psutil.Process(pid)
            with process.oneshot():
                argv, ppid, started = _trimmed(process.cmdline()), process.ppid(), process.create_time()
                detail: dict[str, Any] = {"create_time": started, "nspid": _nspid(pid)}
                cwd = exe = None
                with contextlib.suppress(psutil.Error):  # unreadable for some processes; not worth dropping it
                    cwd, exe = process.cwd(), process.exe()
        except psutil.Error:
            return  # gone before we could look: nothing trustworthy to report
        detail["ppid"] = ppid
        if exe:
            detail["exe"] = exe
        self._procs[pid] = _Proc(node, argv, started, exe)
        if node not in self._netns:
            with contextlib.suppress(OSError):  # held open, so the table can be read after its last process
                self._netns[node] = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
        self._emit(t, "start", node, pid=pid, argv=argv, cwd=cwd or None, detail=detail)

    def _exited(self, t: float, pid: int) -> None:
        gone = self._procs.pop(pid)
        self._emit(t, "exit", gone.node, pid=pid, argv=gone.argv, detail={"create_time": gone.started})

    def _connections(self, t: float) -> None:
        by_node: dict[str, list[int]] = {}
        for pid, proc in self._procs.items():
            by_node.setdefault(proc.node, []).append(pid)
        for node, netns in self._netns.items():
            pids = by_node.get(node, [])
            table = _tcp_table(netns)
            listening = {s.local.rsplit(":", 1)[1] for s in table if s.listening}
            pairs = {(s.local, s.remote) for s in table if not s.listening}
            fresh = []
            for sock in table:
                key = (node, sock.local, "" if sock.listening else sock.remote)
                if key in self._sockets:
                    continue
                self._sockets.add(key)
                if sock.listening:
                    kind = "listen"
                elif sock.local.rsplit(":", 1)[1] in listening:
                    if (sock.remote, sock.local) in pairs:
                        continue  # the other end of a connection within this namespace, reported as connect
                    kind = "accept"
                else:
                    kind = "connect"
                fresh.append((kind, sock))
            owners = self._owners(pids, {s.inode for _, s in fresh if s.inode})
            for kind, sock in fresh:
                detail = {"laddr": sock.local} if sock.listening else {"laddr": sock.local, "raddr": sock.remote}
                self._emit(t, kind, node, pid=owners.get(sock.inode), detail=detail)

    @staticmethod
    def _owners(pids: list[int], inodes: set[int]) -> dict[int, int]:
        """Which of pids holds each socket inode; only looked up when something new appeared."""
        owners: dict[int, int] = {}
        if not inodes:
            return owners
        for pid in pids:
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:[") and int(target[8:-1]) in inodes:
                    owners.setdefault(int(target[8:-1]), pid)
        return owners


def kill_tree(pid: int, timeout: float) -> list[int]:
    """Kill pid and all its descendants; return the pids still alive afterwards.

    The tree is frozen with SIGSTOP before each round, so nothing can fork a new child while we collect it and
    no parent can run between its children's deaths and its own (a shell would exit 0 when its last child
    dies). SIGTERM goes children first, then SIGCONT lets everyone act on it within `timeout`; the survivors are
    frozen again and get SIGKILL. A dead child of ours stays a zombie for its owner to reap: we never wait() on
    it, or the runner would lose its real exit status.
    """
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return []
    tree = _freeze([root])
    for sig in (signal.SIGTERM, signal.SIGCONT):
        for proc in tree:
            _signal(proc, sig)
    tree = _freeze(_wait_gone(tree, timeout))
    for proc in tree:
        _signal(proc, signal.SIGKILL)
    return [p.pid for p in _wait_gone(tree, timeout)]


def _freeze(tops: list[psutil.Process]) -> list[psutil.Process]:
    """Stop tops and all their descendants, until no new one appears; deepest first, tops last."""
    frozen: dict[int, psutil.Process] = {}
    found = tops
    while found:
        for proc in found:
            _signal(proc, signal.SIGSTOP)
            frozen[proc.pid] = proc
        found = [c for top in tops for c in _descendants(top) if c.pid not in frozen]
    return list(reversed(frozen.values()))


def _descendants(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.Error:
        return []


def _signal(proc: psutil.Process, sig: int) -> None:
    with contextlib.suppress(psutil.Error):  # it may be gone already, which is what we want
        proc.send_signal(sig)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while (alive := [p for p in procs if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.02)
    return alive
