"""The policy that asks a real provider: Gemini API, any OpenAI-compatible endpoint, or Anthropic's Messages API.

Each provider is called through its wire codec (wire/): a provider speaking the harness's own API gets the
harness's request as it came, any other gets the conversation translated into its API. What a crossing loses,
by necessity: sampling settings (each provider's defaults apply), Gemini thought signatures, and reasoning text
that one API has no place for in another.

The gateway asks the provider for the whole answer (no upstream streaming), then streams it to the harness in the
harness's own wire format: the harness sees a normal stream, and the log records the exact answer. The cost is
that the harness's first token arrives when the provider's last one does, which no agent CLI here depends on.

Transient faults (429, 5xx, a dropped connection) are retried with bounded exponential backoff that honours
Retry-After; every attempt is recorded. A persistent fault raises `UpstreamError`, which the session answers with
an error status and records as a session error, so the runner makes the trial an error outcome.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from harness_eval.errors import HarnessEvalError
from harness_eval.gateway.conversation import Conversation, Policy, Reply
from harness_eval.gateway.providers import BASE_URLS, KEY_VARIABLES, ModelRef, api_key, base_url
from harness_eval.gateway.wire import Codec, Outbound, outbound
from harness_eval.models import UpstreamAttempt, UpstreamCall

# How much of an unreadable error body to keep: enough to diagnose, not a whole HTML error page.
ERROR_EXCERPT = 500


@dataclass(frozen=True)
class Backoff:
    """How hard to try. The defaults ride out a minute or two of rate limiting without stalling a run forever."""

    attempts: int = 6
    first_s: float = 2.0
    max_s: float = 60.0
    timeout_s: float = 900.0  # one attempt: a thinking model may take minutes over a long agent history

    def wait(self, attempt: int, retry_after: str | None) -> float:
        """Seconds before try `attempt + 1`: what the provider asked for if it did, else doubling, both capped."""
        asked = _seconds(retry_after)
        wanted = asked if asked is not None else self.first_s * 2**attempt
        return max(0.0, min(wanted, self.max_s))


def _seconds(retry_after: str | None) -> float | None:
    """Retry-After as seconds: either a number or an HTTP date."""
    if not retry_after:
        return None
    try:
        return float(retry_after)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(retry_after).timestamp() - time.time()
    except (TypeError, ValueError):
        return None


class UpstreamError(Exception):
    """The provider could not give an answer; `status` is what the harness is answered with."""

    def __init__(self, status: int, message: str, record: UpstreamCall):
        super().__init__(message)
        self.status = status
        self.record = record


class UpstreamPolicy(Policy):
    """Forwards every request of a session to one provider model, translating where the APIs differ."""

    def __init__(self, ref: ModelRef, *, key: str | None, url: str, backoff: Backoff | None = None):
        self.ref = ref
        self.name = ref.name
        self.url = url.rstrip("/")
        self.backoff = backoff or Backoff()
        self._key = key

    @classmethod
    def from_env(cls, ref: ModelRef) -> UpstreamPolicy:
        """Key and base URL from this process's environment. An OpenAI-compatible server with its own base URL
        may need no key (vLLM, llama.cpp); the hosted APIs always do, so their absence is caught before a run."""
        key = api_key(ref.provider)
        if key is None and not (ref.provider == "openai" and os.environ.get(BASE_URLS["openai"][0])):
            variables = " or ".join(KEY_VARIABLES[ref.provider])
            hint = " (or OPENAI_BASE_URL for a server that needs no key)" if ref.provider == "openai" else ""
            raise HarnessEvalError(
                f"model {ref.name!r} is not available: set {variables} in the environment{hint}, "
                "or use 'scripted:NAME' / 'simulated' to run without a model"
            )
        return cls(ref, key=key, url=base_url(ref.provider))

    async def respond(self, conversation: Conversation) -> Reply:
        model = self.ref.model
        codec = outbound(self.ref.provider, conversation.api)
        native = isinstance(codec, Codec) and codec.name == conversation.api
        if isinstance(codec, Codec) and native:
            body = codec.native_request(conversation, model)
        else:
            body = codec.request(conversation, model)
        record = UpstreamCall(provider=self.ref.provider, url=codec.url(self.url, model), request=body)
        answer = await self._post(codec, record)
        record.response = answer
        reply = codec.reply(answer)
        reply.raw = answer if native else None
        reply.model_version = reply.model_version or model
        reply.upstream = record
        return reply

    async def _post(self, codec: Outbound, record: UpstreamCall) -> dict[str, Any]:
        # The machine's proxy settings are for reaching the internet; a loopback upstream must not go through them.
        timeout = aiohttp.ClientTimeout(total=self.backoff.timeout_s)
        async with aiohttp.ClientSession(trust_env=not _loopback(record.url), timeout=timeout) as http:
            for attempt in range(self.backoff.attempts):
                started = time.time()
                status, answer, message, retry_after = await self._attempt(http, codec, record)
                if answer is not None:
                    record.attempts.append(UpstreamAttempt(t=started, status=status))
                    return answer
                retryable = status is None or status == 429 or status >= 500
                last = not retryable or attempt == self.backoff.attempts - 1
                wait = 0.0 if last else self.backoff.wait(attempt, retry_after)
                record.attempts.append(UpstreamAttempt(t=started, status=status, error=message, wait_s=wait))
                if last:
                    tries = f" after {attempt + 1} attempts" if attempt else ""
                    where = f"HTTP {status}" if status is not None else "no answer"
                    raise UpstreamError(
                        status or 502, f"{self.name} upstream failed{tries}: {where}: {message}", record
                    )
                await asyncio.sleep(wait)
        raise AssertionError("unreachable: the last attempt either returns or raises")

    async def _attempt(
        self, http: aiohttp.ClientSession, codec: Outbound, record: UpstreamCall
    ) -> tuple[int | None, dict[str, Any] | None, str, str | None]:
        """(status, answer or None, error message, Retry-After) of one try."""
        headers = codec.headers(self._key) if self._key is not None else {}
        try:
            async with http.post(record.url, json=record.request, headers=headers) as response:
                text = await response.text(errors="replace")
                status, retry_after = response.status, response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as problem:
            return None, None, f"{type(problem).__name__}: {problem}", None
        try:
            body = json.loads(text)
        except json.JSONDecodeError:
            body = None
        if status == 200 and isinstance(body, dict):
            return status, body, "", None
        if status == 200:
            return 502, None, f"the answer is not a JSON object: {text[:ERROR_EXCERPT]}", None
        return status, None, _error_message(body, text), retry_after


def _error_message(body: Any, text: str) -> str:
    """The provider's own words: all three put them at error.message (Anthropic also has a type)."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    if isinstance(error, str):
        return error
    return text[:ERROR_EXCERPT] or "(empty body)"


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
