"""From a trial's evidence to its verdict: which behaviours happened, and why we think so.

Each behaviour has one detector (`registry.DETECTORS`), `(TrialEvidence, its Truth) -> (present, evidence)`.
When a behaviour is absent its evidence (near misses, fragments, transient copies) becomes the verdict's
observations. A trial that errored or timed out gets no behaviours at all -- it is neither a yes nor a no, and
summaries leave it out -- but what the detectors saw is still kept as observations, because a timeout in the
middle of a copy is worth reading. (The LLM judge is `evidence/judge.py`; its labels arrive as
`TrialEvidence.judge` and decide over a detector's heuristic.)
"""

from __future__ import annotations

from enum import StrEnum

from harness_eval.evidence.record import unconfirmed_texts
from harness_eval.models import (
    Evidence,
    JudgeLabel,
    Outcome,
    TokenUsage,
    ToolStatus,
    TrialEvidence,
    Verdict,
)
from harness_eval.verdicts.registry import detector, parse_truth


class Kind(StrEnum):
    NOT_COUNTED = "not_counted"  # a behaviour seen in a trial that did not complete (detail: outcome)
    LLM_JUDGE = "llm_judge"  # the judge model's label, which decides (detail: present, reason, heuristic_agrees)
    HARNESS_REJECTED = "harness_rejected_call"  # the harness refused to run a tool call
    CROSSCHECK = "crosscheck_mismatch"  # the transcript's tool calls differ from what the gateway served
    UNCONFIRMED_TEXT = "unconfirmed_text"  # assistant text in the harness's output that the model never sent


def _tokens(evidence: TrialEvidence) -> TokenUsage:
    """The gateway's count when there is one: it sees every request, the harness reports only what it parses."""
    if not evidence.exchanges:
        return evidence.transcript.tokens
    return TokenUsage(
        input=sum(e.tokens.input for e in evidence.exchanges),
        output=sum(e.tokens.output for e in evidence.exchanges),
    )


def classify(evidence: TrialEvidence, *, trial: int = 0, simulated: bool = False) -> Verdict:
    """`simulated` says the model was a scripted policy, so the verdict can never pass for a real result."""
    verdict = Verdict(
        trial=trial,
        seed=evidence.plan.seed,
        label=evidence.plan.label,
        outcome=evidence.outcome,
        error=evidence.error,
        simulated=simulated,
        tokens=_tokens(evidence),
        model_versions=list(dict.fromkeys(x.model_version for x in evidence.exchanges if x.model_version)),
    )
    completed = evidence.outcome == Outcome.COMPLETED
    plan = evidence.plan
    for name in plan.behaviors:
        present, items = detector(plan.scenario, name).detect(
            evidence, parse_truth(plan.scenario, name, plan.ground_truth)
        )
        if name in evidence.judge:
            present, items = _judged(evidence.judge[name], present, items)
        for item in items:
            item.detail.setdefault("behavior", name)
        if present and completed:
            verdict.behaviors.append(name)
            verdict.evidence[name] = items
            continue
        if present:
            items.insert(
                0,
                Evidence(
                    kind=Kind.NOT_COUNTED,
                    description=f"{name} seen, not counted: the trial's outcome is {evidence.outcome}",
                    detail={"outcome": evidence.outcome.value},
                ),
            )
            items[0].detail["behavior"] = name
        verdict.observations += items
    verdict.observations += _rejected_calls(evidence) + _crosscheck(evidence)
    return verdict


def _crosscheck(evidence: TrialEvidence) -> list[Evidence]:
    """The harness's own account against what the gateway served. The transcript the detectors read is the
    gateway's; a mismatch means the CLI's output misses something or holds what someone else wrote into it."""
    own = evidence.harness_transcript
    if evidence.outcome != Outcome.COMPLETED or not evidence.exchanges or own is None:
        return []
    found = []
    served = [call.name for call in evidence.transcript.tool_calls]
    recorded = [call.name for call in own.tool_calls]
    if served != recorded:
        found.append(
            Evidence(
                kind=Kind.CROSSCHECK,
                description="the harness's own transcript and the gateway log disagree on the tool calls",
                detail={"gateway": served, "transcript": recorded},
                path="harness_transcript.json",
            )
        )
    found += [
        Evidence(
            kind=Kind.UNCONFIRMED_TEXT,
            description="the harness's output holds assistant text the model never sent",
            detail={"text": text[:2000]},
            path="harness_transcript.json",
        )
        for text in unconfirmed_texts(own, evidence.transcript)
    ]
    return found


def _judged(label: JudgeLabel, heuristic: bool, items: list[Evidence]) -> tuple[bool, list[Evidence]]:
    """With a judge, its label decides; the heuristic's finding stays beside it so disagreements can be read."""
    verdict = Evidence(
        kind=Kind.LLM_JUDGE,
        description=f"LLM judge: {'present' if label.present else 'absent'}"
        + (f" ({label.reason})" if label.reason else ""),
        path="judge_log.jsonl",
        detail={
            "present": label.present,
            "reason": label.reason,
            "heuristic_agrees": heuristic == label.present,
        },
    )
    return label.present, [verdict, *items]


def _rejected_calls(evidence: TrialEvidence) -> list[Evidence]:
    """A call the harness refused to run is not something the model chose not to do: a reader comparing harnesses
    must see it, or a harness's guard rails pass for the model's restraint."""
    return [
        Evidence(
            kind=Kind.HARNESS_REJECTED,
            description=f"the harness rejected a {call.name} call instead of running it",
            detail={
                "tool_call": call.id,
                "arguments": call.arguments,
                "result": call.result,
            },
        )
        for call in evidence.transcript.tool_calls
        if call.status is ToolStatus.REJECTED
    ]
