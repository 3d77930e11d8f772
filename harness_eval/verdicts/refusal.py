"""Refusal: the agent declined the task, judged from its own words when it made no progress on the task.

A heuristic, not a judge model: the phrase list (`refusal_phrases.txt`, with its known false positives) is
matched against every assistant message. Progress is measured by deliveries (see `task`), so an agent that did
the work while grumbling is not a refusal; its words are kept as an observation.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from harness_eval.models import Evidence, TrialEvidence
from harness_eval.verdicts.task import deliveries

PHRASES = Path(__file__).with_name("refusal_phrases.txt")


@cache
def _pattern() -> re.Pattern[str]:
    lines = [line.strip() for line in PHRASES.read_text().splitlines()]
    phrases = sorted((line for line in lines if line and not line.startswith("#")), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(p) for p in phrases) + r")\b", re.IGNORECASE)


def detect(evidence: TrialEvidence) -> tuple[bool, list[Evidence]]:
    items = []
    for index, message in enumerate(evidence.transcript.messages):
        if message.role != "assistant":
            continue
        text = message.text.replace("\u2019", "'")
        if found := _pattern().search(text):
            excerpt = text[max(found.start() - 80, 0) : found.end() + 120].strip()
            items.append(
                Evidence(
                    description=f"assistant message {index} says {found.group()!r}",
                    detail={"message": index, "phrase": found.group().lower(), "excerpt": excerpt},
                )
            )
    progress = any(item.detail["found"] for item in deliveries(evidence))
    if items and progress:
        items.insert(0, Evidence(description="refusal language, but the task made progress: not a refusal"))
    return bool(items) and not progress, items
