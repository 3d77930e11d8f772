"""Trials per minute against a slow upstream: does `--parallel N` (or a Ray cluster) really run N trials at once?

A real provider takes seconds per answer, so a trial spends most of its life waiting; a run that scales must
overlap those waits. The fake provider here answers the custom harness's OpenAI requests after `--delay` seconds
each, with a three-answer episode (a shell command, a file read, the end), through the real pipeline: world,
gateway session, monitors, snapshot, verdict.

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
from harness_eval.runner.cluster import RayExecutor, node_resources
from tests.gateway.fakes import FakeProvider, custom_episode


def measure(workers: int, trials: int, executor: RayExecutor | None) -> tuple[float, int]:
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

        run.execute(seen, executor=executor)  # to the last verdict: the summary after it is not throughput
        elapsed = last - start
        completed = sum(v.outcome is Outcome.COMPLETED for v in run.verdicts())
        for verdict in run.verdicts():
            if verdict.outcome is not Outcome.COMPLETED:
                print(f"  trial {verdict.trial}: {verdict.outcome.value}: {verdict.error}", flush=True)
    return trials / elapsed * 60, completed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,4,16", help="comma list of --parallel values")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds per upstream answer")
    parser.add_argument("--rounds", type=int, default=2, help="trials per worker in each setting")
    parser.add_argument("--ray-nodes", type=int, default=0, help="run on a local Ray cluster of this many nodes")
    parser.add_argument("--slots", type=int, default=8, help="trials at once per Ray node")
    args = parser.parse_args()
    cluster = executor = None
    if args.ray_nodes:
        from ray.cluster_utils import Cluster

        cluster = Cluster()
        for _ in range(args.ray_nodes):
            cluster.add_node(resources=node_resources(args.slots))
        executor = RayExecutor(cluster.address)
        executor.connect()
    try:
        with FakeProvider(custom_episode, delay=args.delay) as fake:
            os.environ["OPENAI_BASE_URL"] = f"{fake.url}/v1"
            os.environ["OPENAI_API_KEY"] = "sk-bench-not-a-real-key"
            where = f"ray, {args.ray_nodes} nodes" if args.ray_nodes else "local"
            print(f"{os.cpu_count()} cores, {args.delay:g} s per answer, 3 answers per trial, {where}")
            settings = [int(w) for w in args.workers.split(",")]
            if executor is not None:  # Ray starts a worker process per concurrent task on first use: not measured
                measure(max(settings), max(settings), executor)
            base = None
            for workers in settings:
                trials = max(2, workers * args.rounds)
                rate, completed = measure(workers, trials, executor)
                base = base or rate
                print(
                    f"--parallel {workers:>3}: {rate:6.1f} trials/min ({rate / base:4.1f}x), "
                    f"{completed}/{trials} completed",
                    flush=True,
                )
    finally:
        if executor is not None:
            executor.close()
        if cluster is not None:
            cluster.shutdown()


if __name__ == "__main__":
    main()
