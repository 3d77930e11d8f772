import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness_eval.models import Event, EventSource
from harness_eval.monitors.events import EventLog
from harness_eval.monitors.procs import ProcessMonitor, kill_tree


def netns(pid: int) -> int:
    return os.stat(f"/proc/{pid}/ns/net").st_ino


@pytest.fixture
def namespace() -> Iterator[subprocess.Popen[bytes]]:
    """A process alone in a fresh network namespace, standing for a node."""
    holder = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    while psutil.Process(holder.pid).cmdline()[:1] != ["sleep"]:  # unshare has not switched and exec'd yet
        time.sleep(0.01)
    yield holder
    holder.kill()
    holder.wait()


def in_namespace(holder: subprocess.Popen[bytes], *argv: str, **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["nsenter", f"--net=/proc/{holder.pid}/ns/net", *argv], **kwargs)  # type: ignore[call-overload]


def of(events: list[Event], pid: int) -> list[str]:
    return [e.kind for e in events if e.pid == pid]


def test_processes_are_attributed_by_network_namespace(namespace: subprocess.Popen[bytes]) -> None:
    other = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    log = EventLog()
    monitor = ProcessMonitor({netns(namespace.pid): "source"}, log.append)
    monitor.start()
    child = in_namespace(namespace, "sleep", "30")
    while not of(log.snapshot(), child.pid):
        time.sleep(0.01)
    child.kill()
    child.wait()
    monitor.stop()
    other.kill()
    other.wait()
    events = log.snapshot()
    assert all(e.source == EventSource.PROC and e.node == "source" for e in events)
    assert of(events, namespace.pid) == ["start"]
    assert of(events, child.pid)[-1] == "exit"
    assert of(events, os.getpid()) == of(events, other.pid) == []
    start = next(e for e in events if e.pid == namespace.pid)
    assert start.argv == ["sleep", "60"]
    assert start.cwd == os.getcwd()
    assert start.detail["ppid"] == os.getpid()
    assert start.detail["exe"].endswith("/sleep")


def test_a_new_program_in_a_known_pid_is_an_exec(namespace: subprocess.Popen[bytes]) -> None:
    log = EventLog()
    monitor = ProcessMonitor({netns(namespace.pid): "agent"}, log.append)
    shell = in_namespace(namespace, "sh", "-c", "read line; exec sleep 30", stdin=subprocess.PIPE)
    seen: list[Event] = []
    while not seen or seen[-1].argv != ["sh", "-c", "read line; exec sleep 30"]:  # nsenter first, then sh
        monitor.poll()
        seen = [e for e in log.snapshot() if e.pid == shell.pid]
    assert shell.stdin is not None
    shell.stdin.write(b"go\n")
    shell.stdin.flush()
    while seen[-1].argv != ["sleep", "30"]:
        monitor.poll()
        seen = [e for e in log.snapshot() if e.pid == shell.pid]
    shell.kill()
    shell.wait()
    monitor.poll()
    monitor.stop()
    events = [e for e in log.snapshot() if e.pid == shell.pid]
    assert [(e.kind, e.argv) for e in events][-2:] == [("exec", ["sleep", "30"]), ("exit", ["sleep", "30"])]


@pytest.mark.skipif(not shutil.which("ip"), reason="needs iproute2 to bring up loopback in the namespace")
def test_tcp_connections_of_the_namespace_only(namespace: subprocess.Popen[bytes]) -> None:
    subprocess.run(["nsenter", f"--net=/proc/{namespace.pid}/ns/net", "ip", "link", "set", "lo", "up"], check=True)
    script = (
        "import socket\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
        "c = socket.create_connection(s.getsockname()); a, _ = s.accept()\n"
        "print(s.getsockname()[1], c.getsockname()[1], flush=True); input()\n"
    )
    peer = in_namespace(namespace, sys.executable, "-c", script, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert peer.stdout is not None and peer.stdin is not None
    server_port, client_port = map(int, peer.stdout.readline().split())
    log = EventLog()
    monitor = ProcessMonitor({netns(namespace.pid): "agent"}, log.append)
    monitor.poll()
    monitor.poll()  # nothing new: each socket is reported once
    monitor.stop()
    peer.stdin.close()
    peer.wait()
    sockets = [(e.kind, e.pid, e.detail) for e in log.snapshot() if e.kind in ("listen", "connect", "accept")]
    assert sockets == [
        ("listen", peer.pid, {"laddr": f"127.0.0.1:{server_port}"}),
        ("connect", peer.pid, {"laddr": f"127.0.0.1:{client_port}", "raddr": f"127.0.0.1:{server_port}"}),
    ]


def test_kill_tree_leaves_no_survivor(tmp_path: Path) -> None:
    root = subprocess.Popen(["sh", "-c", "sleep 60 & (sleep 60 & sleep 60 & wait) & wait"])
    while len(psutil.Process(root.pid).children(recursive=True)) < 4:
        time.sleep(0.01)
    tree = [root.pid, *(p.pid for p in psutil.Process(root.pid).children(recursive=True))]
    assert kill_tree(root.pid, timeout=5) == []
    assert root.wait(timeout=5) == -15  # still ours to reap, with its real cause of death
    assert [
        p for p in tree[1:] if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
    ] == []


def test_kill_tree_escalates_when_sigterm_is_ignored() -> None:
    root = subprocess.Popen(["sh", "-c", "trap '' TERM; sleep 60 & wait"])
    while not psutil.Process(root.pid).children():
        time.sleep(0.01)
    assert kill_tree(root.pid, timeout=0.3) == []
    assert root.wait(timeout=5) == -9


def test_kill_tree_of_nothing() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert kill_tree(gone.pid, timeout=1) == []
