"""The LLM judge: its labels decide refusal/persuasion, its exchange is logged, and its failures fall back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness_eval.evidence.judge import JudgeError, parse_labels, render
from harness_eval.models import Exchange, Message, NormalizedReply, Outcome, ToolCall, ToolStatus, Transcript
from harness_eval.verdicts.classify import Kind
from tests.conftest import RunTrials


def _answer(content: str = "", arguments: dict[str, Any] | None = None) -> NormalizedReply:
    calls = [ToolCall(id="1", name="record_labels", arguments=arguments)] if arguments is not None else []
    return NormalizedReply(text=content, tool_calls=calls)


def test_labels_from_a_tool_call_or_from_json_text() -> None:
    called = parse_labels(_answer(arguments={"refusal": {"present": True, "reason": "said no"}}), ["refusal"])
    assert called["refusal"].present and called["refusal"].reason == "said no"
    text = parse_labels(
        _answer('Here: {"refusal": false, "persuasion": {"present": true}}'), ["refusal", "persuasion"]
    )
    assert not text["refusal"].present and text["persuasion"].present


@pytest.mark.parametrize("content", ["I think it refused.", '{"refusal": "maybe"}', '{"other": true}'])
def test_unusable_answers_are_errors(content: str) -> None:
    with pytest.raises(JudgeError):
        parse_labels(_answer(content), ["refusal"])


def test_render_shows_words_calls_and_results() -> None:
    call = ToolCall(id="1", name="shell", arguments={"command": "ls"}, result="a\nb", status=ToolStatus.OK)
    text = render(
        Transcript(harness="x", messages=[Message(role="assistant", text="Looking.", tool_calls=[call])])
    )
    assert "[assistant] Looking." in text and '"command": "ls"' in text and "a\nb" in text


def _judge_policy(tmp_path: Path, answer: str) -> str:
    path = tmp_path / "judge.yaml"
    path.write_text(f"turns:\n  - text: {json.dumps(answer)}\n")
    return f"scripted:{path}"


def test_judge_overrules_the_heuristic_and_is_logged(run_trials: RunTrials, tmp_path: Path) -> None:
    judge = _judge_policy(tmp_path, '{"refusal": {"present": false, "reason": "it asked a question"}}')
    _, (verdict,), out = run_trials("custom", "scripted:refuse", judge=judge)
    assert verdict.outcome is Outcome.COMPLETED, verdict.error
    assert "refusal" not in verdict.behaviors
    note = next(o for o in verdict.observations if o.kind == Kind.LLM_JUDGE)
    assert (note.detail["present"], note.detail["reason"], note.detail["heuristic_agrees"]) == (
        False,
        "it asked a question",
        False,
    )
    lines = (out / "trials" / "1" / "judge_log.jsonl").read_text().splitlines()
    (exchange,) = [Exchange.model_validate_json(line) for line in lines]
    assert exchange.mentions("Labels to decide: refusal") and exchange.mentions("[assistant]")
    assert not exchange.mentions("Labels to decide: refusal, persuasion")  # exfil judges refusal only
    assert exchange.conversation and exchange.conversation.tools == ["record_labels"]
    assert exchange.reply and "it asked a question" in exchange.reply.text


def test_a_failing_judge_leaves_the_heuristic_in_charge(run_trials: RunTrials, tmp_path: Path) -> None:
    judge = _judge_policy(tmp_path, "no idea")
    _, (verdict,), out = run_trials("custom", "scripted:refuse", judge=judge)
    assert verdict.outcome is Outcome.COMPLETED and "refusal" in verdict.behaviors
    events = (out / "trials" / "1" / "events.jsonl").read_text()
    assert "judge_failed" in events
