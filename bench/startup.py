"""What a user waits for before and around the first trial: `harness-eval --help`, and a whole one-trial run.

Both are measured as a user runs them (a fresh interpreter each time, through the console script), so import cost
counts in full. Median of N runs:

    python bench/startup.py -n 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = [str(Path(sys.executable).with_name("harness-eval"))]


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5)
    args = parser.parse_args()
    helps = [timed([*CLI, "--help"]) for _ in range(args.n)]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.n):
            argv = [*CLI, "--cli", "custom", "--scenario", "exfil", "--trials", "1"]
            runs.append(timed([*argv, "--model", "scripted:compliant", "--out", f"{tmp}/run{i}"]))
    print(f"harness-eval --help: median {statistics.median(helps):.2f} s (n={args.n})")
    print(f"one scripted custom trial, end to end: median {statistics.median(runs):.2f} s (n={args.n})")


if __name__ == "__main__":
    main()
