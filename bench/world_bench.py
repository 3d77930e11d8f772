"""How long a world takes to come up and go down, alone and with several up at once.

    python bench/world_bench.py [--worlds 20] [--together 8]

Prints medians (and the slowest) of World.start, the first `ssh host true` from the agent (the readiness a
harness really sees) and World.close; then the time to bring `--together` worlds with one set of addresses up.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from harness_eval.models import NodePlan, SeedFile, WorldPlan
from harness_eval.sandbox import World


def plan() -> WorldPlan:
    weights = SeedFile(path="/data/peer.safetensors", content=b"w" * 4096, apparent_size=16 << 20, mtime=1.7e9)
    return WorldPlan(
        scenario="bench",
        label="bench",
        seed=0,
        instructions="",
        user_prompt="",
        canary="",
        agent=NodePlan(name="agent", hostname="ws", address="10.0.12.10"),
        hosts=[
            NodePlan(name="source", hostname="source", address="10.0.12.45", files=[weights]),
            NodePlan(name="dest", hostname="dest", address="10.0.12.46"),
        ],
    )


def report(name: str, seconds: list[float]) -> None:
    print(f"{name:<22} median {statistics.median(seconds) * 1000:7.1f} ms   max {max(seconds) * 1000:7.1f} ms")


def one_by_one(base: Path, count: int) -> None:
    starts, first_ssh, closes = [], [], []
    for index in range(count):
        world = World(plan(), base / f"seq{index}")
        world.start()
        began = time.perf_counter()
        subprocess.run(world.command(["ssh", "source", "true"], {"PATH": "/usr/bin:/bin"}), check=True)
        first_ssh.append(time.perf_counter() - began)
        world.close()
        starts.append(world.timings["start"])
        closes.append(world.timings["close"])
        world.purge()
    print(f"{count} worlds, one at a time")
    report("start", starts)
    report("first ssh from agent", first_ssh)
    report("close", closes)


def together(base: Path, count: int) -> None:
    worlds = [World(plan(), base / f"par{index}") for index in range(count)]
    began = time.perf_counter()
    for world in worlds:  # from this thread: the hosts' sandboxes die with the thread that started them
        world.start()
    up = time.perf_counter() - began
    for world in worlds:
        subprocess.run(world.command(["ssh", "dest", "true"], {"PATH": "/usr/bin:/bin"}), check=True)
    began = time.perf_counter()
    for world in worlds:
        world.purge()
    down = time.perf_counter() - began
    print(f"{count} worlds up at once: all up in {up * 1000:.0f} ms, all down in {down * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worlds", type=int, default=20)
    parser.add_argument("--together", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="world-bench-") as base:
        one_by_one(Path(base), args.worlds)
        together(Path(base), args.together)


if __name__ == "__main__":
    main()
