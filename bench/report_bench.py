"""The report at scale: build time, size and first paint in headless Chromium for many synthetic trials.

One real trial is run first (the custom harness, the simulated model, exfil), and its evidence files (events,
gateway log, transcript) are hard-linked into every synthetic trial, so each trial page reads and renders a real
trial's timeline; only the verdicts differ (seeded outcomes and behaviours). The trials are spread over a grid:
2 setups x 24 cells of exfil (condition x subject x intro). Measured:

- `report --site`: loading the runs, writing the folder (index and one page per trial; wall clock and CPU time,
  since the trial pages are rendered by one worker per core), the folder's size;
- `view`: until the first page is rendered, and one trial page rendered when it is opened;
- first contentful paint and load of each first page in headless Chromium, through the DevTools protocol.

    python bench/report_bench.py --trials 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from itertools import product
from pathlib import Path

from harness_eval.fileio import write_model
from harness_eval.models import Outcome, RunSpec, TokenUsage, Verdict
from harness_eval.report import load_runs
from harness_eval.report.html import write_site
from harness_eval.report.server import Viewer, serve
from harness_eval.runner import Run
from harness_eval.workspaces.scenario import cell_label
from tests.report.browser import DevTools

EVIDENCE = ("events.jsonl", "model_log.jsonl", "transcript.json")
BEHAVIORS = ("exfiltration", "spec_gaming", "task_completed", "refusal")
CELLS = [
    {"condition": c, "subject": s, "intro": i}
    for c, s, i in product(
        ("good-peer", "neutral-peer", "bad-peer", "no-peer"), ("peer", "self"), ("file", "file-prompt", "memory")
    )
]
SETUPS = (("custom", None), ("gemini", "0.61.0"))


def real_trial(root: Path) -> Path:
    spec = RunSpec(harness="custom", scenario="exfil", model="simulated", label="good-peer", trials=1, seed=2)
    Run(spec, root / "template").execute()
    return root / "template" / "trials" / "1"


def synthesize(root: Path, template: Path, trials: int) -> Path:
    """A grid parent with 2 x 24 runs holding `trials` trials between them, verdicts seeded, evidence linked."""
    rng = random.Random(0)
    grid = root / "grid"
    folders = []
    runs = [(h, v, cell) for (h, v), cell in product(SETUPS, CELLS)]
    per_run = [trials // len(runs) + (i < trials % len(runs)) for i in range(len(runs))]
    for (harness, version, cell), n in zip(runs, per_run, strict=True):
        label = cell_label(cell)
        folder = grid / harness / label.replace("/", "_")
        folders.append(str(folder.relative_to(grid)))
        spec = RunSpec(
            harness=harness,
            scenario="exfil",
            model="simulated",
            label=label,
            cell=cell,
            trials=n,
            cli_version=version,
        )
        write_model(folder / "spec.json", spec)
        rates = {b: rng.uniform(0.05, 0.6) for b in BEHAVIORS}
        for i in range(1, n + 1):
            trial = folder / "trials" / str(i)
            trial.mkdir(parents=True)
            for name in EVIDENCE:
                os.link(template / name, trial / name)
            failed = rng.random() < 0.03
            verdict = Verdict(
                trial=i,
                seed=i,
                label=label,
                outcome=Outcome.ERROR if failed else Outcome.COMPLETED,
                error="the harness exited before the model's final answer" if failed else None,
                behaviors=[] if failed else [b for b in BEHAVIORS if rng.random() < rates[b]],
                simulated=True,
                duration_s=rng.uniform(1, 5),
                tokens=TokenUsage(input=rng.randint(4000, 9000), output=rng.randint(150, 400)),
            )
            (trial / "verdict.json").write_text(verdict.model_dump_json())
    (grid / "index.json").write_text(json.dumps({"runs": folders}))
    return grid


def size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


async def paint(url: str, profile: Path) -> dict[str, float]:
    """First contentful paint and load (ms after navigation start) of `url` in a fresh headless Chromium."""
    async with DevTools(profile) as browser:
        await browser.navigate(url)
        await asyncio.sleep(0.5)  # let the paint entries land
        found: dict[str, float] = await browser.evaluate(
            "{fcp: performance.getEntriesByName('first-contentful-paint')[0].startTime,"
            " load: performance.getEntriesByType('navigation')[0].loadEventEnd,"
            " rows: document.querySelectorAll('#trials tbody tr').length}"
        )
        return found


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the site's workers): on a shared machine the
    wall clock measures the neighbours too."""
    mine, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def _paint(found: dict[str, float]) -> str:
    return f"{found['fcp']:.0f} ms / {found['load']:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="Build here and keep it (default: a temporary folder).")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="report-bench-"))
    try:
        template = real_trial(root)
        started = time.perf_counter()
        grid = synthesize(root, template, args.trials)
        print(f"synthesized {args.trials} trials in {time.perf_counter() - started:.1f} s", file=sys.stderr)

        started, cpu = time.perf_counter(), _cpu()
        runs = load_runs([grid])
        loaded = time.perf_counter() - started
        write_site(runs, root / "site")
        built, built_cpu = time.perf_counter() - started, _cpu() - cpu
        index = (root / "site" / "index.html").stat().st_size
        total = size(root / "site")

        started = time.perf_counter()
        viewer = Viewer([grid])
        first = time.perf_counter() - started
        opens = []
        for k in range(0, len(viewer.page.trials), max(1, len(viewer.page.trials) // 20)):
            started = time.perf_counter()
            viewer.trial(k)
            opens.append(time.perf_counter() - started)
        server = serve(viewer, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/"

        static = asyncio.run(paint((root / "site" / "index.html").as_uri(), root / "profile-static"))
        live = asyncio.run(paint(url, root / "profile-live"))
        server.shutdown()
        rows = [
            ("trials", f"{args.trials}"),
            ("report --site: load the runs", f"{loaded:.1f} s"),
            ("report --site: whole build (load, index, trial pages)", f"{built:.1f} s ({built_cpu:.0f} CPU-s)"),
            ("folder size (index.html)", f"{total / 2**20:.0f} MiB ({index / 2**20:.2f} MiB)"),
            (
                "folder: first contentful paint / load in Chromium",
                f"{static['fcp']:.0f} ms / {static['load']:.0f} ms",
            ),
            ("view: until the first page is ready", f"{first:.1f} s"),
            ("view: first contentful paint / load in Chromium", f"{live['fcp']:.0f} ms / {live['load']:.0f} ms"),
            ("view: a trial page when opened (median)", f"{statistics.median(opens) * 1000:.0f} ms"),
        ]
        assert static["rows"] == live["rows"] == 50, (static, live)  # the pager drew its first page
        for name, value in rows:
            print(f"| {name} | {value} |")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
