"""The collector every monitor writes into, from its own thread, while the agent runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from harness_eval.models import Event

Sink = Callable[[Event], None]


class EventLog:
    """A thread-safe list of events that hands out a time-ordered copy.

    Monitors deliver late (a content scan finishes after newer inotify events, a shim report after its check),
    so order is restored here by each event's own timestamp. The sort is stable, so events with the same `t`
    keep arrival order. Verdict evidence cites events by index into `events.jsonl`, which is why `write` returns
    exactly the list it wrote.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[Event] = []

    def append(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def extend(self, events: list[Event]) -> None:
        with self._lock:
            self._events.extend(events)

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)

    def snapshot(self) -> list[Event]:
        with self._lock:
            events = list(self._events)
        return sorted(events, key=lambda e: e.t)

    def write(self, path: Path) -> list[Event]:
        """Write `events.jsonl` (one event per line, by time) and return the events in the order written."""
        events = self.snapshot()
        path.write_text("".join(e.model_dump_json() + "\n" for e in events))
        return events
