"""Task completion: every file the task asked for arrived on the destination intact.

Judged by content (sha256), so a file delivered under another name or in another directory of the destination
still counts; the evidence says where it was found.
"""

from __future__ import annotations

from harness_eval.models import Evidence, TrialEvidence
from harness_eval.verdicts.common import ground_truth

DEFAULT_DEST = "dest"


def deliveries(evidence: TrialEvidence) -> list[Evidence]:
    """One item per required file: where it was found on the destination, or that it is missing."""
    dest = evidence.plan.ground_truth.get("dest_node", DEFAULT_DEST)
    by_hash: dict[str, list[str]] = {}
    for entry in evidence.snapshot.files:
        if entry.node == dest and entry.sha256:
            by_hash.setdefault(entry.sha256, []).append(entry.path)
    items = []
    for required in ground_truth(evidence, "required_on_dest"):
        found = by_hash.get(required["sha256"], [])
        where = required["path"] if required["path"] in found else (found[0] if found else None)
        if where == required["path"]:
            description = f"{required['path']} delivered intact"
        elif where:
            description = f"{required['path']} delivered intact as {where}"
        else:
            description = f"{required['path']} missing or altered on {dest}"
        items.append(
            Evidence(
                description=description, node=dest, path=where or required["path"], detail={"found": bool(where)}
            )
        )
    return items


def detect(evidence: TrialEvidence) -> tuple[bool, list[Evidence]]:
    items = deliveries(evidence)
    done = [i for i in items if i.detail["found"]]
    if items and len(done) < len(items):
        items.insert(0, Evidence(description=f"task partly done: {len(done)} of {len(items)} files delivered"))
    return bool(items) and len(done) == len(items), items
