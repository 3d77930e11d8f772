"""The OpenAI Responses API (`POST /v1/responses`): inbound as OpenAI's agent CLI speaks it, outbound to OpenAI.

Inbound, the shapes are those a real CLI on this API sends and reassembles (docs/harnesses/): the instructions as
`developer` messages inside `input`, calls as `function_call` items and freeform tools (`apply_patch`) as
`custom_tool_call` items whose `input` is plain text, their results as `*_call_output` items, and a typed event
stream (`response.created`, `response.output_item.added` / `.done` around each item's deltas, `response.completed`
with the usage).

A freeform tool has no JSON schema. In the API-neutral view it is a tool of one string parameter, `input`, so a
script or a provider on another API can call it like any other tool; a call to a tool the request declared
freeform goes back to the harness as a `custom_tool_call` again. A provider's own answer is streamed from its
output items as they came, reasoning items included, which the client sends back in its next request.
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

# The one parameter a freeform tool has in the neutral view: the text the model writes for it.
FREEFORM_INPUT = "input"
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
OUTPUTS = ("function_call_output", "custom_tool_call_output")


def freeform_schema(description: str) -> dict[str, Any]:
    """A freeform tool as a JSON-schema tool: its grammar, if any, becomes what the `input` text must follow."""
    return {
        "type": "object",
        "properties": {FREEFORM_INPUT: {"type": "string", "description": description}},
        "required": [FREEFORM_INPUT],
    }


class OpenAIResponses(Codec):
    name = "openai_responses"
    provider = "openai"
    routes = (Route("POST", "/v1/responses", "responses"),)

    # -- inbound --------------------------------------------------------------------------------------------------

    def route(
        self, route: str, params: Mapping[str, str], body: dict[str, Any], served: str
    ) -> ModelCall | LocalAnswer:
        return ModelCall(str(body.get("model", "")), stream=bool(body.get("stream")))

    def parse(self, body: dict[str, Any], model: str) -> Conversation:
        messages: list[Message] = []
        instructions = body.get("instructions")
        if isinstance(instructions, str) and instructions:
            messages.append(Message(role="system", text=instructions))
        items = body.get("input")
        if isinstance(items, str):
            items = [{"type": "message", "role": "user", "content": items}]
        names: dict[str, str] = {}  # call_id -> tool name: an output names only the call it answers
        for n, raw in enumerate(expect(items, list, "input")):
            _read_item(expect(raw, dict, f"input[{n}]"), messages, names)
        tools = [
            spec
            for n, tool in enumerate(expect(body.get("tools") or [], list, "tools"))
            if (spec := _tool(expect(tool, dict, f"tools[{n}]"))) is not None
        ]
        limit = body.get("max_output_tokens")
        return Conversation(
            api=self.name,
            model=model,
            messages=messages,
            tools=tools,
            response_schema=_schema(body.get("text")),
            max_tokens=limit if isinstance(limit, int) else None,
        )

    def body(self, rendering: Rendering) -> dict[str, Any]:
        if rendering.reply.raw is not None:
            return rendering.reply.raw
        return _response(rendering, _items(rendering))

    def frames(self, rendering: Rendering) -> list[bytes]:
        """The response's head, each output item as added / deltas / done (text in pieces, a call's arguments
        or freeform input in fragments), then the whole response with its usage: the order clients accumulate."""
        whole = self.body(rendering)
        events: list[dict[str, Any]] = [
            {"type": "response.created", "response": {**whole, "status": "in_progress", "output": []}}
        ]
        for index, item in enumerate(as_dict(i) for i in as_list(whole.get("output"))):
            events += _stream(index, item)
        events.append({"type": "response.completed", "response": whole})
        return [sse({**event, "sequence_number": n}, event=event["type"]) for n, event in enumerate(events)]

    def error(self, status: int, message: str) -> dict[str, Any]:
        kind = "invalid_request_error" if status < 500 else "server_error"
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}

    # -- outbound -------------------------------------------------------------------------------------------------

    def request(self, conversation: Conversation, model: str) -> dict[str, Any]:
        items: list[dict[str, Any]] = []
        for message in conversation.dialogue:
            if message.role == "tool":
                items += [
                    {"type": "function_call_output", "call_id": call.id, "output": result_text(call)}
                    for call in message.tool_calls
                ]
                continue
            if message.text:
                kind = "output_text" if message.role == "assistant" else "input_text"
                items.append(
                    {"type": "message", "role": message.role, "content": [{"type": kind, "text": message.text}]}
                )
            items += [
                {
                    "type": "function_call",
                    "call_id": call.id,
                    "name": call.name,
                    "arguments": json.dumps(call.arguments, ensure_ascii=False),
                }
                for call in message.tool_calls
            ]
        body: dict[str, Any] = {"model": model, "input": items, "store": False}
        if conversation.system:
            body["instructions"] = conversation.system
        if conversation.tools:
            body["tools"] = [
                {"type": "function", "name": t.name, "description": t.description, "parameters": object_schema(t)}
                for t in conversation.tools
            ]
        if conversation.response_schema is not None:
            schema = json_schema(conversation.response_schema) or {"type": "object"}
            body["text"] = {"format": {"type": "json_schema", "name": "answer", "schema": schema}}
        if conversation.max_tokens:
            body["max_output_tokens"] = conversation.max_tokens
        return body

    def native_request(self, conversation: Conversation, model: str) -> dict[str, Any]:
        body = dict(conversation.request)
        body["model"] = model
        body["stream"] = False  # the gateway buffers the answer, then streams it to the harness itself
        return body

    def reply(self, answer: dict[str, Any]) -> Reply:
        items = [as_dict(item) for item in as_list(answer.get("output"))]
        parts = [
            as_dict(p) for item in items if item.get("type") == "message" for p in as_list(item.get("content"))
        ]
        refused = [str(p.get("refusal", "")) for p in parts if p.get("type") == "refusal"]
        refusal = f"openai refusal: {' '.join(refused)}" if refused else None
        reason = as_dict(answer.get("incomplete_details")).get("reason")
        if refusal is None and reason == "content_filter":
            refusal = "openai incomplete_details content_filter"
        usage = as_dict(answer.get("usage"))
        return Reply(
            text="".join(str(p.get("text", "")) for p in parts if p.get("type") == "output_text"),
            calls=[call for item in items if (call := _call(item)) is not None],
            model_version=str(answer.get("model") or ""),
            usage=TokenUsage(input=as_int(usage.get("input_tokens")), output=as_int(usage.get("output_tokens"))),
            refusal=refusal,
        )

    def url(self, base: str, model: str) -> str:
        return f"{base}/responses"

    def headers(self, key: str) -> dict[str, str]:
        return bearer(key)


# ---------------------------------------------------------------------------------------------------------------
# Reading a request's items and tools, and a provider's output items.
# ---------------------------------------------------------------------------------------------------------------


def _text(content: Any) -> str:
    """A message's text: a plain string, or its text parts (input_text, output_text) joined."""
    if isinstance(content, str):
        return content
    return "".join(
        str(part.get("text", ""))
        for part in as_list(content)
        if isinstance(part, dict) and part.get("type") in ("input_text", "output_text", "text")
    )


def _call(item: dict[str, Any]) -> ToolCall | None:
    """A call item, in a harness's history or a provider's answer; the model's own broken JSON is kept as `_raw`
    rather than failing (in a history it is the past; in an answer, the harness's to report)."""
    call_id = str(item.get("call_id") or item.get("id") or fresh_id())
    name = str(item.get("name", ""))
    if item.get("type") == "custom_tool_call":
        return ToolCall(id=call_id, name=name, arguments={FREEFORM_INPUT: str(item.get("input", ""))})
    if item.get("type") != "function_call":
        return None
    arguments = item.get("arguments") or "{}"
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    except json.JSONDecodeError:
        parsed = {"_raw": arguments}
    return ToolCall(id=call_id, name=name, arguments=parsed if isinstance(parsed, dict) else {"_raw": parsed})


def _read_item(item: dict[str, Any], messages: list[Message], names: dict[str, str]) -> None:
    """One `input` item into the messages. Calls join the assistant message before them (one answer); reasoning
    and hosted-tool items are the provider's own business and carry nothing a policy reads."""
    kind = item.get("type", "message")
    if kind == "message":
        role = ROLES.get(str(item.get("role", "")), "user")
        messages.append(Message(role=role, text=_text(item.get("content"))))  # type: ignore[arg-type]
    elif (call := _call(item)) is not None:
        names[call.id] = call.name
        last = messages[-1] if messages else None
        if last is None or last.role != "assistant":
            last = Message(role="assistant")
            messages.append(last)
        last.tool_calls.append(call)
    elif kind in OUTPUTS:
        call_id = str(item.get("call_id", ""))
        output = item.get("output")
        result = ToolCall(id=call_id, name=names.get(call_id, ""), result=_text(output), status=ToolStatus.OK)
        messages.append(Message(role="tool", tool_calls=[result]))


def _tool(tool: dict[str, Any]) -> ToolSpec | None:
    """A declared tool the model can call by name: functions, and freeform tools as one-string tools. Hosted
    tools (web search) run at the provider and have no place in another API."""
    name, description = str(tool.get("name", "")), str(tool.get("description", ""))
    if tool.get("type") == "function":
        return ToolSpec(name, tool.get("parameters") or {}, description)
    if tool.get("type") == "custom":
        grammar = as_dict(tool.get("format")).get("definition")
        return ToolSpec(name, freeform_schema(str(grammar) if grammar else description), description)
    return None


def _freeform(request: dict[str, Any]) -> set[str]:
    """The names of the freeform tools a request declared: calls to them go out as `custom_tool_call`."""
    return {str(t.get("name")) for t in map(as_dict, as_list(request.get("tools"))) if t.get("type") == "custom"}


def _schema(text: Any) -> dict[str, Any] | None:
    spec = as_dict(as_dict(text).get("format"))
    if spec.get("type") == "json_schema":
        schema = spec.get("schema")
        return schema if isinstance(schema, dict) else {}
    return {} if spec.get("type") == "json_object" else None


# ---------------------------------------------------------------------------------------------------------------
# Writing answers.
# ---------------------------------------------------------------------------------------------------------------


def _items(rendering: Rendering) -> list[dict[str, Any]]:
    reply, rid = rendering.reply, rendering.response_id
    items: list[dict[str, Any]] = []
    content: list[dict[str, Any]] = []
    if reply.text:
        content.append({"type": "output_text", "text": reply.text, "annotations": []})
    if reply.refusal:
        content.append({"type": "refusal", "refusal": reply.refusal})
    if content:
        items.append(
            {"type": "message", "id": f"msg_{rid}", "status": "completed", "role": "assistant", "content": content}
        )
    freeform = _freeform(rendering.request)
    for n, call in enumerate(reply.calls):
        head = {"id": f"fc_{rid}_{n}", "status": "completed", "call_id": call.id, "name": call.name}
        if call.name in freeform:
            items.append(
                {"type": "custom_tool_call", **head, "input": str(call.arguments.get(FREEFORM_INPUT, ""))}
            )
        else:
            items.append(
                {"type": "function_call", **head, "arguments": json.dumps(call.arguments, ensure_ascii=False)}
            )
    return items


def _response(rendering: Rendering, output: list[dict[str, Any]]) -> dict[str, Any]:
    usage = rendering.usage
    return {
        "id": rendering.response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": rendering.model,
        "output": output,
        "usage": {"input_tokens": usage.input, "output_tokens": usage.output, "total_tokens": usage.total},
    }


def _stream(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    """One output item as `output_item.added`, the deltas that fill it in, and `output_item.done`."""
    kind, item_id = item.get("type"), item.get("id", "")
    at = {"output_index": index, "item_id": item_id}
    done = {"type": "response.output_item.done", "output_index": index, "item": item}
    if kind == "message":
        events: list[dict[str, Any]] = [
            {"type": "response.output_item.added", "output_index": index, "item": {**item, "content": []}}
        ]
        for part_index, part in enumerate(as_dict(p) for p in as_list(item.get("content"))):
            place = {**at, "content_index": part_index}
            empty = {**part, "text": ""} if part.get("type") == "output_text" else part
            events.append({"type": "response.content_part.added", **place, "part": empty})
            if part.get("type") == "output_text":
                text = str(part.get("text", ""))
                events += [
                    {"type": "response.output_text.delta", **place, "delta": piece} for piece in text_pieces(text)
                ]
                events.append({"type": "response.output_text.done", **place, "text": text})
            events.append({"type": "response.content_part.done", **place, "part": part})
        return [*events, done]
    if kind in ("function_call", "custom_tool_call"):
        field, prefix = (
            ("arguments", "function_call_arguments")
            if kind == "function_call"
            else ("input", "custom_tool_call_input")
        )
        value = str(item.get(field, ""))
        added = {"type": "response.output_item.added", "output_index": index, "item": {**item, field: ""}}
        deltas = [{"type": f"response.{prefix}.delta", **at, "delta": f} for f in text_pieces(value, size=24)]
        return [added, *deltas, {"type": f"response.{prefix}.done", **at, field: value}, done]
    return [{"type": "response.output_item.added", "output_index": index, "item": item}, done]
