"""The OpenAI chat-completions API: inbound as OpenAI-compatible clients speak it (the AI SDK's
`@ai-sdk/openai-compatible` among them), outbound to OpenAI and every OpenAI-compatible server (vLLM, llama.cpp,
OpenRouter).

The streamed shapes are those the AI SDK's parser accumulates, measured against a real CLI (docs/harnesses/).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from harness_eval.gateway.conversation import Conversation, Reply, ToolSpec, text_pieces
from harness_eval.gateway.wire.base import (
    Codec,
    LocalAnswer,
    ModelCall,
    Rendering,
    Route,
    as_dict,
    as_int,
    as_list,
    bearer,
    expect,
    fresh_id,
    json_schema,
    object_schema,
    result_text,
    sse,
)
from harness_eval.models import Message, TokenUsage, ToolCall, ToolStatus

CHAT = Route("POST", "/v1/chat/completions", "chat")
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool"}


class OpenAIChat(Codec):
    name = "openai_chat"
    provider = "openai"
    routes = (CHAT, Route("GET", "/v1/models", "models"))

    # -- inbound --------------------------------------------------------------------------------------------------

    def route(
        self, route: str, params: Mapping[str, str], body: dict[str, Any], served: str
    ) -> ModelCall | LocalAnswer:
        if route == "models":
            listing = [{"id": served, "object": "model", "created": 0, "owned_by": "system"}]
            return LocalAnswer({"object": "list", "data": listing}, TokenUsage())
        return ModelCall(str(body.get("model", "")), stream=bool(body.get("stream")))

    def parse(self, body: dict[str, Any], model: str) -> Conversation:
        messages: list[Message] = []
        names: dict[str, str] = {}  # tool_call_id -> tool name: a tool message names only the call it answers
        for n, raw in enumerate(expect(body.get("messages"), list, "messages")):
            where = f"messages[{n}]"
            role = ROLES.get(expect(raw, dict, where).get("role", ""), "user")
            text = _text(raw.get("content"))
            if role == "tool":
                call_id = str(raw.get("tool_call_id", ""))
                result = ToolCall(id=call_id, name=names.get(call_id, ""), result=text, status=ToolStatus.OK)
                messages.append(Message(role="tool", tool_calls=[result]))
                continue
            calls = [
                _history_call(call, f"{where}.tool_calls")
                for call in expect(raw.get("tool_calls") or [], list, where)
            ]
            names.update((call.id, call.name) for call in calls)
            messages.append(Message(role=role, text=text, tool_calls=calls))
        tools = [
            ToolSpec(
                str(function.get("name", "")),
                function.get("parameters") or {},
                str(function.get("description", "")),
            )
            for tool in expect(body.get("tools") or [], list, "tools")
            if isinstance(tool, dict) and isinstance(function := tool.get("function"), dict)
        ]
        return Conversation(
            api=self.name,
            model=model,
            messages=messages,
            tools=tools,
            response_schema=_schema(body.get("response_format")),
            max_tokens=next(
                (v for k in ("max_completion_tokens", "max_tokens") if isinstance(v := body.get(k), int)), None
            ),
        )

    def body(self, rendering: Rendering) -> dict[str, Any]:
        if rendering.reply.raw is not None:
            return rendering.reply.raw
        message: dict[str, Any] = {"role": "assistant", "content": rendering.reply.text or None}
        if rendering.reply.calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for c in rendering.reply.calls
            ]
        return {
            **_envelope(rendering, "chat.completion"),
            "choices": [{"index": 0, "message": message, "finish_reason": _finish(rendering)}],
            "usage": _usage(rendering),
        }

    def frames(self, rendering: Rendering) -> list[bytes]:
        """Role, text pieces, each call's id and name then its arguments in fragments, the finish reason, usage
        when asked for, then [DONE]: the order the AI SDK's stream parser accumulates. Rendered from the reply
        even for an OpenAI provider's own answer, so what only its raw answer holds (reasoning text) is not
        streamed."""
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        deltas += [{"content": piece} for piece in text_pieces(rendering.reply.text)]
        for index, call in enumerate(rendering.reply.calls):
            head = {
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            deltas.append({"tool_calls": [head]})
            deltas += [
                {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}
                for fragment in text_pieces(json.dumps(call.arguments), size=24)
            ]
        chunks = [_chunk(rendering, delta, None) for delta in deltas]
        chunks.append(_chunk(rendering, {}, _finish(rendering)))
        options = rendering.request.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            chunks.append(
                {**_envelope(rendering, "chat.completion.chunk"), "choices": [], "usage": _usage(rendering)}
            )
        return [sse(chunk) for chunk in chunks] + [sse("[DONE]")]

    def error(self, status: int, message: str) -> dict[str, Any]:
        return {"error": {"message": message, "type": "invalid_request_error" if status < 500 else "server_error"}}

    # -- outbound -------------------------------------------------------------------------------------------------

    def request(self, conversation: Conversation, model: str) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        system = conversation.system
        if system:
            messages.append({"role": "system", "content": system})
        for message in conversation.dialogue:
            if message.role == "tool":
                messages += [
                    {"role": "tool", "tool_call_id": call.id, "content": result_text(call)}
                    for call in message.tool_calls
                ]
                continue
            # An assistant turn of calls only has null content; any other turn has a string, even an empty one.
            entry: dict[str, Any] = {"role": message.role, "content": message.text or None}
            if message.tool_calls:
                entry["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {
                            "name": call.name,
                            "arguments": json.dumps(call.arguments, ensure_ascii=False),
                        },
                    }
                    for call in message.tool_calls
                ]
            else:
                entry["content"] = message.text
            messages.append(entry)
        body: dict[str, Any] = {"model": model, "messages": messages}
        if conversation.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": object_schema(t)},
                }
                for t in conversation.tools
            ]
        if conversation.response_schema is not None:
            schema = json_schema(conversation.response_schema) or {"type": "object"}
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
        if conversation.max_tokens:
            body["max_tokens"] = conversation.max_tokens
        return body

    def native_request(self, conversation: Conversation, model: str) -> dict[str, Any]:
        body = dict(conversation.request)
        body["model"] = model
        body["stream"] = False  # the gateway buffers the answer, then streams it to the harness itself
        body.pop("stream_options", None)
        return body

    def reply(self, answer: dict[str, Any]) -> Reply:
        choice = as_dict(next(iter(as_list(answer.get("choices"))), {}))
        message = as_dict(choice.get("message"))
        calls = [
            _call(as_dict(raw.get("function")), str(raw.get("id") or fresh_id()))
            for raw in map(as_dict, as_list(message.get("tool_calls")))
        ]
        refusal = None
        if isinstance(message.get("refusal"), str) and message["refusal"]:
            refusal = f"openai refusal: {message['refusal']}"
        elif choice.get("finish_reason") == "content_filter":
            refusal = "openai finish_reason content_filter"
        usage = as_dict(answer.get("usage"))
        content = message.get("content")
        return Reply(
            text=content if isinstance(content, str) else "",
            calls=calls,
            model_version=str(answer.get("model") or ""),
            usage=TokenUsage(
                input=as_int(usage.get("prompt_tokens")), output=as_int(usage.get("completion_tokens"))
            ),
            refusal=refusal,
        )

    def url(self, base: str, model: str) -> str:
        return f"{base}/chat/completions"

    def headers(self, key: str) -> dict[str, str]:
        return bearer(key)


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def _history_call(raw: Any, where: str) -> ToolCall:
    call = expect(raw, dict, where)
    return _call(expect(call.get("function"), dict, f"{where}.function"), str(call.get("id", "")))


def _call(function: dict[str, Any], call_id: str) -> ToolCall:
    """A `tool_calls` entry's function, in a harness's history or a provider's answer. The model's own broken
    JSON is kept as `_raw` rather than failing: in a history it is the past; in an answer, the harness's to
    report."""
    arguments = function.get("arguments") or "{}"
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    except json.JSONDecodeError:
        parsed = {"_raw": arguments}
    return ToolCall(id=call_id, name=str(function.get("name", "")), arguments=parsed)


def _schema(response_format: Any) -> dict[str, Any] | None:
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema")
        return spec.get("schema", {}) if isinstance(spec, dict) else {}
    return {} if response_format.get("type") == "json_object" else None


def _finish(rendering: Rendering) -> str:
    if rendering.reply.refusal:
        return "content_filter"
    return "tool_calls" if rendering.reply.calls else "stop"


def _usage(rendering: Rendering) -> dict[str, int]:
    usage = rendering.usage
    return {"prompt_tokens": usage.input, "completion_tokens": usage.output, "total_tokens": usage.total}


def _chunk(rendering: Rendering, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {**_envelope(rendering, "chat.completion.chunk"), "choices": [choice]}


def _envelope(rendering: Rendering, kind: str) -> dict[str, Any]:
    return {"id": rendering.response_id, "object": kind, "created": int(time.time()), "model": rendering.model}
