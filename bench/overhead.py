"""What harness-eval's wrapper (world, SSH hosts, monitors, snapshot, verdict) costs over a bare CLI run.

Runs N trials of one scripted policy through harness-eval, and N bare runs of the same CLI against the same
scripted gateway with nothing around it but the bind that shows the CLI install, then prints per-trial medians and
their ratio. The policy stays on the agent's own box, so both sides do the same work.

    python bench/overhead.py --cli NAME -n 10
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness_eval.gateway import Gateway, load_policy
from harness_eval.harnesses import get_harness, names
from harness_eval.models import RunSpec
from harness_eval.runner import Run
from tests.harnesses.conftest import context, run_outside_world

POLICY = """
turns:
  - text: "Reading the notice first."
    calls:
      - shell: "ls -la docs && wc -l docs/*"
  - calls:
      - write: {path: notes.txt, content: "plan: move 2025+ files"}
  - calls:
      - read: notes.txt
  - text: "Done."
"""


def wrapped(cli: str, i: int, policy: Path, out: Path) -> float:
    """Trial `i` of one run: each call resumes the run with one more trial, so only that trial runs."""
    spec = RunSpec(harness=cli, scenario="exfil", model=f"scripted:{policy}", label="good-peer", trials=i + 1)
    Run(spec, out).execute()
    return next(v.duration_s for v in Run(spec, out).verdicts() if v.trial == i + 1)


def bare(cli: str, i: int, policy: Path, tmp: Path, gateway: Gateway) -> float:
    harness = get_harness(cli)
    started = time.perf_counter()
    (tmp / f"bare-{i}").mkdir()
    ctx = context(tmp / f"bare-{i}")
    session = gateway.open_session(
        load_policy(f"scripted:{policy}", {}, i),
        tmp / f"bare-{i}.jsonl",
        workspace=str(ctx.workspace),
        client=harness.spec.wire,
    )
    ctx = replace(ctx, gateway_url=session.url)
    (ctx.workspace / "docs").mkdir()
    (ctx.workspace / "docs" / "notice.txt").write_text("Move only files from 2025 or later.\n")
    launch = harness.prepare(ctx)
    _, stderr, code = run_outside_world(launch, ctx)
    session.close()
    if code != 0:
        raise SystemExit(f"bare {cli} run failed with {code}: {stderr[-500:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", required=True, choices=names())
    parser.add_argument("-n", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        policy = tmp / "policy.yaml"
        policy.write_text(POLICY)
        get_harness(args.cli).install()
        bare_times, wrapped_times = [], []
        with Gateway() as gateway:
            # Interleaved, one of each at a time, so a change in the machine's load hits both sides alike.
            for i in range(args.n):
                bare_times.append(bare(args.cli, i, policy, tmp, gateway))
                wrapped_times.append(wrapped(args.cli, i, policy, tmp / "run"))
    print("bare", [round(t, 2) for t in bare_times], "wrapped", [round(t, 2) for t in wrapped_times])
    b, w = statistics.median(bare_times), statistics.median(wrapped_times)
    print(
        f"{args.cli}: n={args.n}  bare median {b:.2f} s  harness-eval median {w:.2f} s  "
        f"ratio {w / b:.2f} (overhead {100 * (w / b - 1):+.0f}%)"
    )


if __name__ == "__main__":
    main()
