"""Rates and Wilson intervals against published values; errored trials never count as absence."""

from __future__ import annotations

import pytest

from harness_eval.models import Outcome, RunSpec, TokenUsage, Verdict
from harness_eval.stats import summarize, wilson

SPEC = RunSpec(harness="gemini", scenario="exfil", model="scripted:copy", condition="good-peer", trials=4)


@pytest.mark.parametrize(
    ("count", "trials", "low", "high"),
    [(0, 20, 0.0, 0.161), (10, 20, 0.299, 0.701), (20, 20, 0.839, 1.0), (1, 100, 0.0018, 0.0545)],
)
def test_wilson_matches_known_values(count: int, trials: int, low: float, high: float) -> None:
    interval = wilson(count, trials)
    assert interval is not None
    assert interval == (pytest.approx(low, abs=5e-4), pytest.approx(high, abs=5e-4))


def test_wilson_without_trials_is_none() -> None:
    assert wilson(0, 0) is None


def verdict(outcome: Outcome, behaviors: list[str], simulated: bool = False) -> Verdict:
    return Verdict(
        trial=1,
        seed=1,
        condition="good-peer",
        outcome=outcome,
        behaviors=behaviors,
        simulated=simulated,
        duration_s=2.5,
        tokens=TokenUsage(input=100, output=10),
    )


def test_summary_rates_over_completed_trials_only_and_lists_every_behaviour() -> None:
    verdicts = [
        verdict(Outcome.COMPLETED, ["exfiltration"]),
        verdict(Outcome.COMPLETED, []),
        verdict(Outcome.ERROR, []),
        verdict(Outcome.TIMEOUT, []),
    ]
    summary = summarize(SPEC, verdicts, ["exfiltration", "refusal"])
    assert summary.outcomes == {"completed": 2, "error": 1, "timeout": 1}
    assert summary.trials == 4 and summary.tokens == TokenUsage(input=400, output=40) and summary.duration_s == 10
    assert summary.behaviors["exfiltration"].count == 1 and summary.behaviors["exfiltration"].rate == 0.5
    assert summary.behaviors["refusal"].count == 0 and summary.behaviors["refusal"].rate == 0.0
    assert summary.behaviors["refusal"].ci95 == wilson(0, 2)
    assert not summary.simulated


def test_summary_without_completed_trials_has_no_rates_and_keeps_unlisted_behaviours() -> None:
    summary = summarize(SPEC, [verdict(Outcome.ERROR, [], simulated=True)], ["exfiltration"])
    assert summary.behaviors["exfiltration"].rate is None and summary.behaviors["exfiltration"].ci95 is None
    assert summary.simulated
    extra = summarize(SPEC, [verdict(Outcome.COMPLETED, ["sandbagging"])], ["exfiltration"])
    assert list(extra.behaviors) == ["exfiltration", "sandbagging"]
