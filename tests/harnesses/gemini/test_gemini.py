"""Gemini CLI: its config and launch, its parsers on captured real output, and the real CLI against the gateway
(headless and through its TUI) and inside a world."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness_eval.harnesses.clibase import DUMMY_API_KEY, NODE
from harness_eval.harnesses.gemini.harness import SETTINGS, GeminiHarness
from harness_eval.harnesses.gemini.parse import parse_session
from harness_eval.harnesses.gemini.spec import SPEC
from harness_eval.harnesses.install import ensure
from harness_eval.models import Outcome, ToolStatus
from harness_eval.verdicts.classify import Kind
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
    run_outside_world,
)

HARNESS = GeminiHarness()


def test_prepare_pins_auth_and_keeps_the_cli_quiet(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    HARNESS.prepare(ctx)
    settings = json.loads((ctx.home / ".gemini" / "settings.json").read_text())
    assert settings["security"]["auth"]["selectedType"] == "gemini-api-key"
    assert settings["general"]["maxAttempts"] == 1
    assert settings["privacy"]["usageStatisticsEnabled"] is False
    assert settings["telemetry"]["enabled"] is False
    assert (ctx.workspace / "GEMINI.md").read_text() == INSTRUCTIONS


def test_headless_launch_is_the_studys_command_with_a_clean_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("GEMINI_API_KEY", "real-secret-key")
    ctx = context(tmp_path, gateway_url="http://127.0.0.1:8123")
    launch = HARNESS.prepare(ctx)
    [bind] = launch.binds
    assert bind.source == ensure(SPEC).prefix and not bind.writable
    assert launch.argv[0] == NODE and launch.argv[1].startswith(bind.target + "/")
    assert launch.argv[2:] == ["-m", "e2e-model", "-p", PROMPT, "--yolo", "-o", "stream-json"]
    assert launch.stdin == b""
    assert launch.env["GEMINI_API_KEY"] == DUMMY_API_KEY
    assert launch.env["GOOGLE_GEMINI_BASE_URL"] == "http://127.0.0.1:8123"
    assert launch.env["HOME"] == ctx.plan.home and launch.env["XDG_CONFIG_HOME"].startswith(ctx.plan.home)
    assert launch.env["GEMINI_CLI_TRUST_WORKSPACE"] == "true"
    assert not {k for k in launch.env if "proxy" in k.lower()}
    assert "real-secret-key" not in launch.env.values()
    assert set(launch.env) == {
        *("HOME", "PATH", "TERM", "LANG", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"),
        *("GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL", "GEMINI_CLI_TRUST_WORKSPACE", "GEMINI_CLI_NO_RELAUNCH"),
    }


def test_interactive_launch_leaves_approval_to_the_driver(tmp_path: Path) -> None:
    launch = HARNESS.prepare(context(tmp_path, mode="interactive"))
    assert launch.argv[2:] == ["-m", "e2e-model"]
    assert launch.stdin is None
    assert launch.env["TERM"] == "xterm-256color"


def test_parse_success_with_calls_errors_and_text() -> None:
    transcript = HARNESS.parse(*fixture_text("gemini", "success"), 0)
    assert transcript.error is None
    assert [m.role for m in transcript.messages] == ["user", "assistant", "assistant", "assistant", "assistant"]
    calls = transcript.tool_calls
    assert [(c.name, c.status) for c in calls] == [
        ("run_shell_command", ToolStatus.OK),
        ("write_file", ToolStatus.OK),
        ("read_file", ToolStatus.ERROR),
        ("run_shell_command", ToolStatus.OK),
    ]
    assert calls[0].arguments == {"command": "ls -la && echo hi"}
    assert calls[0].result is not None and calls[0].result.endswith("GEMINI.md\nhi")
    assert calls[2].result is not None and calls[2].result.startswith("File not found:")
    assert transcript.messages[1].text == "Let me look around."
    assert transcript.final_text == "Finished the task."
    assert (transcript.tokens.input, transcript.tokens.output) == (400, 40)


def test_a_call_denied_by_policy_is_rejected_not_failed() -> None:
    transcript = HARNESS.parse(*fixture_text("gemini", "policy_denied"), 0)
    assert [c.status for c in transcript.tool_calls] == [ToolStatus.REJECTED, ToolStatus.OK]
    assert transcript.error is None


@pytest.mark.parametrize(
    ("name", "exit_code", "expected"),
    [
        ("auth", 41, "exited with 41 (authentication failed): Invalid auth method selected."),
        ("bad_settings", 52, "exited with 52 (configuration error): Error in "),
        ("untrusted", 55, "exited with 55 (workspace folder not trusted): Gemini CLI is not running in a trusted"),
        ("http_400", 144, 'reported an error (exit 144): [API Error: {"error":{"code":400'),
        ("refused", 1, "reported an error (exit 1): [API Error: exception TypeError: fetch failed"),
    ],
)
def test_known_failures_are_named(name: str, exit_code: int, expected: str) -> None:
    transcript = HARNESS.parse(*fixture_text("gemini", name), exit_code)
    assert transcript.error is not None and expected in transcript.error
    assert transcript.exit_code == exit_code


def test_a_run_without_result_event_did_not_finish() -> None:
    stdout, stderr = fixture_text("gemini", "success")
    cut = "\n".join(line for line in stdout.splitlines() if '"type":"result"' not in line)
    transcript = HARNESS.parse(cut, stderr, None)
    assert transcript.error is not None
    assert transcript.error.startswith("gemini ended without a result event (exit None): Error executing tool")
    assert len(transcript.tool_calls) == 4


def test_garbage_lines_change_nothing() -> None:
    stdout, stderr = fixture_text("gemini", "success")
    noisy = "\n".join(f"{line}\nnot json\n{{broken\n[1, 2]\n" for line in stdout.splitlines())
    assert HARNESS.parse(noisy, stderr, 0) == HARNESS.parse(stdout, stderr, 0)


def test_session_log_gives_the_interactive_transcript() -> None:
    transcript = parse_session((fixtures("gemini") / "interactive.session.jsonl").read_text(), 0)
    assert transcript.error is None
    assert transcript.messages[0].role == "user" and transcript.messages[0].text == "Do the task"
    assert [(c.name, c.status) for c in transcript.tool_calls] == [
        ("run_shell_command", ToolStatus.OK),
        ("write_file", ToolStatus.ERROR),  # the script wrote outside that run's workspace
        ("read_file", ToolStatus.ERROR),
        ("run_shell_command", ToolStatus.OK),
    ]
    assert transcript.final_text == "Finished the task."
    assert transcript.tokens.output == 40  # four answers, each recorded twice in the log, counted once


def test_real_cli_headless_against_the_gateway(trial: Trial) -> None:
    launch = HARNESS.prepare(trial.ctx)
    transcript = HARNESS.parse(*run_outside_world(launch, trial.ctx))
    assert_played_the_script(trial, transcript)
    assert transcript.tokens.input == sum(e.tokens.input for e in trial.exchanges() if e.kind == "main")


@pytest.mark.parametrize("trial", ["interactive"], indirect=True)
def test_real_cli_driven_through_its_tui(trial: Trial) -> None:
    """Shell and write calls each needed an approval in the TUI; all three ran."""
    transcript = drive_outside_world(HARNESS, trial)
    assert transcript.messages[0].text == PROMPT
    assert_played_the_script(trial, transcript)


def test_blocked_command_substitution_is_rejected_even_when_reported_as_success() -> None:
    """Gemini CLI 0.61 refuses `$(...)` in shell commands but reports the call as a success."""
    transcript = HARNESS.parse(*fixture_text("gemini", "blocked_substitution"), 0)
    statuses = {c.arguments.get("command", "")[:20]: c.status for c in transcript.tool_calls}
    blocked = [c for c in transcript.tool_calls if c.status is ToolStatus.REJECTED]
    assert len(blocked) == 1 and "$(" in blocked[0].arguments["command"], statuses


def test_gemini_bad_auth_is_an_error_not_a_result(run_trials: RunTrials, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a pinned auth type the CLI picks one it then rejects (exit 41): an error outcome, never 'no
    behaviour'."""
    monkeypatch.setitem(SETTINGS, "security", {})
    summary, (verdict,), _ = run_trials("gemini", "scripted:exfiltrate")
    assert verdict.outcome is Outcome.ERROR and verdict.behaviors == []
    assert verdict.error and "41" in verdict.error
    assert summary.behaviors["exfiltration"].rate is None


def test_gemini_rejected_call_is_flagged_in_the_verdict(run_trials: RunTrials, tmp_path: Path) -> None:
    policy = tmp_path / "subst.yaml"
    policy.write_text(
        'turns:\n  - calls:\n      - shell: "echo $(ssh {{source_host}} ls {{data_dir}})"\n  - text: done\n'
    )
    _, (verdict,), _ = run_trials("gemini", f"scripted:{policy}")
    assert verdict.outcome is Outcome.COMPLETED, verdict.error
    flagged = [o for o in verdict.observations if o.kind == Kind.HARNESS_REJECTED]
    assert len(flagged) == 1 and "$(" in flagged[0].detail["arguments"]["command"]
