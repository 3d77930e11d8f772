"""The upstream policy behind the real gateway, against a local server imitating each provider's API."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from harness_eval.errors import HarnessEvalError
from harness_eval.gateway import (
    Backoff,
    Gateway,
    ModelRef,
    Session,
    UpstreamPolicy,
    load_policy,
    parse_model,
    redact,
    served_model_name,
)
from harness_eval.gateway.providers import NEUTRAL_MODEL, Provider
from harness_eval.models import Exchange

from .conftest import (
    FACTS,
    NEXT_SPEAKER,
    SYSTEM,
    Http,
    anthropic_tools,
    assemble_anthropic,
    assemble_gemini,
    assemble_responses,
    claude_code_request,
    gemini_cli_request,
    openai_tools,
    opencode_request,
    responses_cli_request,
)
from .fakes import Answer, FakeProvider, anthropic_answer, gemini_answer, openai_answer, responses_answer

KEY = "sk-test-0123456789abcdefSECRET"
FAST = Backoff(attempts=4, first_s=0.01, max_s=0.05)
GEMINI_STREAM = "/v1beta/models/served-model:streamGenerateContent?alt=sse"
CHAT = "/v1/chat/completions"


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


def _open(gateway: Gateway, tmp_path: Path, fake: FakeProvider, provider: Provider, model: str) -> Session:
    policy = UpstreamPolicy(ModelRef(provider, model), key=KEY, url=_base(fake, provider), backoff=FAST)
    return gateway.open_session(policy, tmp_path / "model_log.jsonl")


def _base(fake: FakeProvider, provider: Provider) -> str:
    return fake.url + "/v1" if provider == "openai" else fake.url


def _log(tmp_path: Path) -> list[Exchange]:
    return [Exchange.model_validate_json(line) for line in (tmp_path / "model_log.jsonl").read_text().splitlines()]


def _openai_stream(events: list[Any]) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """Reassembled as the AI SDK does: text, each call's name and concatenated arguments, the final chunks."""
    chunks = [e for e in events if e != "[DONE]"]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    calls: dict[int, dict[str, Any]] = {}
    for c in chunks:
        for delta in (c["choices"][0]["delta"].get("tool_calls") or []) if c["choices"] else []:
            call = calls.setdefault(delta["index"], {"name": "", "arguments": ""})
            call["name"] += delta["function"].get("name", "")
            call["arguments"] += delta["function"].get("arguments", "")
    return text, list(calls.values()), chunks[-2:]


# ---------------------------------------------------------------------------------------------------------------
# Naming and keys.
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "provider", "served"),
    [
        ("gemini:gemini-3.1-pro-preview", "gemini", "gemini-3.1-pro-preview"),
        ("gemini-2.5-flash", "gemini", "gemini-2.5-flash"),
        ("claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5"),
        ("anthropic:claude-opus-4-1", "anthropic", "claude-opus-4-1"),
        ("openai:glm-5", "openai", "glm-5"),
        ("gpt-5", "openai", "gpt-5"),
        ("llama3:8b", "openai", "llama3:8b"),  # a colon that is not a provider prefix belongs to the id
        ("openai:z-ai/glm-5:free", "openai", "z-ai/glm-5:free"),
    ],
)
def test_model_names(model: str, provider: str, served: str) -> None:
    ref = parse_model(model)
    assert ref is not None and (ref.provider, ref.model) == (provider, served)
    assert served_model_name(model) == served


def test_scripted_models_have_no_upstream_and_a_neutral_name() -> None:
    assert parse_model("simulated") is None and parse_model("scripted:exfiltrate") is None
    assert served_model_name("scripted:exfiltrate") == served_model_name("simulated") == NEUTRAL_MODEL
    with pytest.raises(HarnessEvalError, match="names no model"):
        parse_model("gemini:")


def test_a_missing_key_is_one_clear_error_before_any_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(HarnessEvalError, match="set GEMINI_API_KEY or GOOGLE_API_KEY"):
        load_policy("gemini-3.1-pro-preview", FACTS, 0)
    with pytest.raises(HarnessEvalError, match="set ANTHROPIC_API_KEY"):
        load_policy("claude-sonnet-4-5", FACTS, 0)
    with pytest.raises(HarnessEvalError, match="'openai:glm-5' is not available: set OPENAI_API_KEY"):
        load_policy("openai:glm-5", FACTS, 0)
    # A local OpenAI-compatible server (vLLM, llama.cpp) may need no key at all.
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    policy = load_policy("openai:glm-5", FACTS, 0)
    assert isinstance(policy, UpstreamPolicy) and policy.url == "http://127.0.0.1:9/v1"
    monkeypatch.setenv("GOOGLE_API_KEY", KEY)
    assert load_policy("gemini-3.1-pro-preview", FACTS, 0).name == "gemini:gemini-3.1-pro-preview"


def test_redact_replaces_every_provider_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("GEMINI_API_KEY", "short")  # too short to be a secret worth hunting
    assert redact(f"bad key {KEY}!") == "bad key [redacted]!"
    assert redact("a short story") == "a short story"


# ---------------------------------------------------------------------------------------------------------------
# Translation both ways.
# ---------------------------------------------------------------------------------------------------------------


def test_gemini_wire_to_openai_upstream_and_back(gateway: Gateway, tmp_path: Path, fake: FakeProvider) -> None:
    session = _open(gateway, tmp_path, fake, "openai", "glm-5")
    fake.plan(
        openai_answer("Copying now.", [("run_shell_command", {"command": "scp a b", "description": "copy"})])
    )

    text, calls, last = assemble_gemini(Http(session.url).events(GEMINI_STREAM, gemini_cli_request()))

    assert text == "Copying now."
    assert calls == [{"name": "run_shell_command", "args": {"command": "scp a b", "description": "copy"}}]
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert last["modelVersion"] == "fake-model-2025-01-01"
    assert (
        last["usageMetadata"]["promptTokenCount"] == 1234 and last["usageMetadata"]["candidatesTokenCount"] == 56
    )

    (seen,) = fake.seen
    assert seen.path == "/v1/chat/completions" and seen.headers["Authorization"] == f"Bearer {KEY}"
    body = seen.body
    assert body["model"] == "glm-5" and body["max_tokens"] == 4000 and "stream" not in body
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "tool"]
    assert body["messages"][0]["content"] == SYSTEM
    assert body["messages"][2]["tool_calls"][0]["function"] == {
        "name": "run_shell_command",
        "arguments": '{"command": "ls"}',
    }
    assert body["messages"][3] == {"role": "tool", "tool_call_id": "g1", "content": "notes.txt"}
    shell = next(t["function"] for t in body["tools"] if t["function"]["name"] == "run_shell_command")
    assert shell["parameters"]["required"] == ["command"] and shell["description"] == ""

    (exchange,) = _log(tmp_path)
    assert exchange.model_version == "fake-model-2025-01-01" and session.model_versions == [
        "fake-model-2025-01-01"
    ]
    assert exchange.upstream is not None and exchange.upstream.request == body
    assert [a.status for a in exchange.upstream.attempts] == [200]
    assert exchange.tokens.input == 1234 and exchange.refusal is None and not session.errors


def test_openai_wire_to_gemini_upstream_and_back(gateway: Gateway, tmp_path: Path, fake: FakeProvider) -> None:
    session = _open(gateway, tmp_path, fake, "gemini", "gemini-3.1-pro-preview")
    fake.plan(gemini_answer("On it.", [("bash", {"command": "ssh db-legacy ls", "description": "list"})]))

    text, calls, (finish, usage) = _openai_stream(Http(session.url).events(CHAT, opencode_request()))

    assert text == "On it."  # the thought summary is not part of what the model said
    assert calls == [{"name": "bash", "arguments": '{"command": "ssh db-legacy ls", "description": "list"}'}]
    assert finish["choices"][0]["finish_reason"] == "tool_calls" and finish["model"] == "gemini-fake-001"
    assert usage["usage"] == {"prompt_tokens": 2000, "completion_tokens": 42, "total_tokens": 2042}

    (seen,) = fake.seen
    assert seen.path == "/v1beta/models/gemini-3.1-pro-preview:generateContent"
    assert seen.headers["x-goog-api-key"] == KEY
    body = seen.body
    assert body["systemInstruction"] == {"parts": [{"text": SYSTEM}]}
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert body["contents"][1]["parts"] == [
        {
            "functionCall": {"id": "oc1", "name": "bash", "args": {"command": "ls"}},
            "thoughtSignature": "skip_thought_signature_validator",
        }
    ]
    assert body["contents"][2]["parts"] == [
        {"functionResponse": {"id": "oc1", "name": "bash", "response": {"output": "notes.txt"}}}
    ]
    declarations = body["tools"][0]["functionDeclarations"]
    assert [d["name"] for d in declarations] == [t["function"]["name"] for t in openai_tools()]
    assert body["generationConfig"] == {"maxOutputTokens": 3000}


def test_calls_a_provider_left_without_ids_get_distinct_ones(
    gateway: Gateway, tmp_path: Path, fake: FakeProvider
) -> None:
    """OpenAI and Anthropic histories pair results with calls by id; Gemini usually sends none."""
    session = _open(gateway, tmp_path, fake, "gemini", "gemini-3.1-pro-preview")
    calls = [("read", {"filePath": "/workspace/a"}), ("read", {"filePath": "/workspace/b"})]
    fake.plan(gemini_answer(calls=calls), gemini_answer(calls=calls))
    http = Http(session.url)
    ids = [
        call["id"]
        for _ in range(2)
        for call in http.json(CHAT, opencode_request(stream=False))["choices"][0]["message"]["tool_calls"]
    ]
    assert len(set(ids)) == 4 and all(ids)


def test_openai_wire_to_anthropic_upstream_and_back(gateway: Gateway, tmp_path: Path, fake: FakeProvider) -> None:
    session = _open(gateway, tmp_path, fake, "anthropic", "claude-sonnet-4-5")
    fake.plan(anthropic_answer("Reading.", [("read", {"filePath": "/workspace/notes.txt"})]))

    answer = Http(session.url).json(CHAT, opencode_request(stream=False))

    message = answer["choices"][0]["message"]
    assert message["content"] == "Reading."
    assert message["tool_calls"][0]["function"] == {
        "name": "read",
        "arguments": '{"filePath": "/workspace/notes.txt"}',
    }
    assert answer["usage"]["prompt_tokens"] == 1000 and answer["model"] == "claude-fake-20250101"

    (seen,) = fake.seen
    assert seen.path == "/v1/messages"
    assert seen.headers["x-api-key"] == KEY and seen.headers["anthropic-version"] == "2023-06-01"
    body = seen.body
    assert body["system"] == SYSTEM and body["max_tokens"] == 3000 and body["model"] == "claude-sonnet-4-5"
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Tidy the servers."}]},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "oc1", "name": "bash", "input": {"command": "ls"}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "oc1", "content": "notes.txt", "is_error": False}],
        },
    ]
    assert all(tool["input_schema"]["type"] == "object" for tool in body["tools"])


def test_gemini_wire_to_anthropic_upstream_with_a_structured_side_question(
    gateway: Gateway, tmp_path: Path, fake: FakeProvider
) -> None:
    """Gemini CLI's next-speaker check asks for JSON in an OpenAPI-dialect schema, and no tools."""
    session = _open(gateway, tmp_path, fake, "anthropic", "claude-sonnet-4-5")
    fake.plan(anthropic_answer('{"reasoning": "done", "next_speaker": "user"}'))
    request = gemini_cli_request(
        tools=[],
        generationConfig={"responseMimeType": "application/json", "responseJsonSchema": NEXT_SPEAKER},
    )
    text, _, _ = assemble_gemini(Http(session.url).events(GEMINI_STREAM, request))

    assert json.loads(text) == {"reasoning": "done", "next_speaker": "user"}
    body = fake.seen[0].body
    assert '"type": "object"' in body["system"] and '"enum": ["model", "user"]' in body["system"]
    assert "tools" not in body
    assert body["messages"][2]["content"][0]["is_error"] is False
    assert _log(tmp_path)[0].kind == "auxiliary"


def test_a_provider_speaking_the_harness_api_gets_its_request_unchanged(
    gateway: Gateway, tmp_path: Path, fake: FakeProvider
) -> None:
    """Gemini to Gemini is a passthrough both ways: thought signatures and thinking settings survive."""
    session = _open(gateway, tmp_path, fake, "gemini", "gemini-3.1-pro-preview")
    answer = gemini_answer("Hi.", [("read_file", {"file_path": "/workspace/a"})])
    fake.plan(answer)
    request = gemini_cli_request(generationConfig={"thinkingConfig": {"thinkingLevel": "HIGH"}})

    events = Http(session.url).events(GEMINI_STREAM, request)

    assert fake.seen[0].body == request
    assert events == [answer.body]
    assert events[0]["candidates"][0]["content"]["parts"][2]["thoughtSignature"] == "c2lnbmVk"


def test_openai_to_openai_forwards_the_request_with_only_model_and_buffering_changed(
    gateway: Gateway, tmp_path: Path, fake: FakeProvider
) -> None:
    session = _open(gateway, tmp_path, fake, "openai", "glm-5")
    fake.plan(openai_answer("Done."))
    request = opencode_request(temperature=0.3)

    text, calls, _ = _openai_stream(Http(session.url).events(CHAT, request))

    assert (text, calls) == ("Done.", [])
    expected = {k: v for k, v in request.items() if k != "stream_options"}
    assert fake.seen[0].body == {**expected, "model": "glm-5", "stream": False}


MESSAGES = "/v1/messages?beta=true"


def test_claude_code_wire_to_anthropic_is_forwarded_as_it_came(
    gateway: Gateway, tmp_path: Path, fake: FakeProvider
) -> None:
    """Thinking blocks and their signatures go to Anthropic and back untouched; only model and buffering change."""
    session = _open(gateway, tmp_path, fake, "anthropic", "claude-sonnet-4-5")
    answer = anthropic_answer("Listing.", [("Bash", {"command": "ls /data"})])
    answer.body["content"].insert(0, {"type": "thinking", "thinking": "Look.", "signature": "c2lnbmVk"})
    fake.plan(answer)
    request = claude_code_request()

    streamed = assemble_anthropic(Http(session.url).events(MESSAGES, request))

    assert fake.seen[0].path == "/v1/messages"
    assert fake.seen[0].body == {**request, "model": "claude-sonnet-4-5", "stream": False}
    assert streamed["content"] == answer.body["content"] and streamed["stop_reason"] == "tool_use"
    (exchange,) = _log(tmp_path)
    assert exchange.reply and [(c.name, c.arguments) for c in exchange.reply.tool_calls] == [
        ("Bash", {"command": "ls /data"})
    ]


def test_claude_code_wire_to_openai_upstream_and_back(
    gateway: Gateway, tmp_path: Path, fake: FakeProvider
) -> None:
    session = _open(gateway, tmp_path, fake, "openai", "glm-5")
    fake.plan(openai_answer("Reading.", [("Read", {"file_path": "/workspace/notes.txt"})]))

    streamed = assemble_anthropic(Http(session.url).events(MESSAGES, claude_code_request()))

    text, call = streamed["content"]
    assert text == {"type": "text", "text": "Reading."}
    assert (call["type"], call["name"], call["input"]) == (
        "tool_use",
        "Read",
        {"file_path": "/workspace/notes.txt"},
    )
    assert streamed["usage"] == {"input_tokens": 1234, "output_tokens": 56}
    body = fake.seen[0].body
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "tool"]
    # The system blocks and the system message inside `messages` become one system prompt.
    assert body["messages"][0]["content"] == SYSTEM + "\n\nPrimary working directory: /workspace"
    assert body["messages"][2]["content"] == "Looking first."  # the thinking block stays behind
    assert body["messages"][3] == {"role": "tool", "tool_call_id": "toolu_01", "content": "notes.txt"}
    assert [t["function"]["name"] for t in body["tools"]] == [t["name"] for t in anthropic_tools()]


RESPONSES = "/v1/responses"


def test_the_responses_wire_goes_to_openai_as_it_came_and_its_reasoning_comes_back(
    gateway: Gateway, tmp_path: Path, fake: FakeProvider
) -> None:
    """The encrypted reasoning item the CLI must replay (it sends `store: false`) reaches it intact."""
    session = _open(gateway, tmp_path, fake, "openai", "gpt-5.5")
    answer = responses_answer("Listing.", [("exec_command", {"cmd": "ls /data"})])
    fake.plan(answer)
    request = responses_cli_request()

    streamed = assemble_responses(Http(session.url).events(RESPONSES, request))

    assert fake.seen[0].path == "/v1/responses"
    assert fake.seen[0].body == {**request, "model": "gpt-5.5", "stream": False}
    assert streamed["output"] == answer.body["output"] and streamed["model"] == "fake-model-2025-01-01"
    (exchange,) = _log(tmp_path)
    assert exchange.reply and [(c.name, c.arguments) for c in exchange.reply.tool_calls] == [
        ("exec_command", {"cmd": "ls /data"})
    ]


def test_the_responses_wire_to_anthropic_and_a_patch_comes_back_freeform(
    gateway: Gateway, tmp_path: Path, fake: FakeProvider
) -> None:
    """Claude sees the freeform patch tool as a tool of one string; its call reaches the CLI as the freeform call
    the CLI declared, and the CLI's developer messages are Claude's system prompt."""
    session = _open(gateway, tmp_path, fake, "anthropic", "claude-sonnet-4-5")
    patch = "*** Begin Patch\n*** Add File: /workspace/a.txt\n+x\n*** End Patch\n"
    fake.plan(anthropic_answer("Writing.", [("apply_patch", {"input": patch})]))

    streamed = assemble_responses(Http(session.url).events(RESPONSES, responses_cli_request()))

    message, call = streamed["output"]
    assert message["content"][0]["text"] == "Writing."
    assert (call["type"], call["name"], call["input"]) == ("custom_tool_call", "apply_patch", patch)
    assert streamed["usage"]["input_tokens"] == 1000  # Anthropic's input plus its cache reads
    body = fake.seen[0].body
    assert body["system"] == SYSTEM + "\n\n<permissions>"
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    tools = {t["name"]: t["input_schema"] for t in body["tools"]}
    assert "web_search" not in tools and tools["apply_patch"]["required"] == ["input"]


# ---------------------------------------------------------------------------------------------------------------
# Faults.
# ---------------------------------------------------------------------------------------------------------------


def test_429_and_500_are_retried_and_every_attempt_is_recorded(
    gateway: Gateway, tmp_path: Path, fake: FakeProvider
) -> None:
    session = _open(gateway, tmp_path, fake, "openai", "glm-5")
    fake.plan(
        Answer(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"}),
        Answer(500, {"error": {"message": "overloaded"}}),
        openai_answer("Recovered."),
    )

    answer = Http(session.url).json(CHAT, opencode_request(stream=False))

    assert answer["choices"][0]["message"]["content"] == "Recovered."
    assert not session.errors
    (exchange,) = _log(tmp_path)
    assert exchange.upstream is not None
    attempts = exchange.upstream.attempts
    assert [(a.status, a.error) for a in attempts] == [(429, "slow down"), (500, "overloaded"), (200, None)]
    assert attempts[0].wait_s == 0.0 and attempts[1].wait_s == FAST.first_s * 2


def test_persistent_5xx_answers_the_harness_with_an_error_and_records_a_session_error(
    gateway: Gateway, tmp_path: Path, fake: FakeProvider
) -> None:
    session = _open(gateway, tmp_path, fake, "gemini", "gemini-3.1-pro-preview")
    fake.plan(*[Answer(503, {"error": {"message": "model is overloaded"}})] * FAST.attempts)

    status, raw = Http(session.url).post(GEMINI_STREAM, gemini_cli_request())

    assert status == 503
    assert json.loads(raw)["error"]["status"] == "UNAVAILABLE"
    (error,) = session.errors
    assert "gemini:gemini-3.1-pro-preview upstream failed after 4 attempts: HTTP 503: model is overloaded" in error
    (exchange,) = _log(tmp_path)
    assert exchange.status == 503 and exchange.error is not None and "model is overloaded" in exchange.error
    assert exchange.upstream is not None and [a.status for a in exchange.upstream.attempts] == [503] * 4


def test_a_client_error_is_not_retried(gateway: Gateway, tmp_path: Path, fake: FakeProvider) -> None:
    session = _open(gateway, tmp_path, fake, "anthropic", "claude-nope")
    fake.plan(
        Answer(404, {"type": "error", "error": {"type": "not_found_error", "message": "model: claude-nope"}})
    )

    status, _ = Http(session.url).post(CHAT, opencode_request(stream=False))

    assert status == 404 and len(fake.seen) == 1
    assert session.errors and "HTTP 404: model: claude-nope" in session.errors[0]


def test_an_unreachable_provider_is_retried_then_an_error(gateway: Gateway, tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/v1"
    policy = UpstreamPolicy(ModelRef("openai", "glm-5"), key=None, url=url, backoff=FAST)
    session = gateway.open_session(policy, tmp_path / "model_log.jsonl")

    status, _ = Http(session.url).post(CHAT, opencode_request(stream=False))

    assert status == 502
    assert "no answer: ClientConnectorError" in session.errors[0]
    assert [a.status for a in _log(tmp_path)[0].upstream.attempts] == [None] * FAST.attempts  # type: ignore[union-attr]


def test_retry_after_is_honoured_and_bounded() -> None:
    backoff = Backoff(first_s=1.0, max_s=30.0)
    assert [backoff.wait(n, None) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0]
    assert backoff.wait(0, "7") == 7.0 and backoff.wait(0, "3600") == 30.0
    assert 9.0 <= backoff.wait(0, formatdate(time.time() + 10, usegmt=True)) <= 10.0
    assert backoff.wait(3, "not a date") == 8.0


def test_a_loopback_provider_is_reached_directly_whatever_the_proxy_settings(
    gateway: Gateway, tmp_path: Path, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = _open(gateway, tmp_path, fake, "openai", "glm-5")
    fake.plan(openai_answer("Direct."))

    assert Http(session.url).json(CHAT, opencode_request(stream=False))["choices"][0]["message"]["content"]


# ---------------------------------------------------------------------------------------------------------------
# Refusals and keys.
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "answer", "refusal"),
    [
        ("gemini", gemini_answer(finish="SAFETY"), "gemini finishReason SAFETY"),
        (
            "gemini",
            Answer(
                body={"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "modelVersion": "gemini-fake-001"}
            ),
            "gemini promptFeedback blockReason PROHIBITED_CONTENT",
        ),
        ("openai", openai_answer("", finish="content_filter"), "openai finish_reason content_filter"),
        (
            "anthropic",
            anthropic_answer("I can't help with that.", stop="refusal"),
            "anthropic stop_reason refusal",
        ),
    ],
)
def test_a_refusal_is_recorded_as_such_and_passed_on(
    gateway: Gateway, tmp_path: Path, fake: FakeProvider, provider: Provider, answer: Answer, refusal: str
) -> None:
    """Through the OpenAI wire (OpenCode's): a refusal is a result, not an error."""
    session = _open(gateway, tmp_path, fake, provider, "m")
    fake.plan(answer)

    reply = Http(session.url).json(CHAT, opencode_request(stream=False))

    if provider != "openai":  # an OpenAI provider's own answer is passed through as it came
        assert reply["choices"][0]["finish_reason"] == "content_filter"
    assert _log(tmp_path)[0].refusal == refusal and not session.errors


def test_a_refusal_reaches_gemini_cli_as_a_safety_stop(
    gateway: Gateway, tmp_path: Path, fake: FakeProvider
) -> None:
    session = _open(gateway, tmp_path, fake, "anthropic", "m")
    fake.plan(anthropic_answer("No.", stop="refusal"))
    _, _, last = assemble_gemini(Http(session.url).events(GEMINI_STREAM, gemini_cli_request()))
    assert last["candidates"][0]["finishReason"] == "SAFETY"


def test_a_key_echoed_by_the_provider_never_reaches_the_log_or_the_harness(
    gateway: Gateway, tmp_path: Path, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    session = _open(gateway, tmp_path, fake, "openai", "glm-5")
    fake.plan(Answer(401, {"error": {"message": f"Incorrect API key provided: {KEY}"}}))

    status, raw = Http(session.url).post(CHAT, opencode_request(stream=False))

    assert status == 401 and fake.seen[0].headers["Authorization"] == f"Bearer {KEY}"
    assert KEY not in raw.decode() and KEY not in " ".join(session.errors)
    log = (tmp_path / "model_log.jsonl").read_text()
    assert KEY not in log and "Incorrect API key provided: [redacted]" in log
