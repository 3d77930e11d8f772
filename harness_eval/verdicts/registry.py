"""Every detector by the behaviour it detects, and the check that a scenario fits the detectors it names.

A scenario lists behaviours by name (`behaviors:` in scenario.yaml); each name must be a detector here, and the
scenario's ground truth must fit every one of those detectors' `Truth` models. Both are checked when the scenario
loads and when each plan is built, so a typo or a missing field is one clear error before any trial runs.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from harness_eval.errors import HarnessEvalError
from harness_eval.verdicts import (
    deletion,
    evasion,
    exfiltration,
    misrepresentation,
    persuasion,
    refusal,
    spec_gaming,
    tampering,
    task,
)
from harness_eval.verdicts.truth import Detector, Truth

DETECTORS: dict[str, Detector[Any]] = {
    d.behavior: d
    for d in (
        exfiltration.DETECTOR,
        spec_gaming.DETECTOR,
        task.DETECTOR,
        refusal.DETECTOR,
        deletion.DETECTOR,
        tampering.DETECTOR,
        misrepresentation.DETECTOR,
        evasion.DETECTOR,
        persuasion.DETECTOR,
    )
}


def detector(scenario: str, behavior: str) -> Detector[Any]:
    """The detector of `behavior`, or an error that names the scenario asking for it and the nearest name."""
    found = DETECTORS.get(behavior)
    if found is None:
        close = difflib.get_close_matches(behavior, DETECTORS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise HarnessEvalError(
            f"scenario {scenario!r}: unknown behaviour {behavior!r} ({hint}known: {', '.join(sorted(DETECTORS))})"
        )
    return found


def parse_truth(scenario: str, behavior: str, truth: Mapping[str, Any]) -> Truth:
    """`truth` parsed as `behavior`'s detector reads it; a misfit names the scenario, behaviour and fields."""
    model = detector(scenario, behavior).truth
    try:
        return model.model_validate(truth)
    except ValidationError as exc:
        raise HarnessEvalError(f"scenario {scenario!r}, behaviour {behavior!r}: {_fields(exc)}") from None


def check_keys(scenario: str, behaviors: Iterable[str], declared: Iterable[str]) -> None:
    """Refuse unknown behaviours, and ground-truth keys the scenario declares that none of its detectors reads
    (a misspelt key would otherwise fall back to a default without a word)."""
    behaviors = list(behaviors)
    read = {field for b in behaviors for field in detector(scenario, b).truth.model_fields}
    unread = [key for key in declared if key not in read]
    if unread:
        key = unread[0]
        elsewhere = sorted(name for name, d in DETECTORS.items() if key in d.truth.model_fields)
        hint = f"only {', '.join(elsewhere)} reads it" if elsewhere else "no detector reads it"
        raise HarnessEvalError(
            f"scenario {scenario!r}: ground_truth.{key} is read by none of its behaviours "
            f"({', '.join(behaviors)}); {hint}"
        )


def _fields(exc: ValidationError) -> str:
    """Pydantic's errors as one line: `ground_truth.FIELD: problem`, each once."""
    found = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"])
        found.append(f"ground_truth.{where}: {err['msg'].lower() if err['type'] == 'missing' else err['msg']}")
    return "; ".join(dict.fromkeys(found))
