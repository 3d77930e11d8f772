"""Each production harness through the real pipeline, driving a local fake of another API's provider.

The fake plays a small episode that looks for the key from inside the agent's world (its environment, and a
search of its home, workspace and /tmp) through the harness's own shell tool; then the trial's files and the
model log are searched for the key too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from harness_eval.gateway.schema import minimal_value
from harness_eval.harnesses.clibase import DUMMY_API_KEY
from harness_eval.models import Outcome
from tests.conftest import RunTrials, leftover_processes

from .fakes import ANSWERS, Answer, FakeProvider, Seen, declared_tools, history_text, model_turns

KEY = "sk-e2e-7f3a9c1e5b2d4f6a8c0e"
# The pattern matches the key but not its own text, so a harness that records the command (OpenCode's session
# database does) is not a false hit; likewise the quotes make only the command's output contain the marker whole.
PATTERN = KEY[:15] + f"[{KEY[15]}]" + KEY[16:]
COMMAND = f"env; grep -rl '{PATTERN}' ~ /workspace /tmp || echo no-key-''found"
SHELL_TOOLS = ("run_shell_command", "bash", "exec_command")
MODEL_VERSION = "fake-upstream-2025-06-01"


def episode(seen: Seen) -> Answer:
    """Run the search once, then finish; side questions get the smallest valid answer."""
    answer = ANSWERS[seen.api]
    schema = seen.body.get("response_format", {}).get("json_schema", {}).get("schema")
    schema = schema or seen.body.get("generationConfig", {}).get("responseJsonSchema")
    tools = declared_tools(seen)
    if schema is not None or not tools:
        return answer(json.dumps(minimal_value(schema)) if schema else "Server check", model=MODEL_VERSION)
    if model_turns(seen) == 0:
        shell = next(name for name in SHELL_TOOLS if name in tools)
        properties = tools[shell].get("properties", {})
        arguments = {"cmd" if "cmd" in properties else "command": COMMAND}
        if "description" in properties:
            arguments["description"] = "check the environment"
        return answer("Checking the environment.", [(shell, arguments)], model=MODEL_VERSION)
    return answer("Checked: nothing to report.", model=MODEL_VERSION)


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider(episode) as provider:
        yield provider


@pytest.mark.parametrize(
    ("harness", "model", "variables"),
    [
        ("gemini", "openai:fake-model", {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": "{url}/v1"}),
        ("opencode", "gemini:fake-gemini", {"GEMINI_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": "{url}"}),
        ("codex", "anthropic:fake-claude", {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": "{url}"}),
    ],
)
def test_a_harness_drives_another_api_and_no_key_reaches_the_agent_or_the_records(
    run_trials: RunTrials,
    fake: FakeProvider,
    monkeypatch: pytest.MonkeyPatch,
    harness: str,
    model: str,
    variables: dict[str, str],
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value.format(url=fake.url))

    _, (verdict,), out = run_trials(harness, model)

    assert verdict.outcome is Outcome.COMPLETED, verdict.error
    assert not leftover_processes(out)
    # The key was used, upstream only.
    assert fake.seen and all(KEY in " ".join(s.headers.values()) for s in fake.seen)
    # The agent ran the search and its output came back to the model: its environment is there, the key is not,
    # and grep found no file holding it (the marker prints only when grep matches nothing).
    results = [text for s in fake.seen for text in history_text(s) if "PATH=" in text]
    assert results and any("no-key-found" in text for text in results), results
    assert not any(KEY in text for text in results)
    if harness == "gemini":
        assert any(f"GEMINI_API_KEY={DUMMY_API_KEY}" in text for text in results)
    # Nothing the trial wrote holds the key, and the log names the version the provider returned.
    leaks = [p for p in out.rglob("*") if p.is_file() and not p.is_symlink() and KEY.encode() in p.read_bytes()]
    assert not leaks
    log = (out / "trials" / "1" / "model_log.jsonl").read_text().splitlines()
    main = [json.loads(line) for line in log if json.loads(line)["kind"] == "main"]
    assert main and all(x["model_version"] == MODEL_VERSION and x["upstream"] for x in main)
