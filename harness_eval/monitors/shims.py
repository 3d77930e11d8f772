"""Command shims: wrappers first on the agent's PATH that report each network tool run, then run the real one.

Process polling misses short commands and file events miss what crossed the wire; the shims see every `ssh`,
`scp`, `rsync`, `curl` ... the agent starts, with its exact argv and exit code. They are Perl because the sandbox
has no Python of ours but always has perl-base, and they fork/wait rather than exec because the exit code must be
reported; stdin/stdout/stderr are inherited untouched and signals are forwarded, so the wrapped program behaves
as if it were run directly.

The agent can do anything its account can, so a record is only evidence if the kernel, read from outside, says
that our shim wrote it. Hence a UNIX socket (`ShimListener`, a thread of ours outside the world) instead of a log
file, and for each connection:

- the peer's pid from SO_PEERCRED, pinned by SO_PEERPIDFD so that a reused pid cannot stand in for a dead one;
- the process, from /proc: in our user namespace (so it cannot have a mount namespace of its own in which
  /usr/local/bin/ssh is something else), running our interpreter (`exe` is the same inode), on the command
  line the kernel builds for our script (`perl -T /usr/local/bin/<tool>`), that script being our file (same
  inode through the process's own root), every mapped file under the read-only system directories (no
  LD_PRELOAD or LD_LIBRARY_PATH library), not traced and not dumpable. The interpreter is a copy of the
  machine's perl that only root may read (`stage_interpreter`): the kernel makes a process that execs a
  file it cannot read undumpable from its first instruction, so no process of the agent's account can write
  the shim's memory through /proc at any moment of its life, and the sandbox's seccomp filter refuses ptrace
  (which PTRACE_TRACEME before the exec would otherwise still allow). Taint mode makes perl ignore
  PERL5OPT/PERL5LIB/PERLLIB, so no module of the agent's runs in it;
- only then a random challenge, which the answer must start with, sent by that same pid (SCM_CREDENTIALS on every
  chunk): bytes queued before the check (written by a process that then exec'd the real shim) or written by
  another holder of the socket cannot pass.

An `exec` record's argv is read from the process's /proc/PID/cmdline while the shim waits for our
acknowledgement: the shim forks first and the child, which becomes the real program, reports and only execs
once acknowledged, so nested shims (rsync starting ssh) arrive in order. Its cwd and caller pid are the verified
process's own words. The wrapper reports the exit code on a second connection checked the same way. A
connection that fails any check becomes one `unverified` event with what it sent and why it failed, never an
`exec`/`exit`. With nobody listening the shim runs the command unrecorded: the agent's tools never break.

What remains possible: the shims only see what runs through PATH (`/usr/bin/scp` bypasses them), and a flood
of connections leaves them unrecorded (counted), so process and file events stay the complete record and the
shims the detailed one.
"""

from __future__ import annotations

import os
import platform
import re
import secrets
import shlex
import shutil
import socket
import struct
import threading
import time
from importlib import resources
from pathlib import Path

from harness_eval.errors import HarnessEvalError
from harness_eval.models import Event, EventSource
from harness_eval.monitors.events import Sink
from harness_eval.sandbox.owners import start_time

SHIM_BIN = "/usr/local/bin"
# Bland on purpose: the agent sees this directory, and a name like "audit" would tell it it is being watched.
# It exists (empty) on Debian, so a read-only /var can still have it bound over.
SHIM_SOCKET_DIR = "/var/lib/misc"
SHIM_SOCKET_NAME = ".state"
# Where the interpreter of the shims is bound: a directory Debian ships empty and leaves off a user's PATH.
SHIM_INTERPRETER_DIR = "/usr/local/sbin"
SHIMMED = ("ssh", "scp", "sftp", "rsync", "curl", "wget", "nc", "ncat", "netcat", "socat")

_PERL = Path("/usr/bin/perl")
_REAL_DIR = Path("/usr/bin")
_PRCTL = {"x86_64": 157, "aarch64": 167}  # the syscall number, which perl's syscall() takes raw
# Where every file mapped into a verified shim must come from: bound read-only into the box, and root's.
_SYSTEM_PREFIXES = ("/usr/", "/lib/", "/lib32/", "/lib64/", "/libx32/", "/bin/", "/sbin/")
_SO_PEERPIDFD = getattr(socket, "SO_PEERPIDFD", 77)
_UCRED = struct.Struct("iII")
_WAIT_S = 5.0  # for a record once challenged; a genuine shim answers in milliseconds
_MAX_RECORD = 4096
_REJECT_READ_S = 0.3  # how long what an unverified connection sends is read
_MAX_HANDLERS = 64  # connections checked at once; beyond that a flood is counted, not served
# Unverified connections are shown per kind (their reason, numbers aside) up to this many, then one event per kind
# counts the rest: a flood of one kind must not fill the timeline, nor hide an attempt of another kind.
_MAX_UNVERIFIED = 20
_MAX_KINDS = 200  # kinds beyond this are counted together
_DIGITS = re.compile(r"\d+")


def stage_interpreter(dir: Path) -> Path:
    """Copy the machine's perl into `dir` as a file only root may read (mode 0111), and return the copy.

    Execution needs no read permission, and a process that execs an unreadable file starts undumpable, so a
    shim run by it can never have its memory written by the account that started it."""
    if not _PERL.is_file():
        raise HarnessEvalError(f"{_PERL} is missing: the command shims need perl-base (apt-get install perl-base)")
    dir.mkdir(parents=True, exist_ok=True)
    copy = dir / "perl"
    shutil.copyfile(_PERL.resolve(), copy)
    copy.chmod(0o111)
    return copy


def write_shims(
    dir: Path,
    socket_dir: str = SHIM_SOCKET_DIR,
    real_dir: Path = _REAL_DIR,
    prctl: int | None = None,
    interpreter: str = f"{SHIM_INTERPRETER_DIR}/perl",
) -> list[str]:
    """Write one executable shim per installed tool into `dir`; return the names written.

    `socket_dir` and `interpreter` are where the receiver's socket and `stage_interpreter`'s copy are *as the
    shim sees them* (inside the sandbox by default). Tools missing from `real_dir` get no shim, so
    `command -v nc` stays as honest as it would be without us.
    """
    if not _PERL.is_file():
        raise HarnessEvalError(f"{_PERL} is missing: the command shims need perl-base (apt-get install perl-base)")
    prctl = prctl if prctl is not None else _PRCTL.get(platform.machine())
    if prctl is None:
        raise HarnessEvalError(f"the command shims know no prctl syscall number for {platform.machine()}")
    template = resources.files(__package__).joinpath("shim.pl").read_text()
    sock = str(Path(socket_dir) / SHIM_SOCKET_NAME)
    dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SHIMMED:
        real = real_dir / name
        if not (real.is_file() and os.access(real, os.X_OK)):
            continue
        script = template.replace("@@NAME@@", name).replace("@@REAL@@", str(real)).replace("@@SOCKET@@", sock)
        script = script.replace("@@PERL@@", interpreter)
        shim = dir / name
        shim.write_text(script.replace("@@PRCTL@@", str(prctl)))
        shim.chmod(0o755)
        written.append(name)
    return written


def _mapped(fields: list[str]) -> tuple[int, int]:
    """(device, inode) of the file a line of /proc/PID/maps names (its fourth and fifth fields)."""
    major, minor = fields[3].split(":")
    return os.makedev(int(major, 16), int(minor, 16)), int(fields[4])


def _text(raw: bytes) -> str:
    """argv and paths need not be UTF-8: undecodable bytes stay visible as \\xNN."""
    return raw.decode("utf-8", errors="backslashreplace")


class Unverified(Exception):
    """Why a connection's record is not evidence."""


def _identity(path: str) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_dev, info.st_ino


class _Peer:
    """The process at the other end of one connection, pinned by a pidfd so its pid cannot be reused under us
    (before Linux 6.5, which has no SO_PEERPIDFD, by its start time)."""

    def __init__(self, conn: socket.socket) -> None:
        self.received = b""  # every byte read from it, for the record of a connection that fails
        self.pid, self.uid, _ = _UCRED.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size))
        try:
            self._pidfd: int | None = struct.unpack("i", conn.getsockopt(socket.SOL_SOCKET, _SO_PEERPIDFD, 4))[0]
        except OSError:
            self._pidfd = None
        self._start = start_time(self.pid) if self._pidfd is None and self.pid > 0 else None

    def close(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)

    def alive(self) -> None:
        """Raise unless the connecting process still runs under its pid (so /proc/PID was really it)."""
        if self._pidfd is None:
            same = self._start is not None and start_time(self.pid) == self._start
        else:
            with open(f"/proc/self/fdinfo/{self._pidfd}") as info:
                same = [line.split()[1] for line in info if line.startswith("Pid:")] == [str(self.pid)]
        if not same:
            raise Unverified("the connecting process is gone")

    def proc(self, name: str) -> bytes:
        try:
            return Path(f"/proc/{self.pid}/{name}").read_bytes()
        except OSError as exc:
            raise Unverified(f"/proc/{self.pid}/{name}: {exc.strerror}") from None

    def status(self, field: str) -> str:
        for line in self.proc("status").decode(errors="replace").splitlines():
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
        raise Unverified(f"no {field} in /proc/{self.pid}/status")


class ShimListener:
    """The receiving end of the shims' reports: a socket at `path` and a thread that turns each verified report
    into an `exec` or `exit` event for `node`, delivered to `sink` as it arrives.

    `bin_dir` is where the shims are as the shim sees them (`/usr/local/bin` in a world), `shims` where the
    same files are on the machine, and `interpreter` the copy of perl they run (`stage_interpreter`).
    """

    def __init__(
        self,
        path: Path,
        shims: Path,
        sink: Sink,
        interpreter: Path,
        node: str = "agent",
        bin_dir: str = SHIM_BIN,
    ) -> None:
        self.path = path
        self.node = node
        self._sink = sink
        self._bin_dir = bin_dir.rstrip("/")
        self._scripts = {name: _identity(str(shims / name)) for name in SHIMMED if (shims / name).is_file()}
        self._interpreter = _identity(str(interpreter))
        self._userns = os.stat("/proc/self/ns/user").st_ino
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._handlers: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._started: dict[int, Event] = {}  # pid -> its exec event, until its exit arrives
        self._unverified: dict[str, int] = {}  # kind of failure -> connections that failed so
        self._flooded = 0

    def start(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(self.path))
        os.chmod(self.path, 0o666)  # the agent's account connects; the directory bound over it is read-only
        sock.listen(128)
        self._sock = sock
        self._thread = threading.Thread(target=self._accept, name="shim-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, let the reports under way finish, and count the unverified ones not shown."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        sock.shutdown(socket.SHUT_RDWR)  # wakes accept()
        sock.close()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            handlers = list(self._handlers)
        deadline = time.monotonic() + 2 * _WAIT_S
        for handler in handlers:
            handler.join(max(0.0, deadline - time.monotonic()))
        for kind, count in self._unverified.items():
            if count > _MAX_UNVERIFIED:
                dropped = count - _MAX_UNVERIFIED
                reason = f"{dropped} more not shown like: {kind}"
                self._sink(self._event("unverified", detail={"reason": reason, "count": dropped}))
        if self._flooded:
            reason = f"{self._flooded} connections beyond {_MAX_HANDLERS} at once closed unchecked"
            self._sink(self._event("unverified", detail={"reason": reason, "count": self._flooded}))

    def __enter__(self) -> ShimListener:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _accept(self) -> None:
        sock = self._sock
        assert sock is not None
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return  # stopped
            with self._lock:
                flooded = len(self._handlers) >= _MAX_HANDLERS
                if flooded:
                    self._flooded += 1
                else:
                    handler = threading.Thread(target=self._serve, args=(conn,), daemon=True)
                    self._handlers.add(handler)
            if flooded:  # the shim at the other end runs its command unrecorded
                conn.close()
            else:
                handler.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                conn.settimeout(_WAIT_S)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
                peer = _Peer(conn)
                try:
                    self._record(conn, peer)
                except Unverified as exc:
                    self._reject(conn, peer, str(exc))
                except OSError as exc:  # the shim went away mid-report (killed): nothing it said is kept
                    self._reject(conn, peer, f"connection failed: {exc}")
                finally:
                    peer.close()
        finally:
            with self._lock:
                self._handlers.discard(threading.current_thread())

    def _verify(self, peer: _Peer) -> str:
        """The name of the shim the peer runs, if the kernel's view proves it is one of ours, unmodified."""
        pid = peer.pid
        if pid <= 0:
            raise Unverified("no peer process")
        if peer.uid == 0:
            raise Unverified("a root peer cannot be proved untouched")  # nothing in the agent's box is root
        try:
            if os.stat(f"/proc/{pid}/ns/user").st_ino != self._userns:
                raise Unverified("runs in a user namespace of its own")
            if _identity(f"/proc/{pid}/exe") != self._interpreter:
                raise Unverified(f"runs {os.readlink(f'/proc/{pid}/exe')!r}, not the shims' interpreter")
            if os.stat(f"/proc/{pid}/mem").st_uid != 0:  # owned by root once not dumpable
                raise Unverified("is dumpable: its memory is the agent's to change")
        except OSError as exc:
            raise Unverified(f"/proc/{pid}: {exc.strerror}") from None
        argv = peer.proc("cmdline").split(b"\0")
        script = argv[2].decode(errors="replace") if len(argv) > 2 and argv[1] == b"-T" else ""
        name = script.rsplit("/", 1)[-1]
        if script != f"{self._bin_dir}/{name}" or name not in self._scripts:
            raise Unverified(f"command line {_text(b' '.join(argv[:3]))!r} is not a shim's")
        try:
            if _identity(f"/proc/{pid}/root{script}") != self._scripts[name]:
                raise Unverified(f"{script} is not our shim in the process's view")
        except OSError as exc:
            raise Unverified(f"{script}: {exc.strerror}") from None
        if peer.status("TracerPid") != "0":
            raise Unverified("is being traced")
        for line in peer.proc("maps").decode(errors="replace").splitlines():
            fields = line.split(None, 5)
            path = fields[5] if len(fields) == 6 else ""
            if path.startswith("/") and _mapped(fields) == self._interpreter:
                continue  # the interpreter itself, wherever it is bound
            if path.startswith("/") and (not path.startswith(_SYSTEM_PREFIXES) or path.endswith(" (deleted)")):
                raise Unverified(f"maps {path!r}, outside the system's read-only directories")
        peer.alive()
        return name

    def _record(self, conn: socket.socket, peer: _Peer) -> None:
        name = self._verify(peer)
        challenge = secrets.token_hex(16)
        conn.sendall(challenge.encode() + b"\n")
        answer = _line_from(conn, peer)
        now = time.time()
        head, _, record = answer.partition(b" ")
        if head != challenge.encode():
            raise Unverified("the answer does not carry the challenge")
        fields = record.split(b" ")
        kind = fields[0].decode(errors="replace")
        try:
            if kind == "exec" and len(fields) == 3:
                argv = peer.proc("cmdline").split(b"\0")[3:]
                if argv and argv[-1] == b"":
                    argv.pop()  # cmdline ends with a NUL
                peer.alive()  # so the argv read was the shim's, not a later process's under a reused pid
                event = self._exec(now, name, argv, peer, int(fields[1]), bytes.fromhex(fields[2].decode()))
            elif kind == "exit" and len(fields) == 4:
                event = self._exit(now, int(fields[1]), int(fields[2]), int(fields[3]))
            else:
                raise Unverified(f"unknown record {_text(record[:200])!r}")
        except ValueError as exc:
            raise Unverified(f"bad record {_text(record[:200])!r}: {exc}") from None
        conn.sendall(b"\n")  # the acknowledgement: the program may start
        self._sink(event)

    def _exec(self, t: float, name: str, args: list[bytes], peer: _Peer, ppid: int, cwd: bytes) -> Event:
        argv = [name, *(_text(a) for a in args)]
        pid = int(peer.status("NSpid").split()[-1])  # as the world sees it, like every pid in its events
        event = self._event(
            "exec", t=t, argv=argv, cwd=_text(cwd), pid=pid, detail={"ppid": ppid, "command": shlex.join(argv)}
        )
        with self._lock:
            self._started[pid] = event
        return event

    def _exit(self, t: float, pid: int, code: int, signal: int) -> Event:
        with self._lock:
            start = self._started.pop(pid, None)
        detail: dict[str, int | float] = {}
        if signal:
            detail["signal"] = signal
        if start is not None:
            detail["duration"] = round(t - start.t, 6)
        return self._event(
            "exit",
            t=t,
            argv=start.argv if start else None,
            cwd=start.cwd if start else None,
            pid=pid,
            exit_code=code,
            detail=detail,
        )

    def _reject(self, conn: socket.socket, peer: _Peer, reason: str) -> None:
        """Keep what an unverified connection sent, as what it is: an attempt, never a command record."""
        sent = peer.received
        deadline = time.monotonic() + _REJECT_READ_S  # a sender that trickles must not hold a thread for long
        try:
            while len(sent) < _MAX_RECORD and (left := deadline - time.monotonic()) > 0:
                conn.settimeout(left)
                if not (chunk := conn.recv(_MAX_RECORD - len(sent))):
                    break
                sent += chunk
        except OSError:
            pass
        kind = _DIGITS.sub("N", reason)
        with self._lock:
            if kind not in self._unverified and len(self._unverified) >= _MAX_KINDS:
                kind = "others"
            self._unverified[kind] = self._unverified.get(kind, 0) + 1
            shown = self._unverified[kind] <= _MAX_UNVERIFIED
        if shown:
            detail = {"reason": reason, "peer_pid": peer.pid, "peer_uid": peer.uid, "sent": _text(sent[:500])}
            self._sink(self._event("unverified", detail=detail))

    def _event(self, kind: str, t: float | None = None, **fields: object) -> Event:
        return Event(t=t or time.time(), source=EventSource.CMD, kind=kind, node=self.node, **fields)  # type: ignore[arg-type]


def _line_from(conn: socket.socket, peer: _Peer) -> bytes:
    """One line of the answer, every byte of it sent by the verified process itself (SCM_CREDENTIALS)."""
    buf = b""
    space = socket.CMSG_SPACE(_UCRED.size)
    while b"\n" not in buf:
        if len(buf) > _MAX_RECORD:
            raise Unverified("answer too long")
        try:
            data, ancillary, _, _ = conn.recvmsg(_MAX_RECORD, space)
        except TimeoutError:
            raise Unverified(f"no answer to the challenge within {_WAIT_S} s") from None
        if not data:
            raise Unverified("the connection closed before the record ended")
        peer.received += data
        senders = [
            _UCRED.unpack(d[: _UCRED.size])[0]
            for level, kind, d in ancillary
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS
        ]
        if senders != [peer.pid]:
            raise Unverified(f"answer written by pid {senders}, not the verified {peer.pid}")
        buf += data
    return buf.split(b"\n", 1)[0]
