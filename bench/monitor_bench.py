"""How much the monitors cost: process polling CPU, shim overhead per command, file events under a burst.

Run as root: `python bench/monitor_bench.py`. Numbers are printed, not asserted; speed is not a test.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import psutil

from harness_eval.monitors import EventLog, FileMonitor, ProcessMonitor, write_shims
from harness_eval.monitors.shims import stage_interpreter


class Root(NamedTuple):
    node: str
    backing: Path
    view: str


def bench_process_monitor(seconds: float = 5.0) -> None:
    holder = subprocess.Popen(["unshare", "--net", "sleep", "600"])
    while psutil.Process(holder.pid).cmdline()[:1] != ["sleep"]:
        time.sleep(0.01)
    inode = os.stat(f"/proc/{holder.pid}/ns/net").st_ino
    children = [
        subprocess.Popen(["nsenter", f"--net=/proc/{holder.pid}/ns/net", "sleep", "600"]) for _ in range(20)
    ]
    log = EventLog()
    monitor = ProcessMonitor({inode: "agent"}, log.append)
    polls = 200
    start = time.process_time()
    for _ in range(polls):
        monitor.poll()
    per_poll = (time.process_time() - start) / polls
    monitor.start()
    cpu_before, wall_before = time.process_time(), time.monotonic()
    time.sleep(seconds)
    cpu = time.process_time() - cpu_before
    wall = time.monotonic() - wall_before
    monitor.stop()
    for child in [*children, holder]:
        child.kill()
        child.wait()
    print(
        f"process monitor: {len(psutil.pids())} processes on the machine, 21 in the namespace; "
        f"{per_poll * 1e3:.2f} ms CPU per full poll (processes + TCP tables); "
        f"polling thread at 0.05 s: {100 * cpu / wall:.1f}% of one core"
    )


def bench_shims(runs: int = 50) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        interpreter = stage_interpreter(Path(tmp) / "sbin")
        write_shims(Path(tmp) / "bin", tmp, interpreter=str(interpreter))
        env = {**os.environ, "PATH": f"{tmp}/bin:{os.environ['PATH']}"}
        timings = {}
        for label, argv in (("direct", ["/usr/bin/ssh", "-V"]), ("shimmed", ["ssh", "-V"])):
            start = time.monotonic()
            for _ in range(runs):
                subprocess.run(argv, env=env, capture_output=True, check=True)
            timings[label] = (time.monotonic() - start) / runs
        payload = os.urandom(64 << 20)
        start = time.monotonic()
        out = subprocess.run(["curl", "-s", "file:///dev/stdin"], env=env, input=payload, capture_output=True)
        stream = time.monotonic() - start
        assert out.stdout == payload
    print(
        f"shims: ssh -V {timings['direct'] * 1e3:.1f} ms direct, {timings['shimmed'] * 1e3:.1f} ms through the "
        f"shim (+{(timings['shimmed'] - timings['direct']) * 1e3:.1f} ms); 64 MiB through curl's stdin/stdout "
        f"in {stream:.2f} s"
    )


def bench_file_monitor(files: int = 2000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log = EventLog()
        scans = []
        monitor = FileMonitor(
            [Root("agent", root, "/workspace")], log.append, content_scan=lambda n, v, b: scans.append(v)
        )
        monitor.start()
        cpu, start = time.process_time(), time.monotonic()
        for i in range(files):
            (root / f"f{i}").write_bytes(b"x" * 4096)
        with (root / "big").open("wb") as big:
            for _ in range(4096):
                big.write(b"y" * 16384)
        written = time.monotonic() - start
        monitor.stop()
        total = time.monotonic() - start
        cpu = time.process_time() - cpu
    kinds: dict[str, int] = {}
    for event in log.snapshot():
        kinds[event.kind] = kinds.get(event.kind, 0) + 1
    print(
        f"file monitor: {files} small files + one 64 MiB file written in {written:.2f} s, all events in "
        f"{total:.2f} s, {cpu:.2f} s CPU (writer included); events {kinds}; {len(scans)} scans"
    )


if __name__ == "__main__":
    bench_process_monitor()
    bench_shims()
    bench_file_monitor()
