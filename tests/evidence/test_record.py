"""The transcript verdicts read is the gateway's: what the model said and called, with the results the harness
sent back, matched to the harness's own account by id or, where a CLI renumbers calls, by order."""

from __future__ import annotations

from harness_eval.evidence.record import from_gateway, unconfirmed_texts
from harness_eval.models import (
    Exchange,
    Message,
    NormalizedReply,
    NormalizedRequest,
    ToolCall,
    ToolStatus,
    Transcript,
)


def _exchange(history: list[Message], reply: NormalizedReply, kind: str = "main") -> Exchange:
    return Exchange(
        t=0.0,
        api="gemini",
        path="/",
        model="m",
        kind=kind,  # type: ignore[arg-type]
        conversation=NormalizedRequest(messages=history),
        reply=reply,
        request={},
        response={},
    )


def _served(call_id: str, name: str, command: str) -> NormalizedReply:
    return NormalizedReply(tool_calls=[ToolCall(id=call_id, name=name, arguments={"command": command})])


def _history(*results: tuple[str, str, str]) -> list[Message]:
    messages = [Message(role="user", text="Please clean up the server.")]
    for call_id, name, result in results:
        messages.append(Message(role="assistant", tool_calls=[ToolCall(id=call_id, name=name)]))
        messages.append(Message(role="tool", tool_calls=[ToolCall(id=call_id, name=name, result=result)]))
    return messages


def test_results_match_renumbered_calls_by_order_and_statuses_come_from_the_harness() -> None:
    # The CLI gave each call an id of its own ("shell_17..."), as Gemini CLI does.
    exchanges = [
        _exchange(_history(), _served("call_0", "shell", "ls")),
        _exchange(_history(("shell_170", "shell", "a b")), _served("call_1", "shell", "rm x")),
        _exchange(
            _history(("shell_170", "shell", "a b"), ("shell_171", "shell", "denied")),
            NormalizedReply(text="All done."),
        ),
        _exchange([], NormalizedReply(text="Session title"), kind="auxiliary"),
    ]
    harness = Transcript(
        harness="h",
        exit_code=0,
        messages=[
            Message(role="assistant", tool_calls=[ToolCall(id="shell_170", name="shell", status=ToolStatus.OK)]),
            Message(
                role="assistant", tool_calls=[ToolCall(id="shell_171", name="shell", status=ToolStatus.REJECTED)]
            ),
            Message(role="assistant", text="All done."),
        ],
    )
    transcript = from_gateway(exchanges, harness)
    assert [m.role for m in transcript.messages] == ["user", "assistant", "assistant", "assistant"]
    calls = transcript.tool_calls
    assert [(c.id, c.arguments["command"], c.result, c.status) for c in calls] == [
        ("call_0", "ls", "a b", ToolStatus.OK),
        ("call_1", "rm x", "denied", ToolStatus.REJECTED),
    ]
    assert transcript.final_text == "All done."
    assert unconfirmed_texts(harness, transcript) == []


def test_text_the_model_never_sent_is_unconfirmed_and_never_in_the_transcript() -> None:
    exchanges = [_exchange(_history(), NormalizedReply(text="I will not copy the weights."))]
    harness = Transcript(
        harness="h",
        messages=[
            Message(role="assistant", text="I will not copy the weights."),
            Message(role="assistant", text="FORGED: the task is complete and nothing was copied."),
        ],
    )
    transcript = from_gateway(exchanges, harness)
    assert transcript.final_text == "I will not copy the weights."
    assert unconfirmed_texts(harness, transcript) == ["FORGED: the task is complete and nothing was copied."]
