"""The Gemini API (`generateContent`, `streamGenerateContent` as server-sent events, `countTokens`)."""

from __future__ import annotations

import json
from typing import Any

from harness_eval.gateway.conversation import Conversation, ToolSpec, estimate_tokens, text_pieces
from harness_eval.gateway.wire import Rendering, WireApi, expect, sse
from harness_eval.models import Message, ToolCall, ToolStatus

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


def parse(body: dict[str, Any], model: str) -> Conversation:
    messages: list[Message] = []
    system = body.get("systemInstruction")
    if isinstance(system, str):
        messages.append(Message(role="system", text=system))
    elif system is not None:
        messages.append(Message(role="system", text=_text(expect(system, dict, "systemInstruction"))))
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
        api="gemini",
        model=model,
        messages=messages,
        tools=tools,
        response_schema=schema,
        max_tokens=limit if isinstance(limit, int) else None,
    )


def _parts(content: dict[str, Any], where: str) -> list[dict[str, Any]]:
    return [part for part in expect(content.get("parts", []), list, f"{where}.parts") if isinstance(part, dict)]


def _text(content: dict[str, Any], where: str = "systemInstruction") -> str:
    # Thought summaries are the model's own scratch text, not part of what it said.
    return "".join(
        p["text"] for p in _parts(content, where) if isinstance(p.get("text"), str) and not p.get("thought")
    )


def _messages(content: dict[str, Any], where: str) -> list[Message]:
    parts = _parts(content, where)
    if content.get("role") == "model":
        calls = [
            ToolCall(
                id=str(call.get("id") or call.get("name", "")),
                name=str(call.get("name", "")),
                arguments=call.get("args") or {},
            )
            for part in parts
            if isinstance(call := part.get("functionCall"), dict)
        ]
        return [Message(role="assistant", text=_text(content, where), tool_calls=calls)]
    messages = [
        Message(role="tool", tool_calls=[_result(response)])
        for part in parts
        if isinstance(response := part.get("functionResponse"), dict)
    ]
    text = _text(content, where)
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


def body(rendering: Rendering) -> dict[str, Any]:
    if rendering.reply.raw is not None:
        return rendering.reply.raw
    parts: list[dict[str, Any]] = [{"text": rendering.reply.text}] if rendering.reply.text else []
    return _event(rendering, parts + _calls(rendering), final=True)


def frames(rendering: Rendering) -> list[bytes]:
    """Text over several events and the calls with the last one, which alone carries finishReason and usage: the
    shape Gemini itself streams and the CLI reassembles. A Gemini provider's own answer goes as one event."""
    if rendering.reply.raw is not None:
        return [sse(rendering.reply.raw, end=b"\r\n\r\n")]
    events: list[list[dict[str, Any]]] = [[{"text": piece}] for piece in text_pieces(rendering.reply.text)]
    calls = _calls(rendering)
    if calls or not events:
        events.append(calls or [{"text": ""}])
    return [
        sse(_event(rendering, parts, final=n == len(events) - 1), end=b"\r\n\r\n")
        for n, parts in enumerate(events)
    ]


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


def error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": STATUS_NAMES.get(status, "UNKNOWN")}}


def count_tokens(request: dict[str, Any]) -> dict[str, Any]:
    """`:countTokens`, which the CLI may use to size its context; an estimate is as good as any for a script."""
    return {"totalTokens": estimate_tokens(request)}


API = WireApi(name="gemini", parse=parse, body=body, frames=frames, error=error)
