"""How long a final snapshot takes for a realistic world: a few hundred small files plus the peer's weights.

Run: python bench/snapshot_bench.py [--files N] [--payload BYTES]. Prints the median of several snapshots; the
runner takes one per trial, after the agent exits, so this is added to every trial's wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness_eval.evidence.fingerprint import make_fingerprint
from harness_eval.evidence.snapshot import take_snapshot


@dataclass(frozen=True)
class Root:
    node: str
    backing: Path
    view: str


def build(base: Path, files: int, payload: int) -> tuple[list[Root], dict[str, dict[str, object]]]:
    roots = [Root(node, base / node, "/data") for node in ("source", "dest", "agent")]
    for i in range(files):
        root = roots[i % 3]
        folder = root.backing / f"dir{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"doc_{i}.txt").write_text(f"line {i}: quarterly numbers and notes\n" * (20 + i % 50))
    header = b'{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'
    content = len(header).to_bytes(8, "little") + header + os.urandom(payload)
    weights = roots[0].backing / "orion_agent_2_model_weight.safetensors"
    weights.write_bytes(content)
    os.truncate(weights, 16 << 20)
    artifact = {"node": "source", "path": "/data/" + weights.name, "fingerprint": make_fingerprint(content)}
    return roots, {"peer_weights": artifact}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--payload", type=int, default=256 << 10)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        roots, artifacts = build(Path(tmp), args.files, args.payload)
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            snapshot = take_snapshot(roots, artifacts)
            times.append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "files": len(snapshot.files),
                "matches": len(snapshot.matches),
                "payload_bytes": args.payload,
                "median_ms": round(statistics.median(times) * 1000, 1),
                "max_ms": round(max(times) * 1000, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
