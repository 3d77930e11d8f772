"""The Gemini API (`generateContent`): inbound as Google's genai SDK speaks it, outbound to Google's Gemini API.

The shapes are those a real CLI on the genai SDK sends and reassembles, as measured (docs/harnesses/).
Outbound, what a crossing from another API loses: sampling settings (the provider's defaults apply) and thought
signatures, which another API never had; calls Gemini did not sign carry Google's documented
`skip_thought_signature_validator` sentinel instead, so Gemini 3 accepts them in a replayed history.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from harness_eval.gateway.conversation import Conversation, Reply, ToolSpec, estimate_tokens, text_pieces
from harness_eval.gateway.wire.base import (
    Codec,
    LocalAnswer,
    ModelCall,
    Rendering,
    RequestError,
    Route,
    append_turn,
    as_dict,
    as_int,
    as_list,
    expect,
    fresh_id,
    json_schema,
    object_schema,
    result_text,
    sse,
)
from harness_eval.models import Message, TokenUsage, ToolCall, ToolStatus

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

# Gemini 3 rejects replayed function calls without a thought signature; this value is Google's documented way to
# send calls it did not sign (translated from another API, or written by a harness).
SKIP_SIGNATURE = "skip_thought_signature_validator"

REFUSALS = ("SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY")

# The CLI's SSE framing: it splits events on blank lines written with CRLF.
END = b"\r\n\r\n"


class Gemini(Codec):
    name = "gemini"
    provider = "gemini"
    # Model ids may hold slashes (OpenRouter's "vendor/model"), which the CLI puts in the path as they are.
    routes = (Route("POST", "/v1beta/models/{target:.+}", "models"),)

    # -- inbound --------------------------------------------------------------------------------------------------

    def route(
        self, route: str, params: Mapping[str, str], body: dict[str, Any], served: str
    ) -> ModelCall | LocalAnswer:
        model, _, method = params["target"].rpartition(":")
        if method == "countTokens":
            # The CLI may size its context with it; an estimate is as good as any for a script.
            tokens = estimate_tokens(body)
            return LocalAnswer({"totalTokens": tokens}, TokenUsage(input=tokens), model)
        if method not in ("generateContent", "streamGenerateContent"):
            raise RequestError(f"unsupported method {method!r}", status=404)
        return ModelCall(model, stream=method == "streamGenerateContent")

    def parse(self, body: dict[str, Any], model: str) -> Conversation:
        messages: list[Message] = []
        system = body.get("systemInstruction")
        if isinstance(system, str):
            messages.append(Message(role="system", text=system))
        elif system is not None:
            parts = _parts(expect(system, dict, "systemInstruction"), "systemInstruction")
            messages.append(Message(role="system", text=_text(parts)))
        for n, content in enumerate(expect(body.get("contents", []), list, "contents")):
            messages.extend(_messages(expect(content, dict, f"contents[{n}]"), f"contents[{n}]"))
        tools = [
            ToolSpec(
                str(declaration.get("name", "")),
                declaration.get("parametersJsonSchema") or declaration.get("parameters") or {},
                str(declaration.get("description", "")),
            )
            for n, tool in enumerate(expect(body.get("tools", []), list, "tools"))
            for declaration in expect(
                expect(tool, dict, f"tools[{n}]").get("functionDeclarations", []), list, "functionDeclarations"
            )
            if isinstance(declaration, dict)
        ]
        config = expect(body.get("generationConfig", {}), dict, "generationConfig")
        schema = config.get("responseJsonSchema") or config.get("responseSchema")
        if schema is None and config.get("responseMimeType") == "application/json":
            schema = {}
        limit = config.get("maxOutputTokens")
        return Conversation(
            api=self.name,
            model=model,
            messages=messages,
            tools=tools,
            response_schema=schema,
            max_tokens=limit if isinstance(limit, int) else None,
        )

    def body(self, rendering: Rendering) -> dict[str, Any]:
        if rendering.reply.raw is not None:
            return rendering.reply.raw
        parts: list[dict[str, Any]] = [{"text": rendering.reply.text}] if rendering.reply.text else []
        return _event(rendering, parts + _calls(rendering), final=True)

    def frames(self, rendering: Rendering) -> list[bytes]:
        """Text over several events and the calls with the last one, which alone carries finishReason and usage:
        the shape Gemini itself streams and the CLI reassembles. A Gemini provider's own answer goes as one
        event."""
        if rendering.reply.raw is not None:
            return [sse(rendering.reply.raw, end=END)]
        events: list[list[dict[str, Any]]] = [[{"text": piece}] for piece in text_pieces(rendering.reply.text)]
        calls = _calls(rendering)
        if calls or not events:
            events.append(calls or [{"text": ""}])
        return [
            sse(_event(rendering, parts, final=n == len(events) - 1), end=END) for n, parts in enumerate(events)
        ]

    def error(self, status: int, message: str) -> dict[str, Any]:
        return {"error": {"code": status, "message": message, "status": STATUS_NAMES.get(status, "UNKNOWN")}}

    # -- outbound -------------------------------------------------------------------------------------------------

    def request(self, conversation: Conversation, model: str) -> dict[str, Any]:
        """`model` is in the URL for Gemini, not the body."""
        contents: list[dict[str, Any]] = []
        for message in conversation.dialogue:
            role = "model" if message.role == "assistant" else "user"
            parts: list[dict[str, Any]] = [{"text": message.text}] if message.text else []
            if message.role == "assistant":
                parts += [
                    {
                        "functionCall": {"id": call.id, "name": call.name, "args": call.arguments},
                        "thoughtSignature": SKIP_SIGNATURE,
                    }
                    for call in message.tool_calls
                ]
            elif message.role == "tool":
                parts += [
                    {
                        "functionResponse": {
                            "id": call.id,
                            "name": call.name,
                            "response": {
                                "error" if call.status is ToolStatus.ERROR else "output": result_text(call)
                            },
                        }
                    }
                    for call in message.tool_calls
                ]
            append_turn(contents, role, parts, key="parts")
        body: dict[str, Any] = {"contents": contents}
        system = conversation.system
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        if conversation.tools:
            declarations = [
                {"name": t.name, "description": t.description, "parametersJsonSchema": object_schema(t)}
                for t in conversation.tools
            ]
            body["tools"] = [{"functionDeclarations": declarations}]
        config: dict[str, Any] = {}
        if conversation.response_schema is not None:
            config["responseMimeType"] = "application/json"
            if conversation.response_schema:
                config["responseJsonSchema"] = json_schema(conversation.response_schema)
        if conversation.max_tokens:
            config["maxOutputTokens"] = conversation.max_tokens
        if config:
            body["generationConfig"] = config
        return body

    def native_request(self, conversation: Conversation, model: str) -> dict[str, Any]:
        # The model and the streaming are in the URL, which the gateway writes itself: the body goes as it came.
        return dict(conversation.request)

    def reply(self, answer: dict[str, Any]) -> Reply:
        candidate = as_dict(next(iter(as_list(answer.get("candidates"))), {}))
        parts = [as_dict(p) for p in as_list(as_dict(candidate.get("content")).get("parts"))]
        refusal = None
        block = as_dict(answer.get("promptFeedback")).get("blockReason")
        if block:
            refusal = f"gemini promptFeedback blockReason {block}"
        elif candidate.get("finishReason") in REFUSALS:
            refusal = f"gemini finishReason {candidate['finishReason']}"
        usage = as_dict(answer.get("usageMetadata"))
        output = as_int(usage.get("candidatesTokenCount")) + as_int(usage.get("thoughtsTokenCount"))
        return Reply(
            text=_text(parts),
            calls=_model_calls(parts, lambda call: fresh_id()),
            model_version=str(answer.get("modelVersion") or ""),
            usage=TokenUsage(input=as_int(usage.get("promptTokenCount")), output=output),
            refusal=refusal,
        )

    def url(self, base: str, model: str) -> str:
        return f"{base}/v1beta/models/{model}:generateContent"

    def headers(self, key: str) -> dict[str, str]:
        return {"x-goog-api-key": key}


# ---------------------------------------------------------------------------------------------------------------
# Reading contents: a request's history and a provider's answer are both lists of parts.
# ---------------------------------------------------------------------------------------------------------------


def _parts(content: dict[str, Any], where: str) -> list[dict[str, Any]]:
    return [part for part in expect(content.get("parts", []), list, f"{where}.parts") if isinstance(part, dict)]


def _text(parts: list[dict[str, Any]]) -> str:
    # Thought summaries are the model's own scratch text, not part of what it said.
    return "".join(p["text"] for p in parts if isinstance(p.get("text"), str) and not p.get("thought"))


def _model_calls(parts: list[dict[str, Any]], missing_id: Callable[[dict[str, Any]], str]) -> list[ToolCall]:
    """The function calls of a model turn; `missing_id(call)` names a call that came without an id."""
    return [
        ToolCall(
            id=str(call.get("id") or missing_id(call)),
            name=str(call.get("name", "")),
            arguments=call.get("args") or {},
        )
        for part in parts
        if isinstance(call := part.get("functionCall"), dict)
    ]


def _messages(content: dict[str, Any], where: str) -> list[Message]:
    parts = _parts(content, where)
    if content.get("role") == "model":
        # The CLI sends calls without ids; a result names its call, so the name is the id that pairs them.
        calls = _model_calls(parts, lambda call: str(call.get("name", "")))
        return [Message(role="assistant", text=_text(parts), tool_calls=calls)]
    messages = [
        Message(role="tool", tool_calls=[_result(response)])
        for part in parts
        if isinstance(response := part.get("functionResponse"), dict)
    ]
    text = _text(parts)
    if text or not messages:
        messages.append(Message(role="user", text=text))
    return messages


def _result(response: dict[str, Any]) -> ToolCall:
    payload = response.get("response")
    failed = isinstance(payload, dict) and "error" in payload
    output = payload.get("error" if failed else "output", payload) if isinstance(payload, dict) else payload
    name = str(response.get("name", ""))
    return ToolCall(
        id=str(response.get("id") or name),
        name=name,
        result=output if isinstance(output, str) else json.dumps(output, ensure_ascii=False),
        status=ToolStatus.ERROR if failed else ToolStatus.OK,
    )


# ---------------------------------------------------------------------------------------------------------------
# Writing answers.
# ---------------------------------------------------------------------------------------------------------------


def _calls(rendering: Rendering) -> list[dict[str, Any]]:
    return [{"functionCall": {"name": call.name, "args": call.arguments}} for call in rendering.reply.calls]


def _event(rendering: Rendering, parts: list[dict[str, Any]], *, final: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    event: dict[str, Any] = {
        "candidates": [candidate],
        "modelVersion": rendering.model,
        "responseId": rendering.response_id,
    }
    if final:
        candidate["finishReason"] = "SAFETY" if rendering.reply.refusal else "STOP"
        usage = rendering.usage
        event["usageMetadata"] = {
            "promptTokenCount": usage.input,
            "candidatesTokenCount": usage.output,
            "totalTokenCount": usage.total,
        }
    return event
