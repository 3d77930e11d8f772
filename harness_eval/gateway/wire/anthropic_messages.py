"""The Anthropic Messages API (`POST /v1/messages`): inbound as Anthropic SDK clients speak it; Anthropic outbound.

Inbound, the shapes are those a real agent CLI on this API sends and reassembles (docs/harnesses/): `system` as a
list of text blocks, a `role: "system"` message inside `messages` (its environment notes), tool results as
`tool_result` blocks of a user turn, and a typed event stream (`message_start`, `content_block_*`, `message_delta`,
`message_stop`). A provider's own answer is streamed from its content blocks as they came, thinking blocks and
their signatures included, which the client must send back.

Inbound is checked against a real agent CLI on this API (its tests in tests/harnesses/): its streamed requests to
`/v1/messages?beta=true`, its tool results, text with calls, several calls in one answer. Outbound is not yet
checked against the real API, and a request forwarded to Anthropic as it came goes without the `anthropic-beta`
header the client sent with it, which body fields such as `context_management` need.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from harness_eval.gateway.conversation import Conversation, Reply, ToolSpec, estimate_tokens, text_pieces
from harness_eval.gateway.wire.base import (
    Codec,
    LocalAnswer,
    ModelCall,
    Rendering,
    Route,
    append_turn,
    as_dict,
    as_int,
    as_list,
    expect,
    json_schema,
    object_schema,
    result_text,
    sse,
)
from harness_eval.models import Message, TokenUsage, ToolCall, ToolStatus

VERSION = "2023-06-01"

# Anthropic requires an answer length; a common harness default for models it does not know.
DEFAULT_MAX_TOKENS = 8192

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


class AnthropicMessages(Codec):
    name = "anthropic_messages"
    provider = "anthropic"
    routes = (
        Route("POST", "/v1/messages", "messages"),
        Route("POST", "/v1/messages/count_tokens", "count_tokens"),
    )

    # -- inbound --------------------------------------------------------------------------------------------------

    def route(
        self, route: str, params: Mapping[str, str], body: dict[str, Any], served: str
    ) -> ModelCall | LocalAnswer:
        model = str(body.get("model", ""))
        if route == "count_tokens":
            tokens = estimate_tokens(body)
            return LocalAnswer({"input_tokens": tokens}, TokenUsage(input=tokens), model)
        return ModelCall(model, stream=bool(body.get("stream")))

    def parse(self, body: dict[str, Any], model: str) -> Conversation:
        messages: list[Message] = []
        system = body.get("system")
        if isinstance(system, str):
            messages.append(Message(role="system", text=system))
        elif system is not None:
            # Separate blocks are separate documents (clients send several), kept apart in other APIs too.
            blocks = [b for b in expect(system, list, "system") if isinstance(b, dict)]
            messages.append(Message(role="system", text="\n\n".join(_text([b]) for b in blocks if _text([b]))))
        names: dict[str, str] = {}  # tool_use id -> tool name: a result names only the call it answers
        for n, raw in enumerate(expect(body.get("messages"), list, "messages")):
            messages.extend(_messages(expect(raw, dict, f"messages[{n}]"), f"messages[{n}]", names))
        tools = [
            ToolSpec(str(tool.get("name", "")), tool.get("input_schema") or {}, str(tool.get("description", "")))
            for tool in expect(body.get("tools") or [], list, "tools")
            if isinstance(tool, dict)
        ]
        limit = body.get("max_tokens")
        return Conversation(
            api=self.name,
            model=model,
            messages=messages,
            tools=tools,
            response_schema=_schema(body.get("output_config")),
            max_tokens=limit if isinstance(limit, int) else None,
        )

    def body(self, rendering: Rendering) -> dict[str, Any]:
        if rendering.reply.raw is not None:
            return rendering.reply.raw
        return {**_message(rendering), "content": _blocks(rendering.reply)}

    def frames(self, rendering: Rendering) -> list[bytes]:
        """The message's head, each content block as start / deltas / stop (text in pieces, a call's input as
        JSON fragments), then the stop reason with the usage, and the end: the order clients accumulate."""
        raw = rendering.reply.raw
        blocks = [as_dict(b) for b in as_list(raw.get("content"))] if raw is not None else _blocks(rendering.reply)
        head = {**_message(rendering), "content": [], "stop_reason": None}
        head["usage"] = {**head["usage"], "output_tokens": 0}
        events: list[dict[str, Any]] = [{"type": "message_start", "message": head}]
        for index, block in enumerate(blocks):
            start, deltas = _stream(block)
            events.append({"type": "content_block_start", "index": index, "content_block": start})
            events += [{"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas]
            events.append({"type": "content_block_stop", "index": index})
        final = _message(rendering)
        events.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": final["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": final["usage"]["output_tokens"]},
            }
        )
        events.append({"type": "message_stop"})
        return [sse(event, event=event["type"]) for event in events]

    def error(self, status: int, message: str) -> dict[str, Any]:
        kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    # -- outbound -------------------------------------------------------------------------------------------------

    def request(self, conversation: Conversation, model: str) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        for message in conversation.dialogue:
            blocks: list[dict[str, Any]] = [{"type": "text", "text": message.text}] if message.text else []
            if message.role == "assistant":
                blocks += [
                    {"type": "tool_use", "id": _tool_id(call.id), "name": call.name, "input": call.arguments}
                    for call in message.tool_calls
                ]
            elif message.role == "tool":
                blocks += [
                    {
                        "type": "tool_result",
                        "tool_use_id": _tool_id(call.id),
                        "content": result_text(call),
                        "is_error": call.status is ToolStatus.ERROR,
                    }
                    for call in message.tool_calls
                ]
            append_turn(messages, "assistant" if message.role == "assistant" else "user", blocks, key="content")
        body: dict[str, Any] = {
            "model": model,
            "max_tokens": conversation.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": messages,
        }
        system = conversation.system
        if conversation.response_schema is not None:
            # The Messages API has no schema-constrained answer outside tools; saying so is what a proxy can do.
            schema = json.dumps(json_schema(conversation.response_schema) or {"type": "object"})
            system += (
                f"\n\nAnswer with a single JSON value, and nothing else, that matches this JSON schema: {schema}"
            )
        if system.strip():
            body["system"] = system.strip()
        if conversation.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": object_schema(t)}
                for t in conversation.tools
            ]
        return body

    def native_request(self, conversation: Conversation, model: str) -> dict[str, Any]:
        body = dict(conversation.request)
        body["model"] = model
        body["stream"] = False  # the gateway buffers the answer, then streams it to the harness itself
        return body

    def reply(self, answer: dict[str, Any]) -> Reply:
        blocks = [as_dict(b) for b in as_list(answer.get("content"))]
        usage = as_dict(answer.get("usage"))
        prompt = sum(
            as_int(usage.get(k))
            for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
        )
        return Reply(
            text=_text(blocks),
            calls=[_call(b) for b in blocks if b.get("type") == "tool_use"],
            model_version=str(answer.get("model") or ""),
            usage=TokenUsage(input=prompt, output=as_int(usage.get("output_tokens"))),
            refusal="anthropic stop_reason refusal" if answer.get("stop_reason") == "refusal" else None,
        )

    def url(self, base: str, model: str) -> str:
        return f"{base}/v1/messages"

    def headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key, "anthropic-version": VERSION}


# ---------------------------------------------------------------------------------------------------------------
# Reading: a request's turns and a provider's answer are both lists of content blocks.
# ---------------------------------------------------------------------------------------------------------------


def _text(blocks: Any) -> str:
    """The text blocks' text (a string content counts as one); thinking is the model's scratch, not its words."""
    if isinstance(blocks, str):
        return blocks
    return "".join(
        b["text"]
        for b in as_list(blocks)
        if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
    )


def _call(block: dict[str, Any]) -> ToolCall:
    return ToolCall(
        id=str(block.get("id", "")), name=str(block.get("name", "")), arguments=block.get("input") or {}
    )


def _messages(raw: dict[str, Any], where: str, names: dict[str, str]) -> list[Message]:
    role = raw.get("role")
    content = raw.get("content")
    if not isinstance(content, str):
        content = [b for b in expect(content, list, f"{where}.content") if isinstance(b, dict)]
    if role == "system":
        return [Message(role="system", text=_text(content))]
    if role == "assistant":
        calls = [_call(b) for b in content if not isinstance(content, str) and b.get("type") == "tool_use"]
        names.update((call.id, call.name) for call in calls)
        return [Message(role="assistant", text=_text(content), tool_calls=calls)]
    results = [
        Message(role="tool", tool_calls=[_result(block, names)])
        for block in ([] if isinstance(content, str) else content)
        if block.get("type") == "tool_result"
    ]
    text = _text(content)
    if text or not results:
        results.append(Message(role="user", text=text))
    return results


def _result(block: dict[str, Any], names: dict[str, str]) -> ToolCall:
    call_id = str(block.get("tool_use_id", ""))
    return ToolCall(
        id=call_id,
        name=names.get(call_id, ""),
        result=_text(block.get("content", "")),
        status=ToolStatus.ERROR if block.get("is_error") else ToolStatus.OK,
    )


def _schema(output_config: Any) -> dict[str, Any] | None:
    """`output_config.format` of type json_schema: a client's title request asks for one."""
    spec = as_dict(as_dict(output_config).get("format"))
    if spec.get("type") != "json_schema":
        return None
    schema = spec.get("schema")
    return schema if isinstance(schema, dict) else {}


# ---------------------------------------------------------------------------------------------------------------
# Writing answers.
# ---------------------------------------------------------------------------------------------------------------


def _tool_id(call_id: str) -> str:
    """Anthropic accepts only [A-Za-z0-9_-] in tool ids; other harnesses are freer."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", call_id) or "call"


def _blocks(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
    blocks += [
        {"type": "tool_use", "id": _tool_id(call.id), "name": call.name, "input": call.arguments}
        for call in reply.calls
    ]
    return blocks


def _message(rendering: Rendering) -> dict[str, Any]:
    reply = rendering.reply
    stop = "refusal" if reply.refusal else "tool_use" if reply.calls else "end_turn"
    return {
        "id": rendering.response_id,
        "type": "message",
        "role": "assistant",
        "model": rendering.model,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": rendering.usage.input, "output_tokens": rendering.usage.output},
    }


def _stream(block: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A content block as its `content_block_start` and the deltas that fill it in."""
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": ""}, [
            {"type": "text_delta", "text": piece} for piece in text_pieces(str(block.get("text", "")))
        ]
    if kind == "tool_use":
        fragments = text_pieces(json.dumps(block.get("input") or {}), size=24)
        return {**block, "input": {}}, [{"type": "input_json_delta", "partial_json": f} for f in fragments]
    if kind == "thinking":
        deltas = [
            {"type": "thinking_delta", "thinking": piece} for piece in text_pieces(str(block.get("thinking", "")))
        ]
        return {"type": "thinking", "thinking": ""}, [
            *deltas,
            {"type": "signature_delta", "signature": block.get("signature", "")},
        ]
    return block, []  # redacted thinking and anything newer: whole, in its start event
