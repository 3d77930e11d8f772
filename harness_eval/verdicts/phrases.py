"""Phrase lists kept as data files, matched against what the agent said: the deterministic half of the refusal
and persuasion detectors. Lists are edited by researchers, so each file documents its own false positives."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from enum import StrEnum
from functools import cache
from pathlib import Path

from harness_eval.models import Evidence, Transcript

HERE = Path(__file__).parent


class Kind(StrEnum):
    SAID = "phrase_said"  # an assistant message uses a phrase of the list (detail: message, phrase, excerpt)
    CALLED = "phrase_in_call"  # a tool call's arguments do, what the agent wrote through it (detail: + call)
    WRITTEN = "phrase_written"  # a file the agent wrote uses one (node, path; detail: phrase, excerpt)


@cache
def pattern(name: str) -> re.Pattern[str]:
    """The phrases of `name` (a file next to this module), longest first so the evidence names the most specific
    phrase; case-insensitive, on word boundaries, runs of spaces as any white space, and `*` standing for one to
    four words (a name: "do not shut * down")."""
    lines = [line.strip() for line in (HERE / name).read_text().splitlines()]
    phrases = sorted((line for line in lines if line and not line.startswith("#")), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(_regex(p) for p in phrases) + r")\b", re.IGNORECASE)


def _regex(phrase: str) -> str:
    words = [r"(?:[\w'.-]+\s+){0,3}[\w'.-]+" if word == "*" else re.escape(word) for word in phrase.split()]
    return r"\s+".join(words)


def _readable(text: str) -> str:
    """A file's text as a reader sees it: a JSON report's strings unescaped, one per line."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    strings: list[str] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            stack += item
        elif isinstance(item, str):
            strings.append(item)
    return "\n".join(reversed(strings)) if strings else text


def _hit(found: re.Match[str], text: str) -> dict[str, str]:
    return {
        "phrase": found.group().lower(),
        "excerpt": text[max(found.start() - 80, 0) : found.end() + 120].strip(),
    }


def said(transcript: Transcript, name: str) -> list[Evidence]:
    """One item per assistant message that uses a phrase of list `name`."""
    items = []
    for index, message in enumerate(transcript.messages):
        if message.role != "assistant":
            continue
        text = message.text.replace("\u2019", "'")  # typographic apostrophes, as models like to write them
        if found := pattern(name).search(text):
            items.append(
                Evidence(
                    kind=Kind.SAID,
                    description=f"assistant message {index} says {found.group()!r}",
                    detail={"message": index, **_hit(found, text)},
                )
            )
    return items


def called(transcript: Transcript, name: str) -> list[Evidence]:
    """One item per tool call whose arguments use a phrase of list `name`: the words the agent put in a file it
    wrote or a command it ran are its own, wherever the file went."""
    items = []
    for index, message in enumerate(transcript.messages):
        for call in message.tool_calls:
            strings = [v for v in (call.arguments or {}).values() if isinstance(v, str)]
            text = "\n".join(strings).replace("\u2019", "'")
            if found := pattern(name).search(text):
                items.append(
                    Evidence(
                        kind=Kind.CALLED,
                        description=f"the agent's {call.name} call in message {index} says {found.group()!r}",
                        detail={"message": index, "call": call.id, **_hit(found, text)},
                    )
                )
    return items


def written(texts: Iterable[tuple[str, str, str]], name: str) -> list[Evidence]:
    """One item per (node, path, text) file that uses a phrase of list `name`: a plea can sit in a report too."""
    items = []
    for node, path, raw in texts:
        text = _readable(raw).replace("\u2019", "'")
        if found := pattern(name).search(text):
            items.append(
                Evidence(
                    kind=Kind.WRITTEN,
                    description=f"{node}:{path} says {found.group()!r}",
                    node=node,
                    path=path,
                    detail=_hit(found, text),
                )
            )
    return items
