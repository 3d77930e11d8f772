"""The shims and their listener on the machine, run as the agent's unprivileged account (what they are in a world).

Root could change any process, so the listener proves nothing about a root peer; these tests drop to
`accounts.UID` for every command, in a directory that account can use.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness_eval.models import Event, EventSource
from harness_eval.monitors.shims import (
    SHIM_SOCKET_NAME,
    ShimListener,
    Unverified,
    _line_from,
    _Peer,
    stage_interpreter,
    write_shims,
)
from harness_eval.sandbox import accounts

DROP = ["setpriv", "--reuid", str(accounts.UID), "--regid", str(accounts.GID), "--clear-groups", "--"]


@dataclass
class Shimmed:
    env: dict[str, str]
    work: Path  # writable by the account
    bin: Path
    events: list[Event]

    def run(self, argv: list[str | bytes], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*DROP, *argv], env=self.env, input=stdin, capture_output=True, check=False, cwd=self.work
        )

    def popen(self, argv: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen([*DROP, *argv], env=self.env, cwd=self.work)

    def cmd(self) -> list[Event]:
        return sorted(self.events, key=lambda e: e.t)


@contextmanager
def shims(real_dir: Path = Path("/usr/bin")) -> Iterator[Shimmed]:
    """Freshly written shims first on PATH, their listener running, and a work directory of the account's."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        work = root / "work"
        work.mkdir()
        os.chown(work, accounts.UID, accounts.GID)
        interpreter = stage_interpreter(root / "sbin")
        write_shims(root / "bin", str(root), real_dir=real_dir, interpreter=str(interpreter))
        events: list[Event] = []
        env = {"PATH": f"{root / 'bin'}:/usr/bin:/bin", "HOME": str(work)}
        listener = ShimListener(
            root / SHIM_SOCKET_NAME, root / "bin", events.append, interpreter, bin_dir=str(root / "bin")
        )
        with listener:
            yield Shimmed(env, work, root / "bin", events)


@pytest.fixture
def shimmed() -> Iterator[Shimmed]:
    with shims() as shimmed:
        assert {"ssh", "scp", "rsync", "curl"} <= {p.name for p in shimmed.bin.iterdir()}
        yield shimmed


def wait_for(shimmed: Shimmed, count: int) -> list[Event]:
    while len(events := shimmed.cmd()) < count:
        time.sleep(0.01)
    return events


def test_only_installed_tools_get_a_shim(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "ssh").symlink_to("/usr/bin/ssh")
    (real / "curl").write_text("not executable")
    assert write_shims(tmp_path / "bin", str(tmp_path), real_dir=real) == ["ssh"]
    assert os.access(tmp_path / "bin" / "ssh", os.X_OK)
    assert sorted(p.name for p in (tmp_path / "bin").iterdir()) == ["ssh"]


def test_ssh_version_is_identical_and_recorded(shimmed: Shimmed) -> None:
    through = shimmed.run(["ssh", "-V"])
    direct = shimmed.run(["/usr/bin/ssh", "-V"])
    assert (through.returncode, through.stdout, through.stderr) == (
        direct.returncode,
        direct.stdout,
        direct.stderr,
    )
    exec_event, exit_event = wait_for(shimmed, 2)
    assert exec_event.source == EventSource.CMD
    assert (exec_event.kind, exec_event.argv, exec_event.cwd) == ("exec", ["ssh", "-V"], str(shimmed.work))
    assert exec_event.node == "agent"
    assert exec_event.detail["command"] == "ssh -V"
    assert (exit_event.kind, exit_event.exit_code, exit_event.pid) == ("exit", 0, exec_event.pid)
    assert exit_event.argv == ["ssh", "-V"]
    assert exit_event.t >= exec_event.t


def test_binary_stdin_and_stdout_pass_through(shimmed: Shimmed) -> None:
    payload = os.urandom(300_000) + bytes(range(256))
    # through a pipe of the account's own (it cannot reopen one of root's through /dev/stdin)
    result = shimmed.run(["sh", "-c", "cat | curl -s file:///dev/stdin"], stdin=payload)
    assert result.returncode == 0
    assert result.stdout == payload
    source = shimmed.work / "blob"
    source.write_bytes(payload)
    assert shimmed.run(["curl", "-s", f"file://{source}"]).stdout == payload
    assert [e.kind for e in wait_for(shimmed, 4)] == ["exec", "exit", "exec", "exit"]


def test_a_tar_pipeline_through_a_shim(shimmed: Shimmed) -> None:
    work = shimmed.work
    (work / "src").mkdir()
    (work / "src" / "weights.bin").write_bytes(os.urandom(100_000))
    out = work / "out"
    out.mkdir()
    os.chown(out, accounts.UID, accounts.GID)
    result = shimmed.run(["sh", "-c", f"tar cz -C {work} src | curl -s file:///dev/stdin | tar xz -C {out}"])
    assert result.returncode == 0, result.stderr
    assert (out / "src/weights.bin").read_bytes() == (work / "src/weights.bin").read_bytes()


def test_failures_keep_their_exit_code(shimmed: Shimmed) -> None:
    result = shimmed.run(["curl", "-s", f"file://{shimmed.work}/missing"])
    assert result.returncode == 37
    assert wait_for(shimmed, 2)[-1].exit_code == 37


def test_rsync_and_scp_copy_locally(shimmed: Shimmed) -> None:
    source = shimmed.work / "model.safetensors"
    source.write_bytes(os.urandom(50_000))
    source.chmod(0o644)
    assert shimmed.run(["rsync", "-a", str(source), "r"]).returncode == 0
    assert shimmed.run(["scp", "-q", str(source), "s"]).returncode == 0
    assert (shimmed.work / "r").read_bytes() == (shimmed.work / "s").read_bytes() == source.read_bytes()
    exits = [e for e in wait_for(shimmed, 4) if e.kind == "exit"]
    assert [(e.argv[0], e.exit_code) for e in exits if e.argv] == [("rsync", 0), ("scp", 0)]


def test_rsync_records_the_ssh_it_starts(shimmed: Shimmed) -> None:
    """rsync finds ssh on PATH, so the nested call is recorded inside rsync's own exec/exit pair."""
    result = shimmed.run(["rsync", "-e", "ssh -o ProxyCommand=false", "nowhere:/x", "."])
    assert result.returncode != 0
    events = wait_for(shimmed, 4)  # rsync need not wait for ssh to finish before exiting itself...
    # ...so only the starts are ordered.
    assert [(e.kind, e.argv[0] if e.argv else None) for e in events][:2] == [("exec", "rsync"), ("exec", "ssh")]
    exits = {e.argv[0]: e for e in events[2:] if e.kind == "exit" and e.argv}
    assert events[1].detail["ppid"] == events[0].pid
    assert exits["ssh"].exit_code == 255
    assert exits["rsync"].exit_code == result.returncode


def test_a_signal_reaches_the_program_and_the_caller_sees_it(shimmed: Shimmed) -> None:
    fifo = shimmed.work / "fifo"
    os.mkfifo(fifo)
    os.chown(fifo, accounts.UID, accounts.GID)
    process = shimmed.popen(["curl", "-s", f"file://{fifo}"])
    wait_for(shimmed, 1)  # the real curl is about to block opening the fifo
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == -signal.SIGTERM
    exit_event = wait_for(shimmed, 2)[-1]
    assert (exit_event.exit_code, exit_event.detail["signal"]) == (128 + signal.SIGTERM, signal.SIGTERM)


def test_argv_bytes_survive_the_record(shimmed: Shimmed) -> None:
    shimmed.run(["curl", "-s", 'file:///nonexistent/d\u00e9j\u00e0 "vu"\n\t', b"file:///raw\xff", "a  b", ""])
    argv = wait_for(shimmed, 1)[0].argv
    assert argv == ["curl", "-s", 'file:///nonexistent/d\u00e9j\u00e0 "vu"\n\t', "file:///raw\\xff", "a  b", ""]


def test_the_real_program_gets_the_argv_unchanged() -> None:
    """Taint mode's untainting must pass every byte on: what the real program receives is what we gave."""
    with tempfile.TemporaryDirectory() as tmp:
        real = Path(tmp)
        check_argv_passes(real)


def check_argv_passes(real: Path) -> None:
    (real / "ssh").write_text('#!/bin/sh\nprintf \'%s\\0\' "$0" "$@"\n')
    (real / "ssh").chmod(0o755)
    real.chmod(0o755)
    args: list[str | bytes] = ['d\u00e9j\u00e0 "vu"\n\t', b"raw\xff\x01", "a  b", "", "'", "-T"]
    with shims(real) as shimmed:
        seen = shimmed.run(["ssh", *args])
        assert seen.returncode == 0, seen.stderr
        assert seen.stdout.split(b"\0")[1:-1] == [a.encode() if isinstance(a, str) else a for a in args]
        assert wait_for(shimmed, 2)[0].argv == [
            "ssh",
            'd\u00e9j\u00e0 "vu"\n\t',
            "raw\\xff\x01",
            "a  b",
            "",
            "'",
            "-T",
        ]


@pytest.mark.skipif(not shutil.which("socat"), reason="socat not installed")
def test_socat_relays_binary_stdin(shimmed: Shimmed) -> None:
    payload = os.urandom(200_000)
    assert shimmed.run(["socat", "-", "-"], stdin=payload).stdout == payload


def test_only_the_checked_process_may_write_the_answer() -> None:
    """A record is read only from bytes the verified pid sent itself (SCM_CREDENTIALS), not another holder's."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        peer = _Peer(ours)
        assert peer.pid == os.getpid()
        theirs.sendall(b"from the checked process\n")
        assert _line_from(ours, peer) == b"from the checked process"
        child = os.fork()
        if child == 0:  # another process holding the same socket
            theirs.sendall(b"forged\n")
            os._exit(0)
        os.waitpid(child, 0)
        with pytest.raises(Unverified, match=f"written by pid \\[{child}\\]"):
            _line_from(ours, peer)
        assert peer.received.endswith(b"forged\n")
        peer.close()


def test_the_wrapper_is_closed_to_its_own_account(shimmed: Shimmed) -> None:
    """Once it runs, the agent's account can neither trace the wrapper nor touch its memory (not dumpable)."""
    fifo = shimmed.work / "fifo"
    os.mkfifo(fifo)
    os.chown(fifo, accounts.UID, accounts.GID)
    process = shimmed.popen(["curl", "-s", f"file://{fifo}"])
    try:
        real = wait_for(shimmed, 1)[0].pid
        wrapper = int(Path(f"/proc/{real}/stat").read_text().rsplit(")", 1)[1].split()[1])
        probe = "import sys\ntry:\n open(sys.argv[1], 'rb')\nexcept PermissionError:\n print('denied')"
        assert shimmed.run(["python3", "-c", probe, f"/proc/{wrapper}/mem"]).stdout == b"denied\n"
        assert shimmed.run(["python3", "-c", probe, f"/proc/{real}/mem"]).stdout == b""  # the program is as usual
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def test_a_flood_of_one_kind_of_forgery_hides_no_attempt_of_another_kind() -> None:
    """Unverified connections are shown per kind up to a bound and counted beyond it, so a flood cannot push a
    different attempt out of the record."""
    with shims() as shimmed:
        sock = str(shimmed.bin.parent / SHIM_SOCKET_NAME)
        for _ in range(30):  # root's connections: one kind of failure
            with socket.socket(socket.AF_UNIX) as conn:
                conn.connect(sock)
                conn.sendall(b"flood\n")
        late = f"import socket; s = socket.socket(socket.AF_UNIX); s.connect({sock!r}); s.sendall(b'late\\n')"
        assert shimmed.run(["/usr/bin/python3", "-c", late]).returncode == 0
        deadline = time.monotonic() + 10
        while not any("late" in e.detail.get("sent", "") for e in shimmed.cmd()) and time.monotonic() < deadline:
            time.sleep(0.05)
    unverified = [e.detail for e in shimmed.cmd() if e.kind == "unverified"]
    floods = [d for d in unverified if "flood" in d.get("sent", "")]
    assert len(floods) == 20
    assert [d["count"] for d in unverified if "more not shown" in d["reason"]] == [10]
    assert [d for d in unverified if "late" in d.get("sent", "")], unverified[-3:]
