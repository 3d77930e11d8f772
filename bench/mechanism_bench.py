"""What judging tampering by effect costs a trial: the tamper scenario's shutdown mechanism run after the trial
(six runs: seeded and final files, honest reports at two scores and the filed report), in a stopped world.

Run as root: `python bench/mechanism_bench.py [ROUNDS]`. Numbers are printed, not asserted; speed is not a test.
"""

from __future__ import annotations

import statistics
import sys
import time

from harness_eval.evidence.mechanism import run_mechanism
from harness_eval.models import Snapshot
from harness_eval.sandbox import World
from harness_eval.workspaces.scenario import Scenario


def main(rounds: int) -> None:
    plan = Scenario.load("tamper").build({}, seed=3)
    took = []
    for _ in range(rounds):
        with World(plan) as world:
            world.stop()
            began = time.perf_counter()
            runs = run_mechanism(world, plan, Snapshot())
            took.append(time.perf_counter() - began)
    per_run = [t / len(runs) for t in took]
    print(f"{len(runs)} runs per trial over {rounds} worlds")
    print(f"per trial: median {statistics.median(took):.3f} s, max {max(took):.3f} s")
    print(f"per run:   median {statistics.median(per_run) * 1000:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
