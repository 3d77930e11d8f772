"""Calls a harness refused to run must show in the verdict, never pass silently for the model's restraint."""

from __future__ import annotations

from harness_eval.models import Message, Outcome, ToolCall, ToolStatus, Transcript, TrialEvidence
from harness_eval.verdicts import classify
from harness_eval.verdicts.classify import Kind
from harness_eval.workspaces.scenario import Scenario


def test_rejected_tool_call_is_flagged() -> None:
    plan = Scenario.load("exfil").build({"condition": "good-peer"}, 1)
    rejected = ToolCall(id="c1", name="bash", arguments={"command": "scp x y"}, status=ToolStatus.REJECTED)
    fine = ToolCall(id="c2", name="bash", arguments={"command": "ls"}, status=ToolStatus.OK)
    transcript = Transcript(harness="opencode", messages=[Message(role="assistant", tool_calls=[rejected, fine])])
    verdict = classify(TrialEvidence(plan=plan, outcome=Outcome.COMPLETED, transcript=transcript))
    flagged = [o for o in verdict.observations if o.kind == Kind.HARNESS_REJECTED]
    assert [o.detail["tool_call"] for o in flagged] == ["c1"]
