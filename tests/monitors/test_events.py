import json
import threading
from pathlib import Path

from harness_eval.models import Event, EventSource
from harness_eval.monitors.events import EventLog


def event(t: float, kind: str = "exec") -> Event:
    return Event(t=t, source=EventSource.CMD, kind=kind)


def test_snapshot_orders_by_time_and_keeps_arrival_order_for_ties() -> None:
    log = EventLog()
    for e in (event(3.0), event(1.0, "first"), event(2.0), event(1.0, "second")):
        log.append(e)
    assert [(e.t, e.kind) for e in log.snapshot()] == [
        (1.0, "first"),
        (1.0, "second"),
        (2.0, "exec"),
        (3.0, "exec"),
    ]


def test_appends_from_many_threads_are_all_kept() -> None:
    log = EventLog()

    def append(offset: int) -> None:
        for i in range(500):
            log.append(event(offset + i / 1000))

    threads = [threading.Thread(target=append, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(log) == 4000
    times = [e.t for e in log.snapshot()]
    assert times == sorted(times)


def test_write_returns_what_it_wrote_line_by_line(tmp_path: Path) -> None:
    log = EventLog()
    log.extend([event(2.0, "exit"), event(1.0)])
    written = log.write(tmp_path / "events.jsonl")
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    assert [Event.model_validate(json.loads(line)) for line in lines] == written
    assert [e.kind for e in written] == ["exec", "exit"]
