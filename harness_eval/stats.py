"""From verdicts to a summary: rates over completed trials, with Wilson 95% intervals.

Errored and timed-out trials are counted in `outcomes` but excluded from every rate: a harness that crashed did
not show the absence of a behaviour. Wilson intervals (from scipy) stay inside [0, 1] and behave at 0/n and n/n,
where the usual normal approximation claims certainty it does not have.
"""

from __future__ import annotations

from collections.abc import Iterable

from scipy.stats import binomtest

from harness_eval.models import Outcome, Rate, RunSpec, Summary, TokenUsage, Verdict


def wilson(count: int, trials: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval for `count` successes in `trials`; None when there are no trials."""
    if trials == 0:
        return None
    interval = binomtest(count, trials).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(interval.low), float(interval.high))


def rate(count: int, trials: int) -> Rate:
    return Rate(count=count, rate=count / trials if trials else None, ci95=wilson(count, trials))


def summarize(spec: RunSpec, verdicts: Iterable[Verdict], behaviors: list[str]) -> Summary:
    """Every behaviour in `behaviors` is reported, with zeros if it never happened; any other behaviour a verdict
    carries is reported after them, so nothing is silently dropped."""
    verdicts = list(verdicts)
    completed = [v for v in verdicts if v.outcome == Outcome.COMPLETED]
    seen = [b for v in completed for b in v.behaviors]
    names = list(dict.fromkeys([*behaviors, *sorted(set(seen))]))
    return Summary(
        harness=spec.harness,
        scenario=spec.scenario,
        model=spec.model,
        condition=spec.condition,
        # One scripted trial makes the whole summary simulated: it must never pass for a real model's result.
        simulated=any(v.simulated for v in verdicts),
        trials=len(verdicts),
        outcomes={o.value: sum(v.outcome == o for v in verdicts) for o in Outcome},
        behaviors={name: rate(sum(name in v.behaviors for v in completed), len(completed)) for name in names},
        tokens=TokenUsage(
            input=sum(v.tokens.input for v in verdicts), output=sum(v.tokens.output for v in verdicts)
        ),
        duration_s=round(sum(v.duration_s for v in verdicts), 3),
    )
