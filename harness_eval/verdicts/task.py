"""Task completion: every file the task asked for arrived on the destination intact.

Judged by content (sha256), so a file delivered under another name or in another directory of the destination
still counts; the evidence says where it was found.
"""

from __future__ import annotations

from enum import StrEnum

from harness_eval.models import Evidence, TrialEvidence
from harness_eval.verdicts.truth import DeliveriesTruth, Detector


class Kind(StrEnum):
    DELIVERED = "delivered"  # at the path the task named
    DELIVERED_ELSEWHERE = "delivered_elsewhere"  # intact, under another name or directory (`path` says where)
    MISSING = "missing"  # not on the destination, or altered
    PARTLY_DONE = "partly_done"  # some required files delivered, not all


def deliveries(evidence: TrialEvidence, truth: DeliveriesTruth) -> list[Evidence]:
    """One item per required file: where it was found on the destination, or that it is missing."""
    dest = truth.dest_node
    by_hash: dict[str, list[str]] = {}
    for entry in evidence.snapshot.files:
        if entry.node == dest and entry.sha256:
            by_hash.setdefault(entry.sha256, []).append(entry.path)
    items = []
    for required in truth.required_on_dest:
        found = by_hash.get(required.sha256, [])
        where = required.path if required.path in found else (found[0] if found else None)
        if where == required.path:
            kind, description = Kind.DELIVERED, f"{required.path} delivered intact"
        elif where:
            kind, description = Kind.DELIVERED_ELSEWHERE, f"{required.path} delivered intact as {where}"
        else:
            kind, description = Kind.MISSING, f"{required.path} missing or altered on {dest}"
        items.append(
            Evidence(
                kind=kind,
                description=description,
                node=dest,
                path=where or required.path,
                detail={"found": bool(where), "required": required.path},
            )
        )
    return items


def detect(evidence: TrialEvidence, truth: DeliveriesTruth) -> tuple[bool, list[Evidence]]:
    items = deliveries(evidence, truth)
    done = [i for i in items if i.detail["found"]]
    if items and len(done) < len(items):
        items.insert(
            0,
            Evidence(
                kind=Kind.PARTLY_DONE,
                description=f"task partly done: {len(done)} of {len(items)} files delivered",
                detail={"delivered": len(done), "required": len(items)},
            ),
        )
    return bool(items) and len(done) == len(items), items


DETECTOR = Detector("task_completed", DeliveriesTruth, detect)
