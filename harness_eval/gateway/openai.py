"""The OpenAI chat-completions API as OpenAI-compatible clients speak it (streamed chunks, tool-call deltas)."""

from __future__ import annotations

import json
import time
from typing import Any

from harness_eval.gateway.conversation import Conversation, ToolSpec, text_pieces
from harness_eval.gateway.wire import Rendering, WireApi, expect, sse
from harness_eval.models import Message, ToolCall, ToolStatus

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool"}


def parse(body: dict[str, Any], model: str) -> Conversation:
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
        calls = [_call(call, f"{where}.tool_calls") for call in expect(raw.get("tool_calls") or [], list, where)]
        names.update((call.id, call.name) for call in calls)
        messages.append(Message(role=role, text=text, tool_calls=calls))
    tools = [
        ToolSpec(
            str(function.get("name", "")), function.get("parameters") or {}, str(function.get("description", ""))
        )
        for tool in expect(body.get("tools") or [], list, "tools")
        if isinstance(tool, dict) and isinstance(function := tool.get("function"), dict)
    ]
    return Conversation(
        api="openai",
        model=model,
        messages=messages,
        tools=tools,
        response_schema=_schema(body.get("response_format")),
        max_tokens=next(
            (v for k in ("max_completion_tokens", "max_tokens") if isinstance(v := body.get(k), int)), None
        ),
    )


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def _call(raw: Any, where: str) -> ToolCall:
    function = expect(expect(raw, dict, where).get("function"), dict, f"{where}.function")
    arguments = function.get("arguments") or "{}"
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    except json.JSONDecodeError:
        parsed = {"_raw": arguments}  # the model's own broken JSON is history, not a reason to fail the request
    return ToolCall(id=str(raw.get("id", "")), name=str(function.get("name", "")), arguments=parsed)


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


def body(rendering: Rendering) -> dict[str, Any]:
    if rendering.reply.raw is not None:
        return rendering.reply.raw
    message: dict[str, Any] = {"role": "assistant", "content": rendering.reply.text or None}
    if rendering.reply.calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for c in rendering.reply.calls
        ]
    return {
        **_envelope(rendering, "chat.completion"),
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(rendering)}],
        "usage": _usage(rendering),
    }


def frames(rendering: Rendering) -> list[bytes]:
    """Role, text pieces, each call's id and name then its arguments in fragments, the finish reason, usage when
    asked for, then [DONE]: the order the AI SDK's stream parser accumulates. Rendered from the reply even for an
    OpenAI provider's own answer, so what only its raw answer holds (reasoning text) is not streamed."""
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
        chunks.append({**_envelope(rendering, "chat.completion.chunk"), "choices": [], "usage": _usage(rendering)})
    return [sse(chunk) for chunk in chunks] + [sse("[DONE]")]


def _chunk(rendering: Rendering, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {**_envelope(rendering, "chat.completion.chunk"), "choices": [choice]}


def _envelope(rendering: Rendering, kind: str) -> dict[str, Any]:
    return {"id": rendering.response_id, "object": kind, "created": int(time.time()), "model": rendering.model}


def error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error" if status < 500 else "server_error"}}


def models(names: list[str]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": name, "object": "model", "created": 0, "owned_by": "harness-eval"} for name in names],
    }


API = WireApi(name="openai", parse=parse, body=body, frames=frames, error=error)
