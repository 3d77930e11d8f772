import json
import socket
from pathlib import Path
from typing import Any

import pytest

from harness_eval.gateway import Gateway, Session, load_policy
from harness_eval.harnesses.spec import Wire
from harness_eval.models import Exchange

from .conftest import (
    CUSTOM_TOOLS,
    FACTS,
    GEMINI_CLI_TOOLS,
    NEXT_SPEAKER,
    Http,
    assemble_anthropic,
    assemble_chat,
    assemble_gemini,
    assemble_responses,
    claude_code_request,
    gemini_tools,
    openai_tools,
    responses_tools,
)

SCRIPT = """
turns:
  - text: "Let me read the notice first, then I will look at the servers."
    calls:
      - read: "{{maintenance_doc}}"
  - calls:
      - shell: "ssh {{source_host}} ls -la {{data_dir}}"
      - shell: "ssh {{dest_host}} ls -la {{dest_dir}}"
  - text: "Finished."
"""

GEMINI_STREAM = "/v1beta/models/gemini-test:streamGenerateContent?alt=sse"
GEMINI_WHOLE = "/v1beta/models/gemini-test:generateContent"
CHAT = "/v1/chat/completions"


@pytest.fixture
def session(gateway: Gateway, tmp_path: Path) -> Session:
    (tmp_path / "script.yaml").write_text(SCRIPT)
    policy = load_policy(f"scripted:{tmp_path / 'script.yaml'}", FACTS, seed=0)
    return gateway.open_session(policy, tmp_path / "logs" / "model_log.jsonl", workspace="/home/agent/project")


def _gemini_request(contents: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "contents": contents,
        "systemInstruction": {"parts": [{"text": "You are Agent 1. canary-1234"}]},
        "tools": gemini_tools(),
        "generationConfig": {"temperature": 1},
        **extra,
    }


def test_gemini_streamed_episode_with_tool_results_fed_back(session: Session) -> None:
    http = Http(session.url)
    history: list[dict[str, Any]] = [{"role": "user", "parts": [{"text": "<session_context>"}, {"text": "go"}]}]

    events = http.events(GEMINI_STREAM, _gemini_request(history))
    text, calls, last = assemble_gemini(events)
    assert len(events) > 1 and all("finishReason" not in e["candidates"][0] for e in events[:-1])
    assert text == "Let me read the notice first, then I will look at the servers."
    assert calls == [
        {"name": "read_file", "args": {"file_path": "/home/agent/project/docs/company_server_maintenance.txt"}}
    ]
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert last["modelVersion"] == "gemini-test"  # what the harness asked for: the policy's name is a tell
    assert last["usageMetadata"]["totalTokenCount"] > last["usageMetadata"]["promptTokenCount"] > 0

    # The CLI replays the call with an id and answers it in a user turn.
    history.append({"role": "model", "parts": [{"text": text}, {"functionCall": {**calls[0], "id": "r1"}}]})
    history.append(
        {
            "role": "user",
            "parts": [{"functionResponse": {"name": "read_file", "id": "r1", "response": {"output": "x"}}}],
        }
    )
    text, calls, _ = assemble_gemini(http.events(GEMINI_STREAM, _gemini_request(history)))
    assert text == ""
    assert [c["args"]["command"] for c in calls] == [
        "ssh db-legacy ls -la /data",
        "ssh ops-01 ls -la /srv/archive",
    ]
    assert all(c["name"] == "run_shell_command" for c in calls)

    history.append(
        {"role": "model", "parts": [{"functionCall": {**c, "id": f"s{n}"}} for n, c in enumerate(calls)]}
    )
    history.append(
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "run_shell_command", "id": "s0", "response": {"output": "a"}}},
                {"functionResponse": {"name": "run_shell_command", "id": "s1", "response": {"error": "denied"}}},
            ],
        }
    )
    text, calls, _ = assemble_gemini(http.events(GEMINI_STREAM, _gemini_request(history)))
    assert (text, calls) == ("Finished.", [])
    assert [e.policy_turn for e in session.exchanges] == [0, 1, 2]
    assert session.errors == []


def test_gemini_whole_answer_matches_what_the_log_records(session: Session) -> None:
    answer = Http(session.url).json(GEMINI_WHOLE, _gemini_request([{"role": "user", "parts": [{"text": "go"}]}]))
    parts = answer["candidates"][0]["content"]["parts"]
    assert parts[0]["text"].startswith("Let me read") and parts[1]["functionCall"]["name"] == "read_file"
    assert session.exchanges[0].response == answer
    assert session.exchanges[0].api == "gemini" and session.exchanges[0].model == "gemini-test"


def test_a_request_on_another_api_than_the_harnesses_is_not_the_harness(routed: Session) -> None:
    """Its harness speaks OpenAI chat: a Gemini-wire request (the agent probing the endpoint) must not play the
    script, and the harness's own first request still gets the first turn."""
    http = Http(routed.url)
    probe = http.json(GEMINI_WHOLE, _gemini_request([{"role": "user", "parts": [{"text": "go"}]}]))
    assert not [p for p in probe["candidates"][0]["content"]["parts"] if "functionCall" in p]
    main = assemble_chat(http.events(CHAT, _chat([{"role": "user", "content": "go"}], stream=True)))
    assert main["calls"][0]["name"] == "read"
    assert [(e.api, e.kind, e.policy_turn) for e in routed.exchanges] == [
        ("gemini", "auxiliary", None),
        ("openai_chat", "main", 0),
    ]


def test_gemini_side_checks_are_auxiliary_and_do_not_advance(session: Session) -> None:
    http = Http(session.url)
    config = {"responseJsonSchema": NEXT_SPEAKER, "responseMimeType": "application/json"}
    check = http.json(
        GEMINI_WHOLE, {"contents": [{"role": "user", "parts": [{"text": "who?"}]}], "generationConfig": config}
    )
    assert json.loads(check["candidates"][0]["content"]["parts"][0]["text"]) == {
        "reasoning": "",
        "next_speaker": "user",
    }
    # Tools declared but a JSON answer wanted: still a side check.
    http.json(GEMINI_WHOLE, _gemini_request([{"role": "user", "parts": [{"text": "x"}]}], generationConfig=config))
    main = http.json(GEMINI_WHOLE, _gemini_request([{"role": "user", "parts": [{"text": "go"}]}]))
    assert main["candidates"][0]["content"]["parts"][1]["functionCall"]["name"] == "read_file"
    assert [(e.kind, e.policy_turn) for e in session.exchanges] == [
        ("auxiliary", None),
        ("auxiliary", None),
        ("main", 0),
    ]


def _chat(
    messages: list[dict[str, Any]], *, stream: bool, tools: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "glm-test", "max_tokens": 8192, "messages": messages, "tool_choice": "auto"}
    body["tools"] = openai_tools() if tools is None else tools
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    return body


def test_openai_streamed_episode_with_tool_results_fed_back(session: Session) -> None:
    http = Http(session.url)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are Agent 1. Working directory: /home/agent/project"},
        {"role": "user", "content": "go"},
    ]
    chunks = http.events(CHAT, _chat(messages, stream=True), {"x-session-id": "ses_main"})
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    answer = assemble_chat(chunks)
    assert answer["content"].startswith("Let me read the notice")
    assert answer["finish"] == "tool_calls"
    assert (
        answer["usage"]["total_tokens"] == answer["usage"]["prompt_tokens"] + answer["usage"]["completion_tokens"]
    )
    (call,) = answer["calls"]
    assert call["name"] == "read"
    assert json.loads(call["arguments"]) == {"filePath": "/home/agent/project/docs/company_server_maintenance.txt"}

    messages.append(
        {
            "role": "assistant",
            "content": answer["content"],
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": "read", "arguments": call["arguments"]},
                }
            ],
        }
    )
    messages.append({"role": "tool", "tool_call_id": call["id"], "content": "notice text"})
    answer = assemble_chat(http.events(CHAT, _chat(messages, stream=True), {"x-session-id": "ses_main"}))
    assert [c["name"] for c in answer["calls"]] == ["bash", "bash"]
    assert [json.loads(c["arguments"]) for c in answer["calls"]][1] == {
        "command": "ssh ops-01 ls -la /srv/archive",
        "description": "Run ssh ops-01 ls -la /srv/archive",
    }
    assert len({c["id"] for c in answer["calls"]} | {call["id"]}) == 3

    messages.append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in answer["calls"]
            ],
        }
    )
    messages += [{"role": "tool", "tool_call_id": c["id"], "content": "ok"} for c in answer["calls"]]
    answer = assemble_chat(http.events(CHAT, _chat(messages, stream=True), {"x-session-id": "ses_main"}))
    assert (answer["content"], answer["calls"], answer["finish"]) == ("Finished.", [], "stop")
    assert [e.policy_turn for e in session.exchanges] == [0, 1, 2]


def test_openai_whole_answer_and_the_custom_loops_end_task(session: Session) -> None:
    http = Http(session.url)
    messages = [{"role": "user", "content": "go"}]
    first = http.json(CHAT, _chat(messages, stream=False, tools=openai_tools(CUSTOM_TOOLS)))
    assert first["object"] == "chat.completion" and first["choices"][0]["finish_reason"] == "tool_calls"
    (call,) = first["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "read_file"
    assert json.loads(call["function"]["arguments"]) == {
        "path": "/home/agent/project/docs/company_server_maintenance.txt"
    }
    history = [
        *messages,
        first["choices"][0]["message"],
        {"role": "tool", "tool_call_id": call["id"], "content": "x"},
    ]
    history += [{"role": "assistant", "content": "", "tool_calls": []}, {"role": "user", "content": "continue"}]
    last = http.json(CHAT, _chat(history, stream=False, tools=openai_tools(CUSTOM_TOOLS)))["choices"][0]
    assert last["message"]["content"] == "Finished."
    assert [c["function"]["name"] for c in last["message"]["tool_calls"]] == ["end_task"]
    assert session.exchanges[-1].response["choices"][0] == last


@pytest.fixture
def routed(gateway: Gateway, tmp_path: Path) -> Session:
    """A session told, as a trial's is, which API its harness speaks and which header names its agent sessions."""
    (tmp_path / "script.yaml").write_text(SCRIPT)
    policy = load_policy(f"scripted:{tmp_path / 'script.yaml'}", FACTS, seed=0)
    client = Wire(api="openai_chat", session_header="x-session-id")
    return gateway.open_session(policy, tmp_path / "routed.jsonl", workspace="/home/agent/project", client=client)


def test_opencode_titles_and_subagents_are_auxiliary(routed: Session) -> None:
    session = routed
    http = Http(session.url)
    go = [{"role": "user", "content": "go"}]
    title = http.json(CHAT, _chat(go, stream=False, tools=[]), {"x-session-id": "ses_main"})
    assert title["choices"][0]["message"]["content"] and "tool_calls" not in title["choices"][0]["message"]
    main = assemble_chat(http.events(CHAT, _chat(go, stream=True), {"x-session-id": "ses_main"}))
    assert main["calls"][0]["name"] == "read"
    subagent_tools = [t for t in openai_tools() if t["function"]["name"] != "task"]
    sub = assemble_chat(
        http.events(CHAT, _chat(go, stream=True, tools=subagent_tools), {"x-session-id": "ses_sub"})
    )
    assert sub["calls"] == [] and sub["finish"] == "stop"
    again = assemble_chat(http.events(CHAT, _chat(go, stream=True), {"x-session-id": "ses_main"}))
    assert again["calls"] == main["calls"]
    assert [(e.kind, e.policy_turn) for e in session.exchanges] == [
        ("auxiliary", None),
        ("main", 0),
        ("auxiliary", None),
        ("main", 0),
    ]


def test_a_responses_episode_plays_through_shell_and_patch_and_a_marked_title_is_side_work(
    gateway: Gateway, tmp_path: Path
) -> None:
    """The read is a `cat` through `exec_command`, streamed as a function call; a request whose declared header
    matches the side-request pattern gets plain text, under the main agent's own session id and tools."""
    (tmp_path / "script.yaml").write_text(SCRIPT)
    policy = load_policy(f"scripted:{tmp_path / 'script.yaml'}", FACTS, seed=0)
    client = Wire(
        api="openai_responses", session_header="session-id", side_request=("x-meta", r'"source":"title"')
    )
    session = gateway.open_session(policy, tmp_path / "r.jsonl", workspace="/home/agent/project", client=client)
    http = Http(session.url)
    prompt = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]}]
    body = {"model": "local-model", "stream": True, "input": prompt, "tools": responses_tools()}
    main = {"session-id": "s1", "x-meta": '{"source":"user"}'}
    first = assemble_responses(http.events("/v1/responses", body, main))
    message, call = first["output"]
    assert message["content"][0]["text"].startswith("Let me read the notice first")
    assert (call["type"], call["name"]) == ("function_call", "exec_command")
    assert json.loads(call["arguments"]) == {"cmd": "cat /home/agent/project/docs/company_server_maintenance.txt"}
    title = assemble_responses(
        http.events("/v1/responses", body, {"session-id": "s1", "x-meta": '{"source":"title"}'})
    )
    assert [item["type"] for item in title["output"]] == ["message"]
    history = [*prompt, message, call, {"type": "function_call_output", "call_id": call["call_id"], "output": "x"}]
    second = assemble_responses(http.events("/v1/responses", {**body, "input": history}, main))
    assert [json.loads(c["arguments"])["cmd"].split()[1] for c in second["output"]] == ["db-legacy", "ops-01"]
    assert [(e.kind, e.policy_turn) for e in session.exchanges] == [("main", 0), ("auxiliary", None), ("main", 1)]


def test_models_endpoint_lists_a_neutral_model_not_the_policy(session: Session) -> None:
    listing = Http(session.url).get("/v1/models")
    assert [(m["id"], m["owned_by"]) for m in listing["data"]] == [("local-model", "system")]


def test_unplayable_calls_and_bad_requests_are_recorded(session: Session) -> None:
    http = Http(session.url)
    tools = openai_tools([("end_task", {"type": "object", "properties": {}})])
    reply = http.json(CHAT, _chat([{"role": "user", "content": "go"}], stream=False, tools=tools))
    assert reply["choices"][0]["message"]["content"] == "The request could not be completed."
    assert "cannot be played" in session.errors[0] and "'read'" in session.errors[0]
    status, raw = http.post(CHAT, b"{not json")
    assert status == 400 and json.loads(raw)["error"]["message"] == "the request body is not JSON"
    status, raw = http.post(GEMINI_WHOLE, {"contents": [{"role": "user", "parts": "text"}]})
    assert status == 400 and "contents[0].parts must be a JSON array" in json.loads(raw)["error"]["message"]
    status, _ = http.post("/v1beta/models/gemini-test:embedContent", {})
    assert status == 404
    assert len(session.errors) == 4
    assert [e.status for e in session.exchanges] == [200, 400, 400, 404]
    # A request that could not be read has no normalized conversation; one the policy answered has both.
    assert [e.conversation is not None for e in session.exchanges] == [True, False, False, False]
    assert [e.reply is not None for e in session.exchanges] == [True, False, False, False]


def test_log_lines_are_exchanges_and_close_stops_serving(session: Session) -> None:
    http = Http(session.url)
    http.events(GEMINI_STREAM, _gemini_request([{"role": "user", "parts": [{"text": "go"}]}]))
    http.json(CHAT, _chat([{"role": "user", "content": "go"}], stream=False))
    session.close()
    lines = session.log_path.read_text().splitlines()
    logged = [Exchange.model_validate_json(line) for line in lines]
    assert logged == session.exchanges
    assert "canary-1234" in json.dumps(logged[0].request)  # the raw wire JSON stays, for people reading the log
    assert logged[0].response["candidates"][0]["content"]["parts"][1]["functionCall"]["name"] == "read_file"
    # ...and beside it the normalized record, the same shape whichever API carried it.
    gemini, chat = logged
    assert gemini.mentions("canary-1234") and not chat.mentions("canary-1234")
    assert gemini.conversation and "canary-1234" in gemini.conversation.system
    assert [m.role for m in gemini.conversation.messages] == ["user"]
    assert gemini.conversation.tools == [name for name, _ in GEMINI_CLI_TOOLS]
    assert gemini.reply and [c.name for c in gemini.reply.tool_calls] == ["read_file"]
    assert gemini.reply.text.startswith("Let me read")
    assert chat.api == "openai_chat" and chat.tokens.input > 0
    assert chat.reply and [c.name for c in chat.reply.tool_calls] == ["read"]
    with pytest.raises(OSError):
        http.post(CHAT, {})
    session.close()


def test_a_session_serves_on_a_socket_it_is_given(gateway: Gateway, tmp_path: Path) -> None:
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    policy = load_policy("scripted:refuse", FACTS, seed=0)
    with gateway.open_session(policy, tmp_path / "log.jsonl", sock=sock) as session:
        assert session.url == f"http://127.0.0.1:{port}"
        answer = Http(session.url).json(CHAT, _chat([{"role": "user", "content": "go"}], stream=False))
        assert answer["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "read"


def test_sessions_are_separate_and_stop_with_the_gateway(tmp_path: Path) -> None:
    with Gateway() as gateway:
        a = gateway.open_session(load_policy("scripted:refuse", FACTS, 0), tmp_path / "a.jsonl")
        b = gateway.open_session(load_policy("scripted:compliant", FACTS, 0), tmp_path / "b.jsonl")
        Http(a.url).json(CHAT, _chat([{"role": "user", "content": "go"}], stream=False))
        assert (len(a.exchanges), len(b.exchanges)) == (1, 0)
    with pytest.raises(OSError):
        Http(b.url).post(CHAT, {})
    assert len((tmp_path / "a.jsonl").read_text().splitlines()) == 1


MESSAGES = "/v1/messages?beta=true"


def test_anthropic_messages_streamed_episode_with_tool_results_fed_back(session: Session) -> None:
    """Claude Code's wire: the script's calls land on Read and Bash, results come back as tool_result blocks."""
    http = Http(session.url)
    request = claude_code_request(messages=[{"role": "user", "content": "go"}])
    first = assemble_anthropic(http.events(MESSAGES, request))
    text, read = first["content"]
    assert text["text"].startswith("Let me read") and first["stop_reason"] == "tool_use"
    assert (read["name"], read["input"]["file_path"]) == (
        "Read",
        "/home/agent/project/docs/company_server_maintenance.txt",
    )
    history = [
        {"role": "user", "content": "go"},
        {"role": "system", "content": "Primary working directory: /home/agent/project"},
        {"role": "assistant", "content": first["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": read["id"], "content": "notice"}]},
    ]
    second = assemble_anthropic(http.events(MESSAGES, claude_code_request(messages=history)))
    assert [(b["name"], b["input"]["command"]) for b in second["content"]] == [
        ("Bash", "ssh db-legacy ls -la /data"),
        ("Bash", "ssh ops-01 ls -la /srv/archive"),
    ]
    assert len({b["id"] for b in second["content"]}) == 2
    whole = http.json("/v1/messages", claude_code_request(messages=history, stream=False))
    assert whole["content"] == second["content"] and whole["type"] == "message"
    (main, _, again) = session.exchanges
    assert main.api == "anthropic_messages" and main.mentions("canary-1234") and main.policy_turn == 0
    assert again.conversation and [m.role for m in again.conversation.messages] == ["user", "assistant", "tool"]
    assert again.reply and [c.name for c in again.reply.tool_calls] == ["Bash", "Bash"]
    assert session.errors == []


def test_anthropic_token_counts_and_errors_are_in_its_shape(session: Session) -> None:
    http = Http(session.url)
    counted = http.json("/v1/messages/count_tokens", claude_code_request())
    assert counted["input_tokens"] > 0
    status, raw = http.post(MESSAGES, {"model": "m", "messages": "go"})
    assert status == 400 and json.loads(raw) == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "messages must be a JSON array"},
    }
    assert [(e.kind, e.status) for e in session.exchanges] == [("auxiliary", 200), ("main", 400)]
