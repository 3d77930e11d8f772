"""The Anthropic Messages API (`POST /v1/messages`), outbound only for now: any harness's conversation to Claude.

The inbound half (serving Claude Code: its routes, streamed `message_start` / `content_block_*` events, system
text inside `messages`) is the next issue's; it will make this class a `Codec` like the others, with the
`native_request` that forwards Claude Code's own request to Anthropic untranslated. Until then no harness speaks
this API to the gateway, so every request reaching Anthropic is a translation.
"""

from __future__ import annotations

import json
import re
from typing import Any

from harness_eval.gateway.conversation import Conversation, Reply
from harness_eval.gateway.wire.base import (
    Outbound,
    append_turn,
    as_dict,
    as_int,
    as_list,
    json_schema,
    object_schema,
    result_text,
)
from harness_eval.models import TokenUsage, ToolCall, ToolStatus

VERSION = "2023-06-01"

# Anthropic requires an answer length; OpenCode's own output limit for models it does not know.
DEFAULT_MAX_TOKENS = 8192


class AnthropicMessages(Outbound):
    name = "anthropic_messages"
    provider = "anthropic"

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

    def reply(self, answer: dict[str, Any]) -> Reply:
        blocks = [as_dict(b) for b in as_list(answer.get("content"))]
        text = "".join(b["text"] for b in blocks if b.get("type") == "text" and isinstance(b.get("text"), str))
        calls = [
            ToolCall(id=str(b.get("id", "")), name=str(b.get("name", "")), arguments=as_dict(b.get("input")))
            for b in blocks
            if b.get("type") == "tool_use"
        ]
        usage = as_dict(answer.get("usage"))
        prompt = sum(
            as_int(usage.get(k))
            for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
        )
        return Reply(
            text=text,
            calls=calls,
            model_version=str(answer.get("model") or ""),
            usage=TokenUsage(input=prompt, output=as_int(usage.get("output_tokens"))),
            refusal="anthropic stop_reason refusal" if answer.get("stop_reason") == "refusal" else None,
        )

    def url(self, base: str, model: str) -> str:
        return f"{base}/v1/messages"

    def headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key, "anthropic-version": VERSION}


def _tool_id(call_id: str) -> str:
    """Anthropic accepts only [A-Za-z0-9_-] in tool ids; other harnesses are freer."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", call_id) or "call"
