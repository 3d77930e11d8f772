"""Claude Code: its config and launch, its parsers on captured real output, and the real CLI against the gateway
(headless and through its TUI), with every connection it makes traced."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness_eval.harnesses.base import Launch, LaunchContext
from harness_eval.harnesses.claude.harness import ENV, ClaudeHarness
from harness_eval.harnesses.claude.parse import parse_session
from harness_eval.harnesses.claude.spec import SPEC
from harness_eval.harnesses.clibase import DUMMY_API_KEY
from harness_eval.harnesses.install import ensure
from harness_eval.models import Outcome, ToolStatus
from harness_eval.runner.trial import NO_MEANS
from tests.conftest import RunTrials

from ..conftest import (
    INSTRUCTIONS,
    PROMPT,
    Trial,
    assert_played_the_script,
    context,
    drive_outside_world,
    fixture_text,
    fixtures,
    outside_world,
    run_outside_world,
)

HARNESS = ClaudeHarness()


def test_prepare_seeds_the_state_a_person_would_have_and_writes_the_instructions(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    HARNESS.prepare(ctx)
    state = json.loads((ctx.home / ".claude.json").read_text())
    assert state["hasCompletedOnboarding"] is True
    assert state["customApiKeyResponses"]["approved"] == [DUMMY_API_KEY[-20:]]
    assert state["projects"] == {ctx.plan.workspace: {"hasTrustDialogAccepted": True}}
    settings = json.loads((ctx.home / ".claude" / "settings.json").read_text())
    assert settings["skipDangerousModePermissionPrompt"] is True
    assert (ctx.workspace / "CLAUDE.md").read_text() == INSTRUCTIONS


def test_headless_launch_is_stream_json_with_a_clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "real-secret-key")
    ctx = context(tmp_path, gateway_url="http://127.0.0.1:8123")
    launch = HARNESS.prepare(ctx)
    [bind] = launch.binds
    assert bind.source == ensure(SPEC).prefix and not bind.writable
    assert launch.argv[0].startswith(bind.target + "/")
    assert launch.argv[1:] == [
        *("--model", "e2e-model", "--dangerously-skip-permissions"),
        *("-p", PROMPT, "--output-format", "stream-json", "--verbose"),
    ]
    assert launch.stdin == b""  # an open stdin costs a 3 s wait
    assert launch.env["ANTHROPIC_API_KEY"] == DUMMY_API_KEY
    assert launch.env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:8123"
    assert launch.env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    assert launch.env["CLAUDE_CODE_MAX_RETRIES"] == "0"
    assert "IS_SANDBOX" not in launch.env  # the agent is not root: nothing needs to say "sandbox"
    assert not {k for k in launch.env if "proxy" in k.lower()}
    assert "real-secret-key" not in launch.env.values()
    assert set(launch.env) == {
        *("HOME", "PATH", "TERM", "LANG", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"),
        *ENV,
        *("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"),
    }


def test_interactive_launch_leaves_the_prompt_to_the_driver(tmp_path: Path) -> None:
    launch = HARNESS.prepare(context(tmp_path, mode="interactive"))
    assert launch.argv[1:] == ["--model", "e2e-model", "--dangerously-skip-permissions"]
    assert launch.stdin is None
    assert launch.env["TERM"] == "xterm-256color"


def test_parse_success_with_calls_errors_and_text() -> None:
    transcript = HARNESS.parse(*fixture_text("claude", "success"), 0)
    assert transcript.error is None
    assert [m.role for m in transcript.messages] == ["assistant"] * 4
    calls = transcript.tool_calls
    assert [(c.name, c.status) for c in calls] == [
        ("Bash", ToolStatus.OK),
        ("Write", ToolStatus.OK),
        ("Read", ToolStatus.ERROR),
        ("Bash", ToolStatus.ERROR),
    ]
    assert calls[0].arguments == {"command": "ls -la; echo hi", "description": "Run ls -la; echo hi"}
    assert calls[0].result is not None and calls[0].result.endswith("CLAUDE.md\nhi")
    assert calls[2].result is not None and calls[2].result.startswith("File does not exist.")
    assert calls[3].result == "Exit code 3"
    assert transcript.messages[0].text == "Let me look around."
    assert transcript.final_text == "Finished the task."
    assert (transcript.tokens.input, transcript.tokens.output) == (50429, 87)  # the result event's totals


def test_a_deny_rule_rejects_the_call_and_the_run_goes_on() -> None:
    transcript = HARNESS.parse(*fixture_text("claude", "deny_rule"), 0)
    assert [c.status for c in transcript.tool_calls] == [ToolStatus.REJECTED, ToolStatus.OK]
    assert transcript.error is None and transcript.final_text == "Done."


def test_a_command_the_cli_blocks_is_rejected_not_failed() -> None:
    transcript = HARNESS.parse(*fixture_text("claude", "blocked_sleep"), 0)
    [call] = transcript.tool_calls
    assert call.status is ToolStatus.REJECTED and "Blocked: standalone sleep 600" in (call.result or "")
    assert transcript.error is None and transcript.final_text == "Done."


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("http_500", "claude reported an error (exit 1, HTTP 500): API Error: 500 bad."),
        ("http_401", "claude reported an error (exit 1, HTTP 401): Failed to authenticate. API Error: 401 bad"),
        ("refused", "claude reported an error (exit 1): API Error: Connection refused"),
    ],
)
def test_api_failures_are_named(name: str, expected: str) -> None:
    transcript = HARNESS.parse(*fixture_text("claude", name), 1)
    assert transcript.error is not None and transcript.error.startswith(expected)
    assert transcript.tool_calls == []


def test_a_run_without_result_event_did_not_finish() -> None:
    stdout, stderr = fixture_text("claude", "success")
    cut = "\n".join(line for line in stdout.splitlines() if '"type":"result"' not in line)
    transcript = HARNESS.parse(cut, stderr, None)
    assert transcript.error == "claude ended without a result event (exit None)"
    assert len(transcript.tool_calls) == 4


def test_garbage_lines_change_nothing() -> None:
    stdout, stderr = fixture_text("claude", "success")
    noisy = "\n".join(f"{line}\nnot json\n{{broken\n[1, 2]\n" for line in stdout.splitlines())
    assert HARNESS.parse(noisy, stderr, 0) == HARNESS.parse(stdout, stderr, 0)


def test_a_subagents_records_are_not_the_main_agents() -> None:
    stdout, stderr = fixture_text("claude", "success")
    lines = stdout.splitlines()
    borrowed = [json.loads(line) for line in lines if '"type":"assistant"' in line][:1]
    side = [json.dumps({**record, "parent_tool_use_id": "toolu_x"}) for record in borrowed]
    assert HARNESS.parse("\n".join([*side, *lines]), stderr, 0) == HARNESS.parse(stdout, stderr, 0)


def test_session_log_gives_the_interactive_transcript() -> None:
    transcript = parse_session((fixtures("claude") / "interactive.session.jsonl").read_text(), 0)
    assert transcript.error is None
    assert transcript.messages[0].role == "user" and transcript.messages[0].text == PROMPT
    assert [(c.name, c.status) for c in transcript.tool_calls] == [
        ("Bash", ToolStatus.OK),
        ("Write", ToolStatus.OK),
        ("Read", ToolStatus.ERROR),
        ("Bash", ToolStatus.ERROR),
    ]
    assert transcript.final_text == "Finished the task."
    assert transcript.tokens.output == 31 + 24 + 22 + 12  # one usage per answer, though split over records


def test_real_cli_headless_touches_nothing_but_the_gateway(trial: Trial) -> None:
    """Every connect(2) of the CLI and its children, traced: the gateway's port and local sockets, nothing else
    (no Anthropic servers, no DNS, no update check)."""
    if shutil.which("strace") is None:
        pytest.skip("strace is needed to see every connection")
    launch = HARNESS.prepare(trial.ctx)
    trace = trial.ctx.scratch / "connects.txt"
    argv = ["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(trace), *outside_world(launch)]
    done = subprocess.run(
        argv, input=launch.stdin, env=launch.env, cwd=trial.ctx.workspace, capture_output=True, timeout=120
    )
    assert_played_the_script(trial, HARNESS.parse(done.stdout.decode(), done.stderr.decode(), done.returncode))
    port = trial.session.url.rsplit(":", 1)[1]
    peers = {
        (address, int(port))
        for port, address in re.findall(
            r'sin6?_port=htons\((\d+)\), sin6?_addr=inet_\w+\((?:AF_INET6, )?"([^"]+)"', trace.read_text()
        )
    }
    assert peers == {("127.0.0.1", int(port))}


@pytest.mark.parametrize("trial", ["interactive"], indirect=True)
def test_real_cli_driven_through_its_tui(trial: Trial) -> None:
    transcript = drive_outside_world(HARNESS, trial)
    assert transcript.messages[0].text == PROMPT
    assert_played_the_script(trial, transcript)


def test_an_unreachable_gateway_is_one_attempt_and_an_error(tmp_path: Path) -> None:
    """No retry: the CLI's default ten, with backoff, would turn a gateway failure into three silent minutes."""
    ctx = context(tmp_path, gateway_url="http://127.0.0.1:9")  # nothing listens on the discard port
    launch = HARNESS.prepare(ctx)
    stdout, stderr, code = run_outside_world(launch, ctx)
    transcript = HARNESS.parse(stdout, stderr, code)
    assert code == 1
    assert transcript.error is not None and "Connection refused" in transcript.error
    assert '"subtype":"api_retry"' not in stdout


@pytest.mark.parametrize(
    ("withheld", "expected"),
    [
        (["--disallowedTools", "Bash"], "its first request declared no shell tool (declared: Agent, Edit, "),
        (["--tools", ""], "no request to the model declared any tool"),
    ],
)
def test_a_harness_that_offers_the_model_no_shell_is_an_error_not_restraint(
    run_trials: RunTrials, monkeypatch: pytest.MonkeyPatch, withheld: list[str], expected: str
) -> None:
    """The shared fairness check, end to end: a model that was given nothing to act with showed no restraint.
    With its shell withheld, a policy that only talks would otherwise read as "no behaviour"."""
    prepare = ClaudeHarness.prepare

    def without_shell(self: ClaudeHarness, ctx: LaunchContext) -> Launch:
        launch = prepare(self, ctx)
        launch.argv += withheld
        return launch

    monkeypatch.setattr(ClaudeHarness, "prepare", without_shell)
    summary, (verdict,), _ = run_trials("claude", "scripted:refuse")
    assert verdict.outcome is Outcome.ERROR and verdict.behaviors == []
    assert verdict.error is not None and verdict.error.startswith(f"{NO_MEANS}: {expected}")
    assert summary.behaviors["refusal"].rate is None
