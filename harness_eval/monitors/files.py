"""File monitor: inotify (through watchdog) over every node's backing directories, reported in the node's view.

The final snapshot only shows what is left at the end; an agent that copies a peer's weights somewhere and deletes
the copy leaves nothing there. So besides recording what happened, the monitor hands every file that may have
gained content to `content_scan` (the caller's content scanner) while it still exists, and stores the answer in the
event. Scans run on a worker thread, never on watchdog's, so a slow scan delays its own event but loses none.
"""

from __future__ import annotations

import logging
import os
import queue
import stat
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from uuid import uuid4

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.inotify import InotifyObserver

from harness_eval.errors import HarnessEvalError
from harness_eval.models import Event, EventSource
from harness_eval.monitors.events import Sink

# Opens and directory "modified" notifications are left out: they are the bulk of the traffic and say nothing
# about where data went. A file's attributes changing (`touch -d`, `chmod`) is kept with the times it was left
# with, so a re-dating that is undone later is still on record; a read is kept for files of `READ_MIN` bytes
# or more (the data worth copying), as `read`, so that what the agent made can be put after what it read.
READ_MIN = 64 << 10
_WATCHED: list[type[FileSystemEvent]] = [
    FileAttribEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    DirCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileDeletedEvent,
    DirDeletedEvent,
    FileMovedEvent,
    DirMovedEvent,
]
_FLUSH_PREFIX = ".fsmon-flush-"
_FLUSH_TIMEOUT = 10.0
_SETTLE = 0.2

# Returns anything JSON-able (the runner: a list of artifact matches); None means "nothing to note".
ContentScan = Callable[[str, str, Path], Any]


class _StopRace(logging.Filter):
    """watchdog logs an error when `stop()` lands while its reader thread is between two reads; nothing is lost
    (`stop` flushes every stream first), and the line would land in the middle of a run's progress display."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "called when the thread is inactive" not in record.getMessage()


logging.getLogger("watchdog.observers.inotify").addFilter(_StopRace())
# watchdog warns when a watched directory is re-created under the same path (CLIs do that in their homes); it
# re-watches correctly.
warnings.filterwarnings("ignore", message="Callback with id", category=RuntimeWarning)


class WatchRoot(Protocol):
    """A directory tree of one node: where it lives on this machine, and where the node sees it."""

    @property
    def node(self) -> str: ...

    @property
    def backing(self) -> Path: ...

    @property
    def view(self) -> str: ...


@dataclass(frozen=True)
class _Scan:
    event: Event
    node: str
    backing: Path
    # For a file that appeared already full (hard link, moved in from outside): the number of closes seen when
    # the scan was queued. If a close came since, that close brings its own scan and this one is skipped.
    closes: int | None = None
    not_before: float = 0.0  # monotonic time before which such a file is not judged


def _regular_size(path: str) -> int | None:
    """Size of a regular file, else None (gone, or not a file).

    Never follows links: a symlink in a backing tree points into *this* machine's filesystem, not the node's.
    """
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


class _Handler(FileSystemEventHandler):
    def __init__(self, observe: Callable[[FileSystemEvent], None], sink: Sink) -> None:
        self._observe = observe
        self._sink = sink

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self._observe(event)
        except Exception as exc:  # an exception here would end watchdog's thread and every later event with it
            error = f"{type(exc).__name__}: {exc} (on {event!r})"
            self._sink(Event(t=time.time(), source=EventSource.FS, kind="error", detail={"error": error}))


class FileMonitor:
    """Watch the roots of a world and emit `fs` events (`created`, `modified`, `closed`, `deleted`, `moved`,
    `attrib`, `read`).

    Paths in events are always the node's view, never the backing path. A write produces one `modified` when it
    starts and one `closed` (with `detail["writes"]`, the number of modify notifications coalesced) when the file
    is closed; `content_scan(node, view_path, backing_path)` is called for each `closed` file, for a file moved in
    that was never scanned, and for a file that appears already non-empty without being written (a hard link, a
    file moved in from outside the roots); its result goes to `detail["matches"]`.
    """

    def __init__(self, roots: Iterable[WatchRoot], sink: Sink, content_scan: ContentScan | None = None) -> None:
        roots = list(roots)
        # Longest backing path first, so a nested root wins when translating a path.
        self._roots = sorted(roots, key=lambda r: len(str(r.backing)), reverse=True)
        # A nested (or repeated) root is already covered by the one above it; watching both would report twice.
        self._watched: list[WatchRoot] = []
        for root in sorted(roots, key=lambda r: len(r.backing.parts)):
            if not any(root.backing.is_relative_to(w.backing) for w in self._watched):
                self._watched.append(root)
        self._sink = sink
        self._content_scan = content_scan
        self._observer: InotifyObserver | None = None
        self._scans: queue.Queue[_Scan | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        self._writes: dict[str, int] = {}  # backing path -> modify notifications since its last close
        self._closes: dict[str, int] = {}
        self._scanned: set[str] = set()  # backing paths whose current content went to content_scan
        self._present: set[str] = set()  # backing paths reported created and not gone since
        self._flush_marks: set[str] = set()
        self._flushed = threading.Event()

    def __enter__(self) -> FileMonitor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Install every watch before returning, so nothing the agent does after this is missed."""
        missing = [str(r.backing) for r in self._watched if not r.backing.is_dir()]
        if missing:
            raise HarnessEvalError(f"cannot watch missing directories: {', '.join(missing)}")
        observer = InotifyObserver(generate_full_events=True)
        handler = _Handler(self._observe, self._sink)
        for root in self._watched:
            observer.schedule(handler, str(root.backing), recursive=True, event_filter=_WATCHED)
        self._worker = threading.Thread(target=self._scan_loop, name="file-monitor-scans", daemon=True)
        self._worker.start()
        observer.start()
        self._observer = observer

    def stop(self) -> None:
        """Deliver every event that happened before this call (scans included), then stop watching."""
        observer, self._observer = self._observer, None
        if observer is None:
            return
        self._flush()
        observer.stop()
        observer.join()
        self._scans.put(None)
        if self._worker is not None:
            self._worker.join()

    def _flush(self) -> None:
        """Push a marker through each root's event stream and wait for it.

        watchdog delivers each root's events in order but holds some back (a rename is paired for up to 0.5 s),
        and stopping it drops whatever it still holds. A directory created and removed in every root comes out
        of each stream after all earlier events, so once every marker is seen nothing earlier is pending. The
        root's timestamps are put back so the marker leaves no trace in the snapshot.
        """
        marks = {str(root.backing / f"{_FLUSH_PREFIX}{uuid4().hex}"): root.backing for root in self._watched}
        with self._lock:
            self._flush_marks = set(marks)  # all of them before the first can be seen
            if not marks:
                self._flushed.set()
        restore = []
        for mark, backing in marks.items():
            try:
                before = os.stat(backing)
                os.mkdir(mark)
                os.rmdir(mark)
            except OSError:
                self._mark_seen(mark)  # nothing will come through this root: do not wait for it
                continue
            restore.append((backing, before))
        self._flushed.wait(_FLUSH_TIMEOUT)
        for backing, before in restore:
            os.utime(backing, ns=(before.st_atime_ns, before.st_mtime_ns))

    def _locate(self, backing: str) -> tuple[str, str] | None:
        for root in self._roots:
            base = str(root.backing)
            if backing == base or backing.startswith(base + "/"):
                return root.node, root.view.rstrip("/") + backing[len(base) :] or "/"
        return None

    def _observe(self, fs_event: FileSystemEvent) -> None:
        """Runs on watchdog's dispatch thread: translate, coalesce and decide whether the file needs a scan."""
        kind = fs_event.event_type
        src, dest = os.fsdecode(fs_event.src_path), os.fsdecode(fs_event.dest_path)
        detail: dict[str, Any] = {"dir": True} if fs_event.is_directory else {}
        # A rename across a root's edge has only one side: it is a creation or a deletion for us.
        if kind == "moved" and not src:
            kind, src, dest, detail["moved_in"] = "created", dest, "", True
        elif kind == "moved" and not dest:
            kind, detail["moved_out"] = "deleted", True
        if os.path.basename(src).startswith(_FLUSH_PREFIX):
            if kind == "deleted":
                self._mark_seen(src)
            return
        located = self._locate(src)
        if located is None:
            return
        node, view = located
        if kind in ("attrib", "closed_no_write"):
            self._attributes(kind, node, view, src)
            return
        dest_view = None
        scan: tuple[str, str, int | None] | None = None  # (node, backing path, closes) of a file to scan
        with self._lock:
            if kind == "modified":
                seen = self._writes.get(src, 0)
                self._writes[src] = seen + 1
                if seen:
                    return
            elif kind == "closed":
                if writes := self._writes.pop(src, 0):
                    detail["writes"] = writes
                self._closes[src] = self._closes.get(src, 0) + 1
                scan = (node, src, None)
            elif kind == "created":
                if src in self._present:
                    return  # watchdog reports a new directory twice when it also simulates its creation
                self._present.add(src)
                if not fs_event.is_directory and _regular_size(src):
                    scan = (node, src, self._closes.get(src, 0))
            elif kind == "deleted":
                self._forget(src)
            elif kind == "moved":
                writes, was_scanned = self._writes.get(src), src in self._scanned
                self._forget(src)
                dest_located = self._locate(dest)
                if dest_located is not None:
                    self._present.add(dest)
                    dest_node, dest_view = dest_located
                    if dest_node != node:
                        detail["dest_node"] = dest_node
                    if writes is not None:
                        self._writes[dest] = writes
                    if was_scanned:
                        self._scanned.add(dest)
                    elif not fs_event.is_directory and _regular_size(dest) is not None:
                        scan = (dest_node, dest, None)
        event = Event(
            t=time.time(),
            source=EventSource.FS,
            kind=kind,
            node=node,
            path=view,
            dest_path=dest_view,
            detail=detail,
        )
        if scan is not None and self._content_scan is not None:
            node, backing, closes = scan
            settle = 0.0 if closes is None else time.monotonic() + _SETTLE
            self._scans.put(_Scan(event, node, Path(backing), closes=closes, not_before=settle))
        else:
            self._sink(event)

    def _attributes(self, kind: str, node: str, view: str, backing: str) -> None:
        """An `attrib` event with the times the file now has, or a `read` of a large file, with its size."""
        try:
            info = os.lstat(backing)
        except OSError:
            return
        if not stat.S_ISREG(info.st_mode):
            return
        if kind == "attrib":
            detail: dict[str, Any] = {"mtime": info.st_mtime, "ctime": info.st_ctime}
        elif info.st_size >= READ_MIN:
            kind, detail = "read", {"size": info.st_size}
        else:
            return
        self._sink(Event(t=time.time(), source=EventSource.FS, kind=kind, node=node, path=view, detail=detail))

    def _forget(self, backing: str) -> None:
        self._present.discard(backing)
        self._writes.pop(backing, None)
        self._scanned.discard(backing)

    def _mark_seen(self, mark: str) -> None:
        with self._lock:
            self._flush_marks.discard(mark)
            if not self._flush_marks:
                self._flushed.set()

    def _scan_loop(self) -> None:
        """Scan queued files in order; hold files that appeared full for a moment before deciding.

        Opening a new file for writing also makes it appear (often already non-empty by the time we look), and
        its writes and close follow in the stream a moment later; waiting `_SETTLE` lets them arrive, so the file
        is scanned once, at its close, not twice. After stop() every event is in, so held files are due at once.
        """
        held: deque[_Scan] = deque()
        while True:
            if held and held[0].not_before <= time.monotonic():
                self._scan(held.popleft())
                continue
            try:
                job = self._scans.get(timeout=max(0.0, held[0].not_before - time.monotonic()) if held else None)
            except queue.Empty:
                continue
            if job is None:
                for waiting in held:
                    self._scan(waiting)
                return
            if job.closes is None:
                self._scan(job)
            else:
                held.append(job)

    def _scan(self, job: _Scan) -> None:
        path = str(job.backing)
        with self._lock:
            # A file that appeared full but has been written since will be scanned when it is closed.
            superseded = job.closes is not None and (
                path in self._writes or self._closes.get(path, 0) != job.closes
            )
            present = not superseded and _regular_size(path) is not None
            if present:
                self._scanned.add(path)
        if present and self._content_scan is not None:
            view = job.event.dest_path or job.event.path or "/"
            try:
                matches = self._content_scan(job.node, view, job.backing)
            except Exception as exc:  # a broken scanner must not cost us the event itself
                job.event.detail["scan_error"] = f"{type(exc).__name__}: {exc}"
                with self._lock:
                    self._scanned.discard(path)  # so that wherever it went, it is scanned again
            else:
                if matches is not None:
                    job.event.detail["matches"] = matches
        elif not superseded:
            job.event.detail["scan_error"] = "gone before it could be scanned"
        self._sink(job.event)
