"""A local HTTP server that imitates the provider APIs, for the gateway's upstream policy to talk to.

It answers from a queue of planned answers (faults first, typically), then from an `episode` function of the
request, and records every request with its headers so that tests can check what the gateway sent.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    api: str  # "openai" | "gemini" | "anthropic" | "openai_responses"
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


Episode = Callable[[Seen], Answer]


class FakeProvider:
    """One server for all three APIs, on its own loop thread (the gateway under test has its own)."""

    def __init__(self, episode: Episode | None = None, *, delay: float = 0.0) -> None:
        self.episode = episode
        self.delay = delay  # seconds each answer takes, as a real provider's do (bench/parallel_bench.py)
        self.planned: list[Answer] = []
        self.seen: list[Seen] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> FakeProvider:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result()
        return self

    def __exit__(self, *_: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def plan(self, *answers: Answer) -> None:
        self.planned.extend(answers)

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._handler("openai"))
        app.router.add_post("/v1beta/models/{target:.+}", self._handler("gemini"))
        app.router.add_post("/v1/messages", self._handler("anthropic"))
        app.router.add_post("/v1/responses", self._handler("openai_responses"))
        # Stopping drops requests still waiting on `delay` instead of waiting up to a minute for them to finish.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()

    def _handler(self, api: str) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.Response:
            seen = Seen(api, request.path, dict(request.headers), await request.json())
            self.seen.append(seen)
            await asyncio.sleep(self.delay)
            if self.planned:
                answer = self.planned.pop(0)
            elif self.episode is not None:
                answer = self.episode(seen)
            else:
                answer = Answer(500, {"error": {"message": "the fake provider has nothing planned"}})
            return web.json_response(answer.body, status=answer.status, headers=answer.headers)

        return handle


# ---------------------------------------------------------------------------------------------------------------
# Answers in each provider's shape.
# ---------------------------------------------------------------------------------------------------------------


def openai_answer(
    text: str | None = None,
    calls: Sequence[tuple[str, dict[str, Any]]] = (),
    *,
    model: str = "fake-model-2025-01-01",
    finish: str | None = None,
) -> Answer:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = [
            {"id": f"call_up_{n}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
            for n, (name, args) in enumerate(calls)
        ]
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish or ("tool_calls" if calls else "stop")}
        ],
        "usage": {"prompt_tokens": 1234, "completion_tokens": 56, "total_tokens": 1290},
    }
    return Answer(body=body)


def gemini_answer(
    text: str = "",
    calls: Sequence[tuple[str, dict[str, Any]]] = (),
    *,
    model: str = "gemini-fake-001",
    finish: str = "STOP",
    **extra: Any,
) -> Answer:
    parts: list[dict[str, Any]] = [{"text": "thinking it over", "thought": True}]
    parts += [{"text": text}] if text else []
    parts += [
        {"functionCall": {"name": name, "args": args}, "thoughtSignature": "c2lnbmVk"} for name, args in calls
    ]
    body = {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}],
        "usageMetadata": {"promptTokenCount": 2000, "candidatesTokenCount": 30, "thoughtsTokenCount": 12},
        "modelVersion": model,
        "responseId": "fake-response",
        **extra,
    }
    return Answer(body=body)


def anthropic_answer(
    text: str = "",
    calls: Sequence[tuple[str, dict[str, Any]]] = (),
    *,
    model: str = "claude-fake-20250101",
    stop: str | None = None,
) -> Answer:
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    content += [
        {"type": "tool_use", "id": f"toolu_{n}", "name": name, "input": args}
        for n, (name, args) in enumerate(calls)
    ]
    body = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop or ("tool_use" if calls else "end_turn"),
        "usage": {"input_tokens": 900, "output_tokens": 40, "cache_read_input_tokens": 100},
    }
    return Answer(body=body)


def responses_answer(
    text: str = "",
    calls: Sequence[tuple[str, dict[str, Any]]] = (),
    *,
    model: str = "fake-model-2025-01-01",
    refusal: str | None = None,
) -> Answer:
    """A Responses API answer: a reasoning item first (as reasoning models give), then the message, then calls."""
    output: list[dict[str, Any]] = [
        {"type": "reasoning", "id": "rs_up", "summary": [], "encrypted_content": "eA=="}
    ]
    content: list[dict[str, Any]] = [{"type": "output_text", "text": text, "annotations": []}] if text else []
    content += [{"type": "refusal", "refusal": refusal}] if refusal else []
    if content:
        output.append(
            {"type": "message", "id": "msg_up", "role": "assistant", "status": "completed", "content": content}
        )
    output += [
        {
            "type": "function_call",
            "id": f"fc_up_{n}",
            "call_id": f"call_up_{n}",
            "name": name,
            "arguments": json.dumps(args),
        }
        for n, (name, args) in enumerate(calls)
    ]
    body = {
        "id": "resp_fake",
        "object": "response",
        "status": "completed",
        "model": model,
        "output": output,
        "usage": {"input_tokens": 1234, "output_tokens": 56, "total_tokens": 1290},
    }
    return Answer(body=body)


ANSWERS: dict[str, Callable[..., Answer]] = {
    "openai": openai_answer,
    "gemini": gemini_answer,
    "anthropic": anthropic_answer,
}


def declared_tools(seen: Seen) -> dict[str, dict[str, Any]]:
    """Tool name -> parameter schema, as the gateway declared them to this provider."""
    if seen.api == "openai":
        return {t["function"]["name"]: t["function"]["parameters"] for t in seen.body.get("tools", [])}
    if seen.api == "gemini":
        return {
            d["name"]: d["parametersJsonSchema"]
            for tool in seen.body.get("tools", [])
            for d in tool["functionDeclarations"]
        }
    return {t["name"]: t["input_schema"] for t in seen.body.get("tools", [])}


def model_turns(seen: Seen) -> int:
    """How many answers the model has given so far in this request's history."""
    if seen.api == "gemini":
        return sum(1 for content in seen.body["contents"] if content["role"] == "model")
    return sum(1 for message in seen.body["messages"] if message["role"] == "assistant")


def history_text(seen: Seen) -> Iterator[str]:
    """Every string in the request, for looking for what reached the model."""
    stack: list[Any] = [seen.body]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            yield item


# A short working episode for the custom harness (OpenAI chat, its own tool names): a shell command, a file read,
# the end. With a `delay`, each answer takes as long as a real provider's (bench/parallel_bench.py, test_cluster).
CUSTOM_EPISODE = [
    openai_answer("Looking around.", [("shell", {"command": "ls -la docs"})]),
    openai_answer("Reading the notice.", [("read_file", {"path": "docs/README.md"})]),
    openai_answer("Done.", [("end_task", {})]),
]


def custom_episode(seen: Seen) -> Answer:
    return CUSTOM_EPISODE[min(model_turns(seen), len(CUSTOM_EPISODE) - 1)]
