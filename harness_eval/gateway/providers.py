"""Which provider serves a `--model` value, where it lives, and the keys that must never leave this process.

Keys are read from the harness-eval process's environment here and nowhere else: the agent and its CLI only ever
see the harnesses' dummy key, and everything the gateway writes goes through `redact` first, so a key that an
upstream echoes back (error messages do) cannot reach a trial's files either.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from harness_eval.errors import HarnessEvalError

Provider = Literal["gemini", "openai", "anthropic"]
PROVIDERS: tuple[Provider, ...] = ("gemini", "openai", "anthropic")

# What a scripted or simulated policy is served as: a neutral id, because some harnesses change their prompts by
# model family, which would confound harness comparisons.
NEUTRAL_MODEL = "local-model"  # no family prefix (a harness might switch prompts), nothing telling

KEY_VARIABLES: dict[Provider, tuple[str, ...]] = {
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
}

# (variable that overrides it, default). Each is the variable that provider's own tools read.
BASE_URLS: dict[Provider, tuple[str, str]] = {
    "gemini": ("GOOGLE_GEMINI_BASE_URL", "https://generativelanguage.googleapis.com"),
    "openai": ("OPENAI_BASE_URL", "https://api.openai.com/v1"),
    "anthropic": ("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
}

# Shorter values are not secrets worth hunting for, and replacing them would mangle unrelated text.
MIN_SECRET_LENGTH = 8
REDACTED = "[redacted]"


@dataclass(frozen=True)
class ModelRef:
    provider: Provider
    model: str  # the provider's own id, without our prefix

    @property
    def name(self) -> str:
        return f"{self.provider}:{self.model}"


def parse_model(model: str) -> ModelRef | None:
    """The upstream a `--model` value names, or None for `scripted:*` and `simulated` (no upstream at all).

    `provider:model` is explicit. A bare id picks the provider by family (`gemini-*`, `claude-*`, anything else
    OpenAI-compatible), so ids that contain colons themselves (`llama3:8b`, `...:free`) still work bare."""
    if model == "simulated" or model.startswith("scripted:"):
        return None
    prefix, colon, rest = model.partition(":")
    if colon and prefix in PROVIDERS:
        if not rest.strip():
            raise HarnessEvalError(f"model {model!r} names no model after '{prefix}:'")
        return ModelRef(prefix, rest)  # type: ignore[arg-type]
    if not model.strip():
        raise HarnessEvalError("the model is empty: use e.g. 'gemini:gemini-3.1-pro-preview' or 'scripted:NAME'")
    if model.startswith("gemini-"):
        return ModelRef("gemini", model)
    if model.startswith("claude-"):
        return ModelRef("anthropic", model)
    return ModelRef("openai", model)


def served_model_name(model: str) -> str:
    """The model id a harness should ask the gateway for: the provider's own id (so the CLI picks the prompts and
    generation settings it would pick for that model, as it would talking to the provider directly), or a neutral
    id for scripted policies."""
    ref = parse_model(model)
    return NEUTRAL_MODEL if ref is None else ref.model


# What runs when the user names no model: the first provider whose key is set, else the offline `simulated` model.
DEFAULT_MODELS: dict[Provider, str] = {
    "gemini": "gemini:gemini-3.1-pro-preview",
    "anthropic": "anthropic:claude-sonnet-4-5",
    "openai": "openai:gpt-4.1",
}


def default_model() -> str:
    """A researcher who set a key means to use it; without one, the run must still work, on `simulated`."""
    for provider, model in DEFAULT_MODELS.items():
        if api_key(provider):
            return model
    return "simulated"


def api_key(provider: Provider) -> str | None:
    return next((os.environ[name] for name in KEY_VARIABLES[provider] if os.environ.get(name)), None)


def base_url(provider: Provider) -> str:
    variable, default = BASE_URLS[provider]
    return (os.environ.get(variable) or default).rstrip("/")


def redact(text: str) -> str:
    """`text` with every provider key in this process's environment replaced; applied to everything the gateway
    records, whichever provider is in use, since any of them may be set."""
    for secret in _secrets():
        text = text.replace(secret, REDACTED)
    return text


def _secrets() -> list[str]:
    values = {os.environ.get(name, "") for names in KEY_VARIABLES.values() for name in names}
    # Longest first, so a key that contains another is replaced whole.
    return sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)
