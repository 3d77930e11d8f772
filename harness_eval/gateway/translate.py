"""Requests to each provider's native API from a `Conversation`, and `Reply`s from their answers.

This is what lets any harness drive any provider: a harness on the Gemini wire an OpenAI-compatible or Anthropic
model, one on the OpenAI wire Gemini or Anthropic. A provider that speaks the harness's own API gets the
harness's request unchanged instead (see `native_request`): translation is only for the crossings.

What a crossing loses, by necessity: sampling settings (each provider's defaults apply), Gemini thought
signatures (replaced by the documented `skip_thought_signature_validator` sentinel, so Gemini 3 accepts replayed
calls it did not sign), and reasoning text that one API has no place for in another.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from typing import Any

from harness_eval.gateway.conversation import Conversation, Reply, ToolSpec
from harness_eval.gateway.providers import Provider
from harness_eval.models import Message, TokenUsage, ToolCall, ToolStatus

# Gemini 3 rejects replayed function calls without a thought signature; this value is Google's documented way to
# send calls it did not sign (translated from another API, or written by a harness).
SKIP_SIGNATURE = "skip_thought_signature_validator"

# Anthropic requires an answer length; a common harness default for models it does not know.
DEFAULT_MAX_TOKENS = 8192

GEMINI_REFUSALS = ("SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY")

# Keys the Gemini API's JSON-schema field does not take; some harnesses' tool schemas carry them.
UNSUPPORTED_SCHEMA_KEYS = ("$schema",)


def json_schema(schema: Any) -> Any:
    """A tool or answer schema in plain JSON Schema: Gemini's OpenAPI dialect spells types in capitals
    ("OBJECT"), which OpenAI and Anthropic reject."""
    if isinstance(schema, list):
        return [json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    clean: dict[str, Any] = {}
    for key, value in schema.items():
        if key in UNSUPPORTED_SCHEMA_KEYS:
            continue
        if key == "type" and isinstance(value, str):
            clean[key] = value.lower()
        elif key == "type" and isinstance(value, list):
            clean[key] = [v.lower() if isinstance(v, str) else v for v in value]
        else:
            clean[key] = json_schema(value)
    return clean


def _object_schema(tool: ToolSpec) -> dict[str, Any]:
    schema = json_schema(tool.parameters) or {}
    return {"type": "object", "properties": {}, **schema}


def _system(conversation: Conversation) -> str:
    return "\n\n".join(m.text for m in conversation.messages if m.role == "system" and m.text)


def _dialogue(conversation: Conversation) -> list[Message]:
    return [m for m in conversation.messages if m.role != "system"]


def _result_text(call: ToolCall) -> str:
    return call.result or ""


# ---------------------------------------------------------------------------------------------------------------
# Requests.
# ---------------------------------------------------------------------------------------------------------------


def native_request(conversation: Conversation, model: str) -> dict[str, Any]:
    """The harness's own request, for a provider speaking its API: only the model and the buffering change."""
    body = dict(conversation.request)
    if conversation.api == "openai":
        body["model"] = model
        body["stream"] = False  # the gateway buffers the answer, then streams it to the harness itself
        body.pop("stream_options", None)
    return body


def openai_request(conversation: Conversation, model: str) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    system = _system(conversation)
    if system:
        messages.append({"role": "system", "content": system})
    for message in _dialogue(conversation):
        if message.role == "tool":
            messages += [
                {"role": "tool", "tool_call_id": call.id, "content": _result_text(call)}
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
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)},
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
                "function": {"name": t.name, "description": t.description, "parameters": _object_schema(t)},
            }
            for t in conversation.tools
        ]
    if conversation.response_schema is not None:
        schema = json_schema(conversation.response_schema) or {"type": "object"}
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
    if conversation.max_tokens:
        body["max_tokens"] = conversation.max_tokens
    return body


def gemini_request(conversation: Conversation, model: str) -> dict[str, Any]:
    """`model` is in the URL for Gemini, not the body."""
    contents: list[dict[str, Any]] = []
    for message in _dialogue(conversation):
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
                        "response": {"error" if call.status is ToolStatus.ERROR else "output": _result_text(call)},
                    }
                }
                for call in message.tool_calls
            ]
        _append(contents, role, parts, key="parts")
    body: dict[str, Any] = {"contents": contents}
    system = _system(conversation)
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    if conversation.tools:
        declarations = [
            {"name": t.name, "description": t.description, "parametersJsonSchema": _object_schema(t)}
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


def anthropic_request(conversation: Conversation, model: str) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    for message in _dialogue(conversation):
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
                    "content": _result_text(call),
                    "is_error": call.status is ToolStatus.ERROR,
                }
                for call in message.tool_calls
            ]
        _append(messages, "assistant" if message.role == "assistant" else "user", blocks, key="content")
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": conversation.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    system = _system(conversation)
    if conversation.response_schema is not None:
        # The Messages API has no schema-constrained answer outside tools; saying so is what a proxy can do.
        schema = json.dumps(json_schema(conversation.response_schema) or {"type": "object"})
        system += f"\n\nAnswer with a single JSON value, and nothing else, that matches this JSON schema: {schema}"
    if system.strip():
        body["system"] = system.strip()
    if conversation.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": _object_schema(t)}
            for t in conversation.tools
        ]
    return body


def _append(turns: list[dict[str, Any]], role: str, parts: list[dict[str, Any]], *, key: str) -> None:
    """Add a turn, merged into the previous one of the same role: Gemini wants a call's results in one turn and
    Anthropic wants roles to alternate, while harnesses send a message per result."""
    if not parts:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1][key] += parts
    else:
        turns.append({"role": role, key: parts})


def _tool_id(call_id: str) -> str:
    """Anthropic accepts only [A-Za-z0-9_-] in tool ids; other harnesses are freer."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", call_id) or "call"


# ---------------------------------------------------------------------------------------------------------------
# Answers.
# ---------------------------------------------------------------------------------------------------------------


def _fresh_id() -> str:
    """An id for a call the provider left without one (Gemini usually does). Unique across the whole episode,
    because OpenAI and Anthropic histories pair every result with its call by id."""
    return f"call_{secrets.token_hex(8)}"


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def openai_reply(answer: dict[str, Any]) -> Reply:
    choice = _dict(next(iter(_list(answer.get("choices"))), {}))
    message = _dict(choice.get("message"))
    calls = []
    for raw in _list(message.get("tool_calls")):
        function = _dict(_dict(raw).get("function"))
        arguments = function.get("arguments") or "{}"
        try:
            parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
        except json.JSONDecodeError:
            parsed = {"_raw": arguments}  # the model's broken JSON goes to the harness, which reports it
        calls.append(
            ToolCall(id=str(raw.get("id") or _fresh_id()), name=str(function.get("name", "")), arguments=parsed)
        )
    refusal = None
    if isinstance(message.get("refusal"), str) and message["refusal"]:
        refusal = f"openai refusal: {message['refusal']}"
    elif choice.get("finish_reason") == "content_filter":
        refusal = "openai finish_reason content_filter"
    usage = _dict(answer.get("usage"))
    content = message.get("content")
    return Reply(
        text=content if isinstance(content, str) else "",
        calls=calls,
        model_version=str(answer.get("model") or ""),
        usage=TokenUsage(input=_int(usage.get("prompt_tokens")), output=_int(usage.get("completion_tokens"))),
        refusal=refusal,
    )


def gemini_reply(answer: dict[str, Any]) -> Reply:
    candidate = _dict(next(iter(_list(answer.get("candidates"))), {}))
    parts = [_dict(p) for p in _list(_dict(candidate.get("content")).get("parts"))]
    text = "".join(p["text"] for p in parts if isinstance(p.get("text"), str) and not p.get("thought"))
    calls = [
        ToolCall(
            id=str(call.get("id") or _fresh_id()), name=str(call.get("name", "")), arguments=call.get("args") or {}
        )
        for call in (_dict(p.get("functionCall")) for p in parts if "functionCall" in p)
    ]
    refusal = None
    block = _dict(answer.get("promptFeedback")).get("blockReason")
    if block:
        refusal = f"gemini promptFeedback blockReason {block}"
    elif candidate.get("finishReason") in GEMINI_REFUSALS:
        refusal = f"gemini finishReason {candidate['finishReason']}"
    usage = _dict(answer.get("usageMetadata"))
    output = _int(usage.get("candidatesTokenCount")) + _int(usage.get("thoughtsTokenCount"))
    return Reply(
        text=text,
        calls=calls,
        model_version=str(answer.get("modelVersion") or ""),
        usage=TokenUsage(input=_int(usage.get("promptTokenCount")), output=output),
        refusal=refusal,
    )


def anthropic_reply(answer: dict[str, Any]) -> Reply:
    blocks = [_dict(b) for b in _list(answer.get("content"))]
    text = "".join(b["text"] for b in blocks if b.get("type") == "text" and isinstance(b.get("text"), str))
    calls = [
        ToolCall(id=str(b.get("id", "")), name=str(b.get("name", "")), arguments=_dict(b.get("input")))
        for b in blocks
        if b.get("type") == "tool_use"
    ]
    usage = _dict(answer.get("usage"))
    prompt = sum(
        _int(usage.get(k)) for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    )
    return Reply(
        text=text,
        calls=calls,
        model_version=str(answer.get("model") or ""),
        usage=TokenUsage(input=prompt, output=_int(usage.get("output_tokens"))),
        refusal="anthropic stop_reason refusal" if answer.get("stop_reason") == "refusal" else None,
    )


REQUESTS: dict[Provider, Callable[[Conversation, str], dict[str, Any]]] = {
    "gemini": gemini_request,
    "openai": openai_request,
    "anthropic": anthropic_request,
}
REPLIES: dict[Provider, Callable[[dict[str, Any]], Reply]] = {
    "gemini": gemini_reply,
    "openai": openai_reply,
    "anthropic": anthropic_reply,
}
