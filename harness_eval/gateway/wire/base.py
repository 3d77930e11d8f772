"""What every wire codec shares: the interface the gateway talks to, and the helpers no codec should copy.

A codec turns one wire API into the API-neutral `Conversation` / `Reply` (conversation.py) and back, in both
directions. Inbound, it serves a harness: `routes` say which URLs are its own, `route` reads what a request asks
for, `parse` reads the request into a `Conversation`, and `body` / `frames` / `error` write the answer. Outbound,
it calls a real provider speaking that API: `request` writes any `Conversation` as that provider's request body,
and `reply` reads the provider's answer (refusals included) back into a `Reply`. A codec that has both halves
(`Codec`) can also forward a harness's own request untouched (`native_request`), for a provider that speaks the
harness's API.
"""

from __future__ import annotations

import json
import secrets
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from harness_eval.gateway.conversation import Conversation, Reply, ToolSpec
from harness_eval.gateway.providers import Provider
from harness_eval.models import TokenUsage, ToolCall


class RequestError(Exception):
    """The harness sent something we cannot read or serve; answered with `status` and recorded for the session."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Route:
    """One URL a codec serves. `name` is handed back to `Inbound.route`, so a codec can tell its routes apart."""

    method: Literal["GET", "POST"]
    path: str  # an aiohttp pattern: "/v1/chat/completions", "/v1beta/models/{target:.+}"
    name: str


@dataclass(frozen=True)
class ModelCall:
    """A request that wants a model turn: parsed, answered by the session's policy, rendered, recorded."""

    model: str
    stream: bool


@dataclass(frozen=True)
class LocalAnswer:
    """A request the codec answers itself, without the policy (token counts, model lists)."""

    body: dict[str, Any]
    tokens: TokenUsage
    model: str = ""


@dataclass(frozen=True)
class Rendering:
    """Everything a codec needs to write one answer."""

    reply: Reply
    conversation: Conversation
    request: dict[str, Any]
    usage: TokenUsage
    response_id: str

    @property
    def model(self) -> str:
        """The model the answer names: a provider's own version, else the id the harness asked for. A scripted
        policy's name ("scripted:...") stays in our record and never goes on the wire, where it would be a tell."""
        if self.reply.upstream is not None and self.reply.model_version:
            return self.reply.model_version
        return self.conversation.model


class Outbound(ABC):
    """The half that calls a real provider speaking this API."""

    name: ClassVar[str]  # the codec's name, also `Conversation.api` and `Exchange.api`
    provider: ClassVar[Provider]  # the provider whose native API this is

    @abstractmethod
    def request(self, conversation: Conversation, model: str) -> dict[str, Any]:
        """A request body for this API from any conversation, whichever API the harness spoke."""

    @abstractmethod
    def reply(self, answer: dict[str, Any]) -> Reply:
        """The provider's whole (non-streamed) answer as a `Reply`, with its refusal if it refused."""

    @abstractmethod
    def url(self, base: str, model: str) -> str:
        """Where to post the request, under the provider's base URL."""

    @abstractmethod
    def headers(self, key: str) -> dict[str, str]:
        """The provider's authentication (and version) headers for `key`."""


class Inbound(ABC):
    """The half that serves a harness speaking this API."""

    name: ClassVar[str]
    routes: ClassVar[tuple[Route, ...]]

    @abstractmethod
    def route(
        self, route: str, params: Mapping[str, str], body: dict[str, Any], served: str
    ) -> ModelCall | LocalAnswer:
        """What a request to one of `routes` asks for. `params` are the URL's match groups, `body` the JSON body
        (empty for a GET), `served` the name the session answers as. Raises `RequestError` for what it cannot
        serve."""

    @abstractmethod
    def parse(self, body: dict[str, Any], model: str) -> Conversation:
        """The request as a `Conversation`; raises `RequestError` naming the field it could not read."""

    @abstractmethod
    def body(self, rendering: Rendering) -> dict[str, Any]:
        """The whole answer, which is also what the log records for a streamed one."""

    @abstractmethod
    def frames(self, rendering: Rendering) -> list[bytes]:
        """The same answer as the server-sent events the harness's client expects."""

    @abstractmethod
    def error(self, status: int, message: str) -> dict[str, Any]:
        """An error body in the shape the harness's client reports."""


class Codec(Inbound, Outbound):
    """Both directions of one API."""

    @abstractmethod
    def native_request(self, conversation: Conversation, model: str) -> dict[str, Any]:
        """The harness's own request for a provider speaking its API: unchanged but for the model and buffering
        (the gateway asks for the whole answer and streams it to the harness itself)."""


# ---------------------------------------------------------------------------------------------------------------
# Helpers for reading untrusted JSON.
# ---------------------------------------------------------------------------------------------------------------

JSON_NAMES = {dict: "object", list: "array", str: "string"}


def expect(value: Any, kind: type, where: str) -> Any:
    """Check a request field's JSON type, so a malformed request becomes a 400 naming the field, not a crash."""
    if not isinstance(value, kind):
        raise RequestError(f"{where} must be a JSON {JSON_NAMES.get(kind, kind.__name__)}")
    return value


def as_int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def bearer(key: str) -> dict[str, str]:
    """OpenAI's authentication, and that of every OpenAI-compatible server."""
    return {"Authorization": f"Bearer {key}"}


def sse(data: dict[str, Any] | str, end: bytes = b"\n\n", event: str | None = None) -> bytes:
    """One server-sent event; `event` names it, for APIs that type their events (Anthropic, OpenAI Responses)."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + text.encode() + end


def fresh_id() -> str:
    """An id for a call the provider left without one (Gemini usually does). Unique across the whole episode,
    because OpenAI and Anthropic histories pair every result with its call by id."""
    return f"call_{secrets.token_hex(8)}"


# ---------------------------------------------------------------------------------------------------------------
# Helpers for writing a conversation in another API.
# ---------------------------------------------------------------------------------------------------------------

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


def object_schema(tool: ToolSpec) -> dict[str, Any]:
    """A tool's parameters as an object schema, which every API requires even of a tool without parameters."""
    schema = json_schema(tool.parameters) or {}
    return {"type": "object", "properties": {}, **schema}


def result_text(call: ToolCall) -> str:
    return call.result or ""


def append_turn(turns: list[dict[str, Any]], role: str, parts: list[dict[str, Any]], *, key: str) -> None:
    """Add a turn, merged into the previous one of the same role: Gemini wants a call's results in one turn and
    Anthropic wants roles to alternate, while harnesses send a message per result."""
    if not parts:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1][key] += parts
    else:
        turns.append({"role": role, key: parts})
