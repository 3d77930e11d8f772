"""One codec per wire API, both directions, registered here once (see base.py for the interface).

The server serves every inbound codec's routes; the upstream policy calls each provider through its codec, and
forwards a harness's own request untranslated when the provider speaks the harness's API. Adding an API is one
module and one entry in `CODECS`.
"""

from __future__ import annotations

from harness_eval.gateway.providers import Provider
from harness_eval.gateway.wire.anthropic_messages import AnthropicMessages
from harness_eval.gateway.wire.base import (
    Codec,
    Inbound,
    LocalAnswer,
    ModelCall,
    Outbound,
    Rendering,
    RequestError,
    Route,
)
from harness_eval.gateway.wire.gemini import Gemini
from harness_eval.gateway.wire.openai_chat import OpenAIChat
from harness_eval.gateway.wire.openai_responses import OpenAIResponses

CODECS: dict[str, Inbound | Outbound] = {
    codec.name: codec for codec in (Gemini(), OpenAIChat(), OpenAIResponses(), AnthropicMessages())
}

# The API a provider is called through when the harness speaks one it does not: its own first-class API.
PRIMARY: dict[Provider, str] = {"gemini": "gemini", "openai": "openai_chat", "anthropic": "anthropic_messages"}


def inbound() -> list[Inbound]:
    """The codecs a harness can speak to the gateway."""
    return [codec for codec in CODECS.values() if isinstance(codec, Inbound)]


def outbound(provider: Provider, api: str) -> Outbound:
    """The codec to call `provider` through for a harness speaking `api`: that API itself when the provider
    speaks it (a `Codec` then, whose `native_request` forwards the harness's request as it came), else the
    provider's primary API."""
    own = CODECS.get(api)
    if isinstance(own, Codec) and own.provider == provider:
        return own
    codec = CODECS[PRIMARY[provider]]
    if not isinstance(codec, Outbound):
        raise TypeError(f"{codec.name} cannot call a provider")
    return codec


def _check() -> None:
    """Two codecs claiming one URL would leave one of them silently unreachable, and a provider's primary API
    must be one that calls it: refuse either at import, not in the middle of a run."""
    seen: dict[tuple[str, str], str] = {}
    for codec in inbound():
        for route in codec.routes:
            key = (route.method, route.path)
            if key in seen:
                raise RuntimeError(f"{codec.name} and {seen[key]} both claim {route.method} {route.path}")
            seen[key] = codec.name
    for provider, name in PRIMARY.items():
        primary = CODECS[name]
        if not isinstance(primary, Outbound) or primary.provider != provider:
            raise RuntimeError(f"{name} cannot be the primary API of {provider}")


_check()

__all__ = [
    "CODECS",
    "PRIMARY",
    "Codec",
    "Inbound",
    "LocalAnswer",
    "ModelCall",
    "Outbound",
    "Rendering",
    "RequestError",
    "Route",
    "inbound",
    "outbound",
]
