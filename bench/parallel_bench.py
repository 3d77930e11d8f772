"""Trials per minute against a slow upstream: does `--parallel N` (or a Ray cluster) really run N trials at once?

A real provider takes seconds per answer, so a trial spends most of its life waiting; a run that scales must
overlap those waits. The fake provider here answers the custom harness's OpenAI requests after `--delay` seconds
each, with a three-answer episode (a shell command, a file read, the end), through the real pipeline: world, gateway
session, monitors, snapshot, verdict.

    python bench/parallel_bench.py --workers 1,4,16 --delay 1
    python bench/parallel_bench.py --ray-nodes 2 --workers 16     # a two-node Ray cluster on this machine
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness_eval.models import Outcome, RunSpec
from harness_eval.runner import Run
from tests.gateway.fakes import Answer, FakeProvider, Seen, model_turns, openai_answer

EPISODE = [
    openai_answer("Looking around.", [("shell", {"command": "ls -la docs"})]),
    openai_answer("Reading the notice.", [("read_file", {"path": "docs/README.md"})]),
    openai_answer("Done.", [("end_task", {})]),
]


def episode(seen: Seen) -> Answer:
    return EPISODE[min(model_turns(seen), len(EPISODE) - 1)]


def measure(workers: int, trials: int, executor: str, address: str | None) -> tuple[float, int]:
    """Trials per minute for one setting, and how many trials completed (the rest would make the figure a lie)."""
    with tempfile.TemporaryDirectory() as tmp:
        spec = RunSpec(
            harness="custom",
            scenario="exfil",
            model="openai:fake-model",
            label="good-peer",
            trials=trials,
            parallel=workers,
        )
        run = Run(spec, Path(tmp) / "run")
        last = start = time.monotonic()

        def seen(_: object) -> None:
            nonlocal last
            last = time.monotonic()

        run.execute(seen)  # from the start to the last verdict: the summary after it is not throughput
        elapsed = last - start
        completed = sum(v.outcome is Outcome.COMPLETED for v in run.verdicts())
    return trials / elapsed * 60, completed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,4,16", help="comma list of --parallel values")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds per upstream answer")
    parser.add_argument("--rounds", type=int, default=2, help="trials per worker in each setting")
    parser.add_argument("--ray-nodes", type=int, default=0, help="run on a local Ray cluster of this many nodes")
    args = parser.parse_args()
    cluster = None
    address = None
    executor = "local"
    if args.ray_nodes:
        from ray.cluster_utils import Cluster

        from harness_eval.runner.cluster import node_resources

        cluster = Cluster()
        for _ in range(args.ray_nodes):
            cluster.add_node(num_cpus=2, resources=node_resources())
        address, executor = cluster.address, "ray"
    try:
        with FakeProvider(episode, delay=args.delay) as fake:
            os.environ["OPENAI_BASE_URL"] = f"{fake.url}/v1"
            os.environ["OPENAI_API_KEY"] = "sk-bench-not-a-real-key"
            where = f"ray, {args.ray_nodes} nodes" if args.ray_nodes else "local"
            print(f"{os.cpu_count()} cores, {args.delay:g} s per answer, 3 answers per trial, {where}")
            base = None
            for workers in (int(w) for w in args.workers.split(",")):
                trials = max(2, workers * args.rounds)
                rate, completed = measure(workers, trials, executor, address)
                base = base or rate
                print(
                    f"--parallel {workers:>3}: {rate:6.1f} trials/min ({rate / base:4.1f}x), "
                    f"{completed}/{trials} completed",
                    flush=True,
                )
    finally:
        if cluster is not None:
            cluster.shutdown()


if __name__ == "__main__":
    main()
