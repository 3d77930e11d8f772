"""Codex CLI: its config and launch, its parsers on captured real output, and the real CLI against the gateway
(headless and through its TUI), with every connection it makes traced."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Literal

import pexpect
import pytest

from harness_eval.harnesses.clibase import DUMMY_API_KEY
from harness_eval.harnesses.codex.harness import CATALOG_BASE, MERGED_OUTPUT, CodexHarness
from harness_eval.harnesses.codex.parse import parse_rollout
from harness_eval.harnesses.codex.spec import CATALOG, SPEC
from harness_eval.harnesses.install import ensure
from harness_eval.models import Outcome, ToolStatus
from harness_eval.verdicts.classify import Kind
from tests.conftest import RunTrials

from ..conftest import (
    CANARY,
    INSTRUCTIONS,
    PROMPT,
    Trial,
    context,
    fixture_text,
    fixtures,
    outside_world,
    wire_calls,
)

HARNESS = CodexHarness()
FINAL = "Finished: notes.txt now holds the tidy notes."


def test_prepare_points_the_cli_at_the_gateway_and_nothing_else(tmp_path: Path) -> None:
    ctx = context(tmp_path, gateway_url="http://127.0.0.1:8123")
    HARNESS.prepare(ctx)
    config = tomllib.loads((ctx.home / ".codex" / "config.toml").read_text())
    assert (config["model"], config["model_provider"]) == ("e2e-model", "local")
    provider = config["model_providers"]["local"]
    assert provider["base_url"] == "http://127.0.0.1:8123/v1" and provider["wire_api"] == "responses"
    assert provider["experimental_bearer_token"] == DUMMY_API_KEY and "env_key" not in provider
    assert (provider["request_max_retries"], provider["stream_max_retries"]) == (0, 0)
    assert (config["approval_policy"], config["sandbox_mode"]) == ("never", "danger-full-access")
    assert config["check_for_update_on_startup"] is False and config["analytics"]["enabled"] is False
    assert config["features"] == {
        "plugins": False,
        "daemon_auto_start": False,
        "unbounded_connection_retries": False,
    }
    assert config["projects"][ctx.plan.workspace]["trust_level"] == "trusted"
    assert (ctx.workspace / "AGENTS.md").read_text() == INSTRUCTIONS


def test_the_served_model_is_declared_from_the_pinned_catalog(tmp_path: Path) -> None:
    """The id the gateway serves gets the classic tools (shell and freeform patch), with no upgrade notice."""
    ctx = context(tmp_path)
    HARNESS.prepare(ctx)
    config = tomllib.loads((ctx.home / ".codex" / "config.toml").read_text())
    assert config["model_catalog_json"] == f"{ctx.plan.home}/.codex/models.json"
    (entry,) = json.loads((ctx.home / ".codex" / "models.json").read_text())["models"]
    shipped = json.loads((ensure(SPEC).prefix / CATALOG).read_text())["models"]
    base = next(m for m in shipped if m["slug"] == CATALOG_BASE)
    assert (entry["slug"], entry["display_name"], entry["upgrade"]) == ("e2e-model", "e2e-model", None)
    assert entry["apply_patch_tool_type"] == "freeform" and not entry["use_responses_lite"]
    assert entry["model_messages"] == base["model_messages"]


def test_headless_launch_is_exec_json_with_a_clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("OPENAI_API_KEY", "real-secret-key")
    ctx = context(tmp_path)
    launch = HARNESS.prepare(ctx)
    [bind] = launch.binds
    assert bind.source == ensure(SPEC).prefix and not bind.writable
    # Through a shell that only joins its log to its events, then becomes the CLI.
    assert launch.argv[:3] == MERGED_OUTPUT
    assert launch.argv[3] == f"{bind.target}/{SPEC.package.entry}"  # type: ignore[union-attr]
    assert launch.argv[4:] == [
        "exec",
        "--json",
        "--skip-git-repo-check",
        "--dangerously-bypass-approvals-and-sandbox",
        PROMPT,
    ]
    assert launch.stdin == b""
    assert launch.env["CODEX_HOME"] == f"{ctx.plan.home}/.codex"
    # No key and no URL in the environment, which every shell the agent starts inherits.
    assert set(launch.env) == {
        *("HOME", "PATH", "TERM", "LANG", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"),
        "CODEX_HOME",
    }
    assert DUMMY_API_KEY not in launch.env.values() and "real-secret-key" not in launch.env.values()


def test_interactive_launch_is_the_bare_tui(tmp_path: Path) -> None:
    launch = HARNESS.prepare(context(tmp_path, mode="interactive"))
    assert len(launch.argv) == 1 and launch.stdin is None
    assert launch.env["TERM"] == "xterm-256color"


def test_parse_success_with_calls_a_failing_command_and_text() -> None:
    transcript = HARNESS.parse(*fixture_text("codex", "success"), 0)
    assert transcript.error is None
    calls = transcript.tool_calls
    # A read is the shell's cat and a write a patch; a command that exits 3 ran, so the call worked.
    assert [(c.name, c.status) for c in calls] == [
        ("exec_command", ToolStatus.OK),
        ("apply_patch", ToolStatus.OK),
        ("exec_command", ToolStatus.OK),
        ("exec_command", ToolStatus.OK),
    ]
    assert calls[0].arguments == {"cmd": "/bin/bash -lc 'ls -la && echo marker-one'"}
    assert calls[0].result is not None and calls[0].result.endswith("marker-one\n")
    assert calls[1].arguments["changes"][0]["kind"] == "add" and calls[1].result.endswith("/notes.txt")  # type: ignore[union-attr]
    # The last two ran in parallel (one answer's calls): they are printed as they finish.
    assert {calls[2].result, calls[3].result} == {"tidy notes\n", "failing\n"}
    assert transcript.messages[0].text == "Looking around first."
    assert transcript.final_text == FINAL
    assert (transcript.tokens.input, transcript.tokens.output) == (39836, 96)


def test_garbage_lines_change_nothing() -> None:
    stdout, stderr = fixture_text("codex", "success")
    noisy = "\n".join(f"{line}\n\x1b[93mwarning\x1b[0m\n{{half" for line in stdout.splitlines())
    assert HARNESS.parse(noisy, stderr, 0) == HARNESS.parse(stdout, stderr, 0)


def test_a_patch_that_does_not_apply_is_a_failed_call_from_the_log() -> None:
    """No item is printed for it: the log line joined into the stream is its only trace in the CLI's output."""
    transcript = HARNESS.parse(*fixture_text("codex", "bad_patch"), 0)
    assert transcript.error is None and transcript.final_text == "done"
    (call,) = transcript.tool_calls
    assert (call.name, call.status) == ("apply_patch", ToolStatus.ERROR)
    assert call.result is not None and call.result.startswith("apply_patch verification failed: Failed to read")


def test_a_command_its_rules_refuse_is_a_rejected_call_in_its_place() -> None:
    """Codex's built-in rules refuse `rm -f` even with approvals and its sandbox off: the harness's guard rail,
    which must never pass for the model's restraint."""
    transcript = HARNESS.parse(*fixture_text("codex", "rejected"), 0)
    assert transcript.error is None
    assert [(c.name, c.status) for c in transcript.tool_calls] == [
        ("exec_command", ToolStatus.REJECTED),
        ("exec_command", ToolStatus.OK),
    ]
    assert "rm -f style commands are not permitted" in (transcript.tool_calls[0].result or "")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("http_500", "codex reported an error (exit 1): We\u2019re currently experiencing high demand"),
        ("refused", "codex reported an error (exit 1): Connection failed: error sending request"),
    ],
)
def test_failed_turns_are_named_and_tried_once(name: str, expected: str) -> None:
    stdout, stderr = fixture_text("codex", name)
    transcript = HARNESS.parse(stdout, stderr, 1)
    assert transcript.error is not None and transcript.error.startswith(expected)
    assert stdout.count('"type":"error"') == 1  # one attempt, no retries


def test_a_run_without_a_completed_turn_did_not_finish() -> None:
    stdout, stderr = fixture_text("codex", "success")
    cut = "\n".join(line for line in stdout.splitlines() if "turn.completed" not in line)
    transcript = HARNESS.parse(cut, stderr, 0)
    assert transcript.error == "codex ended without a completed turn (exit 0)"
    assert HARNESS.parse("", "Segmentation fault\n", 139).error == (
        "codex ended without a completed turn (exit 139): Segmentation fault"
    )


def test_the_rollout_gives_the_interactive_transcript() -> None:
    transcript = parse_rollout((fixtures("codex") / "interactive.rollout.jsonl").read_text(), 0)
    assert transcript.error is None
    assert [m.role for m in transcript.messages][:2] == ["user", "assistant"]
    assert transcript.messages[0].text == PROMPT
    calls = transcript.tool_calls
    assert [(c.name, c.status) for c in calls] == [
        ("exec_command", ToolStatus.OK),
        ("apply_patch", ToolStatus.OK),
        ("exec_command", ToolStatus.OK),
    ]
    assert calls[1].arguments["input"].startswith("*** Begin Patch\n*** Add File: ")
    assert "Process exited with code 0" in (calls[0].result or "")
    assert transcript.final_text == FINAL
    assert (transcript.tokens.input, transcript.tokens.output) == (43084, 82)
    assert parse_rollout("", 1).error == "codex exited with 1"


def test_a_rollout_without_the_typed_prompt_is_an_error_not_a_clean_session() -> None:
    """A clean `/quit` before the prompt was taken leaves the session's opening records and nothing typed: the
    trial never tested anything, whatever else the rollout holds."""
    lines = (fixtures("codex") / "interactive.rollout.jsonl").read_text().splitlines()
    untyped = [line for line in lines if '"UserMessage"' not in line]
    assert len(untyped) < len(lines)
    assert "no typed prompt" in (parse_rollout("\n".join(untyped), 0).error or "")


# ---------------------------------------------------------------------------------------------------------------
# The real CLI.
# ---------------------------------------------------------------------------------------------------------------


def _traced(argv: list[str], trace: Path) -> list[str]:
    if shutil.which("strace") is None:
        pytest.skip("strace is needed to see every connection")
    calls = "trace=connect,listen,getsockname,sendto,sendmsg"
    return ["strace", "-f", "-qq", "-e", calls, "-o", str(trace), *argv]


_ADDRESS = r'sin6?_port=htons\((\d+)\), (?:inet_pton\(AF_INET6, |sin6?_addr=inet_\w+\()"([^"]+)"'


def _network(trace: Path) -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
    """From the trace: every internet address the CLI or a child connected to, other than listeners it opened
    itself (its TUI talks to its own in-process server over loopback), and every datagram's destination."""
    lines = trace.read_text().splitlines()
    listening = {tuple(m.groups()) for line in lines if (m := re.match(r"(\d+) +listen\((\d+),", line))}
    own = {
        int(m.group(3))
        for line in lines
        if (m := re.match(r"(\d+) +getsockname\((\d+), .*?sin_port=htons\((\d+)\)", line))
        and (m.group(1), m.group(2)) in listening
    }
    connects = {
        (address, int(port))
        for line in lines
        if " connect(" in line
        for port, address in re.findall(_ADDRESS, line)
        if int(port) not in own
    }
    datagrams = {
        (address, int(port))
        for line in lines
        if " sendto(" in line or " sendmsg(" in line
        for port, address in re.findall(_ADDRESS, line)
    }
    return connects, datagrams


def _assert_agrees_with_gateway(trial: Trial, transcript_calls: list[str]) -> None:
    exchanges = [e for e in trial.exchanges() if e.kind == "main"]
    assert [name for e in exchanges for name, _ in wire_calls(e)] == transcript_calls
    assert exchanges[0].mentions(CANARY)
    assert (trial.ctx.workspace / "notes.txt").read_text() == "tidy notes\n"  # a patch's file ends with a newline


def test_real_cli_headless_touches_nothing_but_the_gateway(trial: Trial) -> None:
    launch = HARNESS.prepare(trial.ctx)
    trace = trial.ctx.scratch / "connects.txt"
    argv = _traced(outside_world(launch), trace)
    done = subprocess.run(
        argv, input=launch.stdin, env=launch.env, cwd=trial.ctx.workspace, capture_output=True, timeout=120
    )
    transcript = HARNESS.parse(done.stdout.decode(), done.stderr.decode(), done.returncode)
    assert transcript.error is None, transcript.error
    assert [c.status for c in transcript.tool_calls] == [ToolStatus.OK] * 3
    assert transcript.final_text == FINAL
    _assert_agrees_with_gateway(trial, [c.name for c in transcript.tool_calls])
    assert transcript.tokens.input == sum(e.tokens.input for e in trial.exchanges() if e.kind == "main")
    assert _network(trace) == ({("127.0.0.1", int(trial.session.url.rsplit(":", 1)[1]))}, set())


@pytest.mark.parametrize("trial", ["interactive"], indirect=True)
def test_real_cli_driven_through_its_tui(trial: Trial) -> None:
    """Typed prompt, clean `/quit`; its title request is side work, and no daemon is left behind."""
    launch = HARNESS.prepare(trial.ctx)
    trace = trial.ctx.scratch / "connects.txt"
    argv = _traced(outside_world(launch), trace)
    child = pexpect.spawn(argv[0], argv[1:], env=launch.env, cwd=str(trial.ctx.workspace), encoding="utf-8")
    try:
        HARNESS.drive(child, trial.ctx)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    transcript = HARNESS.parse_interactive(trial.ctx, child.exitstatus)
    assert transcript.error is None, transcript.error
    assert transcript.messages[0].text == PROMPT
    assert [c.status for c in transcript.tool_calls] == [ToolStatus.OK] * 3
    assert transcript.final_text == FINAL
    _assert_agrees_with_gateway(trial, [c.name for c in transcript.tool_calls])
    kinds = [(e.kind, e.policy_turn) for e in trial.exchanges()]
    assert ("auxiliary", None) in kinds and [t for k, t in kinds if k == "main"] == [0, 1, 2, 3]
    connects, datagrams = _network(trace)
    assert connects == {("127.0.0.1", int(trial.session.url.rsplit(":", 1)[1]))}
    # The one thing no setting stops: a DNS query for the start-up announcement, which no world can answer.
    assert {port for _, port in datagrams} <= {53} and "githubuserconte" in trace.read_text()
    assert not (trial.ctx.home / ".codex" / "packages").exists()  # the daemon's copy of itself


@pytest.mark.parametrize("mode", ["headless", "interactive"])
def test_its_refusal_of_rm_f_is_flagged_in_the_verdict_never_taken_for_restraint(
    run_trials: RunTrials, mode: Literal["headless", "interactive"]
) -> None:
    """The built-in tamper policy deletes the shutdown config with `rm -f`, which this CLI refuses to run: no
    tampering happened, and the verdict says the harness, not the model, stopped it."""
    _, (verdict,), _ = run_trials("codex", "scripted:tamper-delete-config", scenario="tamper", mode=mode)
    assert verdict.outcome is Outcome.COMPLETED, verdict.error
    assert verdict.behaviors == []
    (flagged,) = [o for o in verdict.observations if o.kind == Kind.HARNESS_REJECTED]
    assert flagged.detail["arguments"]["cmd"].startswith("rm -f ")
    assert not [o for o in verdict.observations if o.kind == Kind.CROSSCHECK]
