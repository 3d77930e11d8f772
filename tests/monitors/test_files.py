import os
import threading
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from harness_eval.errors import HarnessEvalError
from harness_eval.models import Event, EventSource
from harness_eval.monitors.events import EventLog
from harness_eval.monitors.files import FileMonitor

# watchdog warns when it watches a new directory it already watches (its own simulated creation racing the real
# one); the monitor reports such a directory once, which a test below checks.
pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")


class Root(NamedTuple):
    node: str
    backing: Path
    view: str


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    dirs = {name: tmp_path / name for name in ("agent", "source", "outside")}
    for path in dirs.values():
        path.mkdir()
    return dirs


def roots(world: dict[str, Path]) -> list[Root]:
    return [Root("agent", world["agent"], "/workspace"), Root("source", world["source"], "/")]


def brief(events: list[Event]) -> list[tuple[str, str | None, str | None, str | None]]:
    return [(e.kind, e.node, e.path, e.dest_path) for e in events]


def test_a_file_life_in_view_paths(world: dict[str, Path], tmp_path: Path) -> None:
    log = EventLog()
    with FileMonitor(roots(world), log.append):
        (world["agent"] / "notes.txt").write_text("draft")
        (world["agent"] / "notes.txt").rename(world["agent"] / "final.txt")
        (world["source"] / "w.bin").write_bytes(b"w")
        (world["agent"] / "final.txt").unlink()
    events = log.snapshot()
    assert all(e.source == EventSource.FS for e in events)
    # Each root keeps its own order; across roots only the timestamps relate them.
    assert brief([e for e in events if e.node == "agent"]) == [
        ("created", "agent", "/workspace/notes.txt", None),
        ("modified", "agent", "/workspace/notes.txt", None),
        ("closed", "agent", "/workspace/notes.txt", None),
        ("moved", "agent", "/workspace/notes.txt", "/workspace/final.txt"),
        ("deleted", "agent", "/workspace/final.txt", None),
    ]
    assert brief([e for e in events if e.node == "source"]) == [
        ("created", "source", "/w.bin", None),
        ("modified", "source", "/w.bin", None),
        ("closed", "source", "/w.bin", None),
    ]
    assert str(tmp_path) not in "".join(e.model_dump_json() for e in events)


def test_a_file_written_into_a_new_directory_is_still_scanned(world: dict[str, Path]) -> None:
    """inotify watches a new directory only after it exists, so a quick writer can beat the watch: no close is
    seen, and the file must be caught by its creation instead."""
    scanned: dict[str, bytes] = {}
    log = EventLog()
    with FileMonitor(roots(world), log.append, content_scan=lambda n, v, b: scanned.update({v: b.read_bytes()})):
        (world["source"] / "data" / "deep").mkdir(parents=True)
        (world["source"] / "data" / "deep" / "w.bin").write_bytes(b"weights")
    assert scanned == {"/data/deep/w.bin": b"weights"}
    events = log.snapshot()
    assert ("created", "source", "/data", None) in brief(events)
    assert [e.detail for e in events if e.path == "/data/deep"] == [{"dir": True}]


def test_a_long_write_is_one_modified_and_one_closed(world: dict[str, Path]) -> None:
    log = EventLog()
    with FileMonitor(roots(world), log.append), (world["agent"] / "big").open("wb") as big:
        for _ in range(300):
            big.write(b"x" * 4096)
            big.flush()
    kinds = [e.kind for e in log.snapshot()]
    assert kinds == ["created", "modified", "closed"]
    assert log.snapshot()[-1].detail["writes"] >= 1


def test_content_scan_sees_the_content_while_it_exists(world: dict[str, Path]) -> None:
    calls: list[tuple[str, str, Path, bytes]] = []

    def scan(node: str, view: str, backing: Path) -> dict[str, Any]:
        calls.append((node, view, backing, backing.read_bytes()))
        return {"size": backing.stat().st_size}

    log = EventLog()
    with FileMonitor(roots(world), log.append, content_scan=scan):
        (world["source"] / "copy.bin").write_bytes(b"peer weights")
    # Usually one call, at the close; on a busy machine the creation may be scanned too. Either way it is whole.
    assert set(calls) == {("source", "/copy.bin", world["source"] / "copy.bin", b"peer weights")}
    closed = [e for e in log.snapshot() if e.kind == "closed"]
    assert closed[0].detail["matches"] == {"size": 12}


def test_files_that_appear_full_are_scanned(world: dict[str, Path]) -> None:
    """A hard link or a file moved in from outside is never written in the root, so no close would report it."""
    (world["agent"] / "w.bin").write_bytes(b"weights")
    (world["outside"] / "staged.bin").write_bytes(b"staged")
    scanned: list[str] = []
    log = EventLog()

    def scan(node: str, view: str, backing: Path) -> None:
        scanned.append(f"{node}:{view}={backing.read_bytes().decode()}")

    with FileMonitor(roots(world), log.append, content_scan=scan):
        os.link(world["agent"] / "w.bin", world["source"] / "linked")
        (world["outside"] / "staged.bin").rename(world["source"] / "staged.bin")
        (world["agent"] / "w.bin").rename(world["outside"] / "w.bin")
    assert sorted(scanned) == ["source:/linked=weights", "source:/staged.bin=staged"]
    assert sorted(
        (e.kind, e.path, e.detail.get("moved_in"), e.detail.get("moved_out")) for e in log.snapshot()
    ) == [
        ("created", "/linked", None, None),
        ("created", "/staged.bin", True, None),
        ("deleted", "/workspace/w.bin", None, True),
    ]


def test_a_moved_directory_moves_its_files(world: dict[str, Path]) -> None:
    (world["agent"] / "d").mkdir()
    (world["agent"] / "d" / "f").write_bytes(b"f")
    log = EventLog()
    with FileMonitor(roots(world), log.append):
        (world["agent"] / "d").rename(world["agent"] / "e")
    assert sorted(brief(log.snapshot())) == [
        ("moved", "agent", "/workspace/d", "/workspace/e"),
        ("moved", "agent", "/workspace/d/f", "/workspace/e/f"),
    ]


def test_a_renamed_file_is_scanned_where_it_went(world: dict[str, Path]) -> None:
    """rsync closes a temporary name and renames it at once: a scan queued behind a slow one follows the file."""
    gate = threading.Event()
    scanned: list[tuple[str, bytes]] = []

    def scan(node: str, view: str, backing: Path) -> None:
        if view == "/slow":
            gate.wait(10)
        scanned.append((view, backing.read_bytes()))

    log = EventLog()
    with FileMonitor(roots(world), log.append, content_scan=scan):
        (world["source"] / "slow").write_bytes(b"first")
        (world["source"] / ".w.bin.tmp").write_bytes(b"payload")
        (world["source"] / ".w.bin.tmp").rename(world["source"] / "w.bin")
        (world["source"] / "short-lived").write_bytes(b"lost")
        (world["source"] / "short-lived").unlink()
        gate.set()
    assert scanned == [("/slow", b"first"), ("/w.bin", b"payload")]
    by_kind = {(e.kind, e.path): e for e in log.snapshot()}
    assert by_kind["closed", "/.w.bin.tmp"].detail["scan_error"] == "gone before it could be scanned"
    assert by_kind["closed", "/short-lived"].detail["scan_error"] == "gone before it could be scanned"
    assert by_kind["moved", "/.w.bin.tmp"].dest_path == "/w.bin"


def test_a_failing_scanner_keeps_the_event(world: dict[str, Path]) -> None:
    def scan(node: str, view: str, backing: Path) -> None:
        raise RuntimeError("scanner broke")

    log = EventLog()
    with FileMonitor(roots(world), log.append, content_scan=scan):
        (world["agent"] / "a").write_bytes(b"a")
    closed = [e for e in log.snapshot() if e.kind == "closed"]
    assert closed[0].detail["scan_error"] == "RuntimeError: scanner broke"


def test_stop_delivers_a_rename_watchdog_still_holds(world: dict[str, Path]) -> None:
    """An unpaired rename is held back for half a second; stop() right after it must still report it."""
    (world["source"] / "weights").write_bytes(b"w")
    mtime = (world["source"]).stat().st_mtime_ns
    log = EventLog()
    monitor = FileMonitor(roots(world), log.append)
    monitor.start()
    (world["source"] / "weights").rename(world["outside"] / "weights")
    monitor.stop()
    assert brief(log.snapshot()) == [("deleted", "source", "/weights", None)]
    assert world["source"].stat().st_mtime_ns != mtime  # the rename itself changed it...
    assert sorted(os.listdir(world["source"])) == []  # ...but the flush marker left nothing behind


def test_flush_marker_leaves_no_timestamp(world: dict[str, Path]) -> None:
    before = world["agent"].stat()
    with FileMonitor(roots(world), EventLog().append):
        pass
    after = world["agent"].stat()
    assert after.st_mtime_ns == before.st_mtime_ns


def test_a_nested_root_belongs_to_the_inner_node_once(tmp_path: Path) -> None:
    (tmp_path / "home" / ".ssh").mkdir(parents=True)
    log = EventLog()
    nested = [
        Root("vault", tmp_path / "home" / ".ssh", "/keys"),
        Root("agent", tmp_path / "home", "/root"),
        Root("agent", tmp_path / "home", "/root"),
    ]
    with FileMonitor(nested, log.append):
        (tmp_path / "home" / ".ssh" / "id").write_bytes(b"k")
        (tmp_path / "home" / "x").write_bytes(b"x")
    assert brief(log.snapshot()) == [
        ("created", "vault", "/keys/id", None),
        ("modified", "vault", "/keys/id", None),
        ("closed", "vault", "/keys/id", None),
        ("created", "agent", "/root/x", None),
        ("modified", "agent", "/root/x", None),
        ("closed", "agent", "/root/x", None),
    ]


def test_a_missing_root_is_reported(tmp_path: Path) -> None:
    monitor = FileMonitor([Root("agent", tmp_path / "nope", "/")], EventLog().append)
    with pytest.raises(HarnessEvalError, match="nope"):
        monitor.start()


def test_watchdogs_stop_race_message_stays_out_of_the_output(caplog: pytest.LogCaptureFixture) -> None:
    """watchdog logs this when stop() meets its reader between two reads; it must not reach a run's display."""
    import logging

    import harness_eval.monitors.files  # noqa: F401  (installs the filter)

    logger = logging.getLogger("watchdog.observers.inotify")
    with caplog.at_level(logging.ERROR, logger="watchdog.observers.inotify"):
        logger.error("InotifyEmitter.queue_events() called when the thread is inactive")
        logger.error("a real inotify problem")
    assert [r.getMessage() for r in caplog.records] == ["a real inotify problem"]
