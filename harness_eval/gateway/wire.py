"""What both wire formats share: how a parsed request is answered, and the mistakes that make it unanswerable."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from harness_eval.gateway.conversation import Conversation, Reply
from harness_eval.models import TokenUsage


class RequestError(Exception):
    """The harness sent something we cannot read; answered with HTTP 400 and recorded for the session."""


@dataclass(frozen=True)
class Rendering:
    """Everything a wire format needs to write one answer."""

    reply: Reply
    conversation: Conversation
    request: dict[str, Any]
    usage: TokenUsage
    response_id: str

    @property
    def model(self) -> str:
        return self.reply.model_version or self.conversation.model


@dataclass(frozen=True)
class WireApi:
    """One wire format: a parser into a `Conversation` and writers for the whole answer and its stream."""

    name: Literal["gemini", "openai"]
    parse: Callable[[dict[str, Any], str], Conversation]
    body: Callable[[Rendering], dict[str, Any]]  # the whole answer, also what the log records
    frames: Callable[[Rendering], list[bytes]]  # the same answer as server-sent events
    error: Callable[[int, str], dict[str, Any]]


def sse(data: dict[str, Any] | str, end: bytes = b"\n\n") -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return b"data: " + text.encode() + end


JSON_NAMES = {dict: "object", list: "array", str: "string"}


def expect(value: Any, kind: type, where: str) -> Any:
    """Check a request field's JSON type, so a malformed request becomes a 400 naming the field, not a crash."""
    if not isinstance(value, kind):
        raise RequestError(f"{where} must be a JSON {JSON_NAMES.get(kind, kind.__name__)}")
    return value
