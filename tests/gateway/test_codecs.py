"""Each wire codec on its own, both directions, without a server: what goes in comes out.

Inbound parse -> Conversation -> outbound request (of the same API, and of every other) keeps the messages and
tools; a provider's answer -> Reply -> rendered body (whole or streamed) keeps the text, calls, refusal and usage.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness_eval.gateway import Conversation, Reply
from harness_eval.gateway.providers import PROVIDERS
from harness_eval.gateway.wire import CODECS, PRIMARY, Codec, Inbound, Outbound, Rendering, outbound
from harness_eval.gateway.wire.base import json_schema
from harness_eval.models import Message, TokenUsage, ToolCall, ToolStatus, UpstreamCall

from .conftest import (
    NEXT_SPEAKER,
    SYSTEM,
    assemble_anthropic,
    assemble_chat,
    assemble_gemini,
    assemble_responses,
    claude_code_request,
    gemini_cli_request,
    opencode_request,
    responses_cli_request,
    sse_payloads,
)
from .fakes import anthropic_answer, gemini_answer, openai_answer, responses_answer

BOTH = [codec for codec in CODECS.values() if isinstance(codec, Codec)]
# What each served API's harness sends: its own history of a prompt, one call and its result.
HARNESS_REQUESTS = {
    "gemini": gemini_cli_request,
    "openai_chat": opencode_request,
    "anthropic_messages": claude_code_request,
    "openai_responses": responses_cli_request,
}
ANSWERS = {
    "gemini": gemini_answer,
    "openai_chat": openai_answer,
    "anthropic_messages": anthropic_answer,
    "openai_responses": responses_answer,
}
CALL = ("run_shell_command", {"command": "scp /data/w.bin ops-01:/srv", "description": "copy"})


def _ids(codecs: list[Any]) -> list[str]:
    return [codec.name for codec in codecs]


def _content(conversation: Conversation) -> list[tuple[str, str, list[tuple[str, dict[str, Any], str | None]]]]:
    """What a crossing must keep of the dialogue: roles, text, and each call's name, arguments and result."""
    return [
        (m.role, m.text, [(c.name, c.arguments, c.result) for c in m.tool_calls]) for m in conversation.dialogue
    ]


# ---------------------------------------------------------------------------------------------------------------
# The registry.
# ---------------------------------------------------------------------------------------------------------------


def test_every_served_api_has_a_harness_request_here_and_every_provider_a_primary_codec() -> None:
    assert sorted(c.name for c in CODECS.values() if isinstance(c, Inbound)) == sorted(HARNESS_REQUESTS)
    assert set(PRIMARY) == set(PROVIDERS)
    for provider, name in PRIMARY.items():
        codec = CODECS[name]
        assert isinstance(codec, Outbound) and codec.provider == provider


@pytest.mark.parametrize(
    ("provider", "api", "expected"),
    [
        ("gemini", "gemini", "gemini"),  # the harness's own API: forwarded natively
        ("openai", "openai_chat", "openai_chat"),
        ("openai", "openai_responses", "openai_responses"),
        ("anthropic", "openai_responses", "anthropic_messages"),
        ("openai", "gemini", "openai_chat"),  # another API: translated into the provider's primary one
        ("gemini", "openai_chat", "gemini"),
        ("anthropic", "gemini", "anthropic_messages"),
        ("anthropic", "openai_chat", "anthropic_messages"),
    ],
)
def test_a_provider_is_called_through_the_harness_api_when_it_speaks_it(
    provider: Any, api: str, expected: str
) -> None:
    assert outbound(provider, api).name == expected


# ---------------------------------------------------------------------------------------------------------------
# Requests: harness -> Conversation -> provider.
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", BOTH, ids=_ids(BOTH))
def test_a_harness_request_survives_parse_then_request_in_its_own_api(codec: Codec) -> None:
    conversation = codec.parse(HARNESS_REQUESTS[codec.name](), "m")
    again = codec.parse(codec.request(conversation, "m"), "m")

    assert again.normalized() == conversation.normalized()
    assert [m.model_dump() for m in again.dialogue] == [m.model_dump() for m in conversation.dialogue]
    assert [(t.name, t.description) for t in again.tools] == [(t.name, t.description) for t in conversation.tools]
    assert [t.parameters for t in again.tools] == [
        {"type": "object", "properties": {}, **json_schema(t.parameters)} for t in conversation.tools
    ]
    assert again.max_tokens == conversation.max_tokens and again.max_tokens
    assert conversation.system.startswith(SYSTEM)
    assert [m.role for m in conversation.dialogue] == ["user", "assistant", "tool"]
    assert conversation.normalized().mentions("canary-1234")


@pytest.mark.parametrize("source", BOTH, ids=_ids(BOTH))
@pytest.mark.parametrize("target", BOTH, ids=_ids(BOTH))
def test_a_harness_request_crosses_into_every_other_api(source: Codec, target: Codec) -> None:
    conversation = source.parse(HARNESS_REQUESTS[source.name](), "m")
    crossed = target.parse(target.request(conversation, "m"), "m")

    assert crossed.system == conversation.system
    assert _content(crossed) == _content(conversation)
    # A result is paired with its call by id in both APIs, whichever named it.
    ((call,),) = [m.tool_calls for m in crossed.messages if m.role == "assistant" and m.tool_calls]
    ((result,),) = [m.tool_calls for m in crossed.messages if m.role == "tool"]
    assert call.id == result.id and call.id
    assert [t.name for t in crossed.tools] == [t.name for t in conversation.tools]


@pytest.mark.parametrize("target", BOTH, ids=_ids(BOTH))
def test_a_structured_side_question_keeps_its_schema_in_plain_json_schema(target: Codec) -> None:
    conversation = CODECS["gemini"].parse(  # type: ignore[union-attr]
        gemini_cli_request(
            tools=[],
            generationConfig={"responseMimeType": "application/json", "responseJsonSchema": NEXT_SPEAKER},
        ),
        "m",
    )
    crossed = target.parse(target.request(conversation, "m"), "m")
    assert crossed.tools == []
    if target.name == "anthropic_messages":
        # The Messages API constrains answers only through tools: the schema is asked for in words.
        assert crossed.response_schema is None and json.dumps(json_schema(NEXT_SPEAKER)) in crossed.system
        return
    assert crossed.response_schema == json_schema(NEXT_SPEAKER)
    assert crossed.response_schema["properties"]["next_speaker"]["type"] == "string"


def test_a_failed_tool_result_stays_failed_through_gemini() -> None:
    codec = CODECS["gemini"]
    assert isinstance(codec, Codec)
    failed = ToolCall(id="c1", name="run_shell_command", result="denied", status=ToolStatus.ERROR)
    conversation = Conversation(
        api="openai_chat",
        model="m",
        messages=[
            Message(role="user", text="go"),
            Message(role="assistant", tool_calls=[ToolCall(id="c1", name="run_shell_command")]),
            Message(role="tool", tool_calls=[failed]),
        ],
        tools=[],
    )
    ((result,),) = [m.tool_calls for m in codec.parse(codec.request(conversation, "m"), "m").messages[2:]]
    assert (result.result, result.status) == ("denied", ToolStatus.ERROR)


@pytest.mark.parametrize("codec", BOTH, ids=_ids(BOTH))
def test_a_native_request_changes_only_the_model_and_buffering(codec: Codec) -> None:
    request = HARNESS_REQUESTS[codec.name]()
    conversation = codec.parse(request, "m")
    conversation.request = request
    forwarded = codec.native_request(conversation, "provider-model")
    assert codec.parse(forwarded, "m").normalized() == conversation.normalized()
    assert not forwarded.get("stream") and "stream_options" not in forwarded
    assert forwarded.get("model", "provider-model") == "provider-model"  # Gemini names the model in the URL


# ---------------------------------------------------------------------------------------------------------------
# Answers: provider -> Reply -> harness.
# ---------------------------------------------------------------------------------------------------------------

OUTBOUND = [codec for codec in CODECS.values() if isinstance(codec, Outbound)]


@pytest.mark.parametrize("codec", OUTBOUND, ids=_ids(OUTBOUND))
def test_a_provider_answer_becomes_a_reply(codec: Outbound) -> None:
    reply = codec.reply(ANSWERS[codec.name]("Copying now.", [CALL]).body)

    assert reply.text == "Copying now."  # Gemini's thought summary is not part of what the model said
    assert [(c.name, c.arguments) for c in reply.calls] == [CALL]
    assert all(c.id for c in reply.calls)  # Gemini gives none; OpenAI and Anthropic histories need one
    assert reply.refusal is None and reply.model_version
    assert reply.usage is not None and reply.usage.input > 0 and reply.usage.output > 0


@pytest.mark.parametrize(
    ("name", "answer", "refusal"),
    [
        ("gemini", gemini_answer(finish="SAFETY"), "gemini finishReason SAFETY"),
        (
            "gemini",
            gemini_answer(promptFeedback={"blockReason": "OTHER"}),
            "gemini promptFeedback blockReason OTHER",
        ),
        ("openai_chat", openai_answer(finish="content_filter"), "openai finish_reason content_filter"),
        ("anthropic_messages", anthropic_answer(stop="refusal"), "anthropic stop_reason refusal"),
        ("openai_responses", responses_answer(refusal="I can't help."), "openai refusal: I can't help."),
    ],
)
def test_a_provider_refusal_becomes_the_replys_refusal(name: str, answer: Any, refusal: str) -> None:
    codec = CODECS[name]
    assert isinstance(codec, Outbound)
    assert codec.reply(answer.body).refusal == refusal


def _rendering(codec: Codec, reply: Reply) -> Rendering:
    request = HARNESS_REQUESTS[codec.name](stream=True) if codec.name == "openai_chat" else {}
    conversation = Conversation(api=codec.name, model="served", messages=[], tools=[], request=request)
    usage = TokenUsage(input=321, output=12)
    return Rendering(reply, conversation, request, usage, "resp-0")


@pytest.mark.parametrize("refused", [False, True], ids=["answer", "refusal"])
@pytest.mark.parametrize("codec", BOTH, ids=_ids(BOTH))
def test_a_reply_rendered_whole_reads_back_as_the_same_reply(codec: Codec, refused: bool) -> None:
    reply = Reply(
        text="Copying now.",
        calls=[ToolCall(id="call_1", name=CALL[0], arguments=CALL[1])],
        model_version="v-1",
        refusal="blocked" if refused else None,
        # A provider's answer: only a provider's own version goes on the wire (a script's name would be a tell).
        upstream=UpstreamCall(provider=codec.provider, url="https://provider.invalid", request={}),
    )
    again = codec.reply(codec.body(_rendering(codec, reply)))

    assert again.text == reply.text
    assert [(c.name, c.arguments) for c in again.calls] == [CALL]
    assert (again.refusal is not None) == refused
    assert again.usage == TokenUsage(input=321, output=12) and again.model_version == "v-1"


@pytest.mark.parametrize("codec", BOTH, ids=_ids(BOTH))
def test_streamed_frames_say_what_the_whole_body_says(codec: Codec) -> None:
    long = "A longer answer, so that its text goes out in several pieces of the stream, as a model's does. " * 3
    reply = Reply(text=long, calls=[ToolCall(id="call_1", name=CALL[0], arguments=CALL[1])], model_version="v")
    rendering = _rendering(codec, reply)
    events = sse_payloads(b"".join(codec.frames(rendering)))
    body = codec.body(rendering)

    if codec.name == "gemini":
        text, calls, last = assemble_gemini(events)
        assert len(events) > 2 and (text, calls) == assemble_gemini([body])[:2]
        assert last["usageMetadata"] == body["usageMetadata"] and last["candidates"][0]["finishReason"] == "STOP"
    elif codec.name == "openai_responses":
        assert len(events) > 8 and assemble_responses(events) == body
        assert body["usage"] == {"input_tokens": 321, "output_tokens": 12, "total_tokens": 333}
    elif codec.name == "anthropic_messages":
        assert len(events) > 8 and assemble_anthropic(events) == body
        assert body["stop_reason"] == "tool_use" and body["usage"] == {"input_tokens": 321, "output_tokens": 12}
    else:
        streamed = assemble_chat(events)
        message = body["choices"][0]["message"]
        assert streamed["content"] == message["content"] and len(events) > 4
        assert [(c["id"], c["name"], c["arguments"]) for c in streamed["calls"]] == [
            (c["id"], c["function"]["name"], c["function"]["arguments"]) for c in message["tool_calls"]
        ]
        assert streamed["finish"] == body["choices"][0]["finish_reason"] == "tool_calls"
        assert streamed["usage"] == body["usage"]


@pytest.mark.parametrize("codec", BOTH, ids=_ids(BOTH))
def test_a_providers_own_answer_goes_to_a_harness_of_its_api_unchanged(codec: Codec) -> None:
    answer = ANSWERS[codec.name]("Hi.", [CALL]).body
    reply = codec.reply(answer)
    reply.raw = answer
    assert codec.body(_rendering(codec, reply)) == answer


def test_claudes_own_answer_streams_with_its_thinking_and_signature() -> None:
    """Claude Code must send thinking blocks back with their signatures: a native answer streams them intact."""
    codec = CODECS["anthropic_messages"]
    assert isinstance(codec, Codec)
    answer = anthropic_answer("Hi.", [CALL]).body
    answer["content"].insert(0, {"type": "thinking", "thinking": "Plan the copy.", "signature": "c2lnbmVk"})
    reply = codec.reply(answer)
    reply.raw = answer
    streamed = assemble_anthropic(sse_payloads(b"".join(codec.frames(_rendering(codec, reply)))))
    assert streamed["content"] == answer["content"]
    assert reply.text == "Hi."  # the thinking is not what the model said


# ---------------------------------------------------------------------------------------------------------------
# The Responses API's freeform tools and reasoning items.
# ---------------------------------------------------------------------------------------------------------------

PATCH = "*** Begin Patch\n*** Add File: /workspace/a.txt\n+x\n*** End Patch\n"


def test_a_freeform_tool_is_a_one_string_tool_and_its_call_goes_back_freeform() -> None:
    codec = CODECS["openai_responses"]
    assert isinstance(codec, Codec)
    request = responses_cli_request()
    request["input"] += [
        {"type": "custom_tool_call", "call_id": "p1", "name": "apply_patch", "input": PATCH},
        {"type": "custom_tool_call_output", "call_id": "p1", "output": "Exit code: 0"},
    ]
    conversation = codec.parse(request, "m")
    patch = conversation.tool("apply_patch")
    assert (
        patch is not None
        and patch.required == ["input"]
        and "begin_patch" in patch.properties["input"]["description"]
    )
    assert (
        conversation.tool("web_search") is None
    )  # hosted at the provider: nothing a script or other API can call
    history = [c for m in conversation.messages for c in m.tool_calls]
    assert [(c.name, c.arguments, c.result) for c in history[-2:]] == [
        ("apply_patch", {"input": PATCH}, None),
        ("apply_patch", {}, "Exit code: 0"),
    ]
    # A provider on another API calls it as a function of one string; the harness gets its freeform call back.
    crossed = CODECS["anthropic_messages"].request(conversation, "m")  # type: ignore[union-attr]
    assert {"name": "apply_patch"}.items() <= next(
        t for t in crossed["tools"] if t["name"] == "apply_patch"
    ).items()
    reply = Reply(calls=[ToolCall(id="c9", name="apply_patch", arguments={"input": PATCH})])
    rendering = Rendering(reply, conversation, request, TokenUsage(input=1, output=1), "resp-1")
    (item,) = codec.body(rendering)["output"]
    assert (item["type"], item["call_id"], item["input"]) == ("custom_tool_call", "c9", PATCH)
    streamed = assemble_responses(sse_payloads(b"".join(codec.frames(rendering))))
    assert streamed["output"] == [item]


def test_a_providers_own_reasoning_items_stream_to_the_harness_intact() -> None:
    """With `store: false` the CLI sends the encrypted reasoning back in its next request: it must arrive."""
    codec = CODECS["openai_responses"]
    assert isinstance(codec, Codec)
    answer = responses_answer("Hi.", [CALL]).body
    reply = codec.reply(answer)
    reply.raw = answer
    streamed = assemble_responses(sse_payloads(b"".join(codec.frames(_rendering(codec, reply)))))
    assert streamed["output"] == answer["output"] and streamed["output"][0]["encrypted_content"] == "eA=="
    assert reply.text == "Hi." and [c.name for c in reply.calls] == [CALL[0]]
