"""OpenCode: its config and launch, its parser on captured real output, and the real CLI against the gateway."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness_eval.harnesses.clibase import DUMMY_API_KEY
from harness_eval.harnesses.install import ensure
from harness_eval.harnesses.opencode.harness import OpenCodeHarness
from harness_eval.harnesses.opencode.spec import PLUGIN_DIR, RG_PATH, SPEC
from harness_eval.models import ToolStatus

from ..conftest import (
    INSTRUCTIONS,
    PROMPT,
    Trial,
    assert_played_the_script,
    context,
    fixture_text,
    run_outside_world,
)

HARNESS = OpenCodeHarness()


def test_prepare_writes_an_offline_allow_all_config(tmp_path: Path) -> None:
    ctx = context(tmp_path, gateway_url="http://127.0.0.1:8123")
    launch = HARNESS.prepare(ctx)
    config_dir = ctx.home / ".config" / "opencode"
    config = json.loads((config_dir / "opencode.json").read_text())
    provider = config["provider"]["local"]
    assert provider["options"] == {"baseURL": "http://127.0.0.1:8123/v1", "apiKey": DUMMY_API_KEY}
    assert config["model"] == config["small_model"] == "local/e2e-model"
    assert "e2e-model" in provider["models"]
    assert config["permission"]["*"] == config["permission"]["external_directory"] == "allow"
    assert (config["snapshot"], config["autoupdate"], config["share"]) == (False, False, "disabled")
    assert (ctx.workspace / "AGENTS.md").read_text() == INSTRUCTIONS
    # The plugin OpenCode would npm-install at start-up is listed and present, through the bound install.
    [bind] = launch.binds
    assert json.loads((config_dir / "package.json").read_text())["dependencies"] == {
        "@opencode-ai/plugin": ensure(SPEC).version
    }
    assert json.loads((config_dir / "package-lock.json").read_text())["lockfileVersion"] == 3
    assert os.readlink(config_dir / "node_modules") == f"{bind.target}/{PLUGIN_DIR}/node_modules"
    assert os.readlink(ctx.home / ".cache" / "opencode" / RG_PATH) == f"{bind.target}/{RG_PATH}"


def test_launch_pipes_the_prompt_and_keeps_our_env_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("OPENAI_API_KEY", "real-secret-key")
    ctx = context(tmp_path)
    launch = HARNESS.prepare(ctx)
    [bind] = launch.binds
    assert bind.source == ensure(SPEC).prefix and not bind.writable
    assert launch.argv[0].startswith(bind.target + "/")
    assert launch.argv[1:] == ["run", "--format", "json", "--title", "Session", "--model", "local/e2e-model"]
    assert launch.stdin == PROMPT.encode()
    assert launch.env["HOME"] == ctx.plan.home
    assert {launch.env[f"XDG_{kind}_HOME"] for kind in ("CONFIG", "CACHE", "DATA", "STATE")} == {
        f"{ctx.plan.home}/.config",
        f"{ctx.plan.home}/.cache",
        f"{ctx.plan.home}/.local/share",
        f"{ctx.plan.home}/.local/state",
    }
    assert launch.env["OPENCODE_DISABLE_MODELS_FETCH"] == "1"
    assert "OPENCODE_DISABLE_PROJECT_CONFIG" not in launch.env  # it would hide AGENTS.md
    assert not {k for k in launch.env if "proxy" in k.lower() or "KEY" in k}
    assert "real-secret-key" not in launch.env.values()


def test_no_interactive_mode() -> None:
    assert not HARNESS.supports_interactive


def test_parse_success_with_calls_errors_and_text() -> None:
    transcript = HARNESS.parse(*fixture_text("opencode", "success"), 0)
    assert transcript.error is None
    assert [m.role for m in transcript.messages] == ["assistant"] * 4
    calls = transcript.tool_calls
    assert [(c.name, c.status) for c in calls] == [
        ("bash", ToolStatus.OK),
        ("write", ToolStatus.OK),
        ("read", ToolStatus.ERROR),
        ("bash", ToolStatus.OK),
    ]
    assert calls[0].arguments == {"command": "ls -la; echo hi", "description": "run"}
    assert calls[0].result is not None and calls[0].result.endswith("AGENTS.md\nhi\n")
    assert calls[2].result is not None and calls[2].result.startswith("File not found:")
    assert transcript.messages[0].text == "Looking."
    assert transcript.final_text == "Finished the task."
    assert (transcript.tokens.input, transcript.tokens.output) == (400, 40)


def test_out_of_order_lines_are_put_back_in_order() -> None:
    stdout, stderr = fixture_text("opencode", "success")
    shuffled = "\n".join(reversed(stdout.splitlines()))
    assert HARNESS.parse(shuffled, stderr, 0) == HARNESS.parse(stdout, stderr, 0)


def test_garbage_lines_change_nothing() -> None:
    stdout, stderr = fixture_text("opencode", "success")
    noisy = "\n".join(f"{line}\n\x1b[93mwarning\x1b[0m\n{{half" for line in stdout.splitlines())
    assert HARNESS.parse(noisy, stderr, 0) == HARNESS.parse(stdout, stderr, 0)


def test_a_deny_rule_rejects_the_call_and_the_run_goes_on() -> None:
    transcript = HARNESS.parse(*fixture_text("opencode", "deny_rule"), 0)
    assert [c.status for c in transcript.tool_calls] == [ToolStatus.REJECTED, ToolStatus.OK, ToolStatus.OK]
    assert transcript.error is None


def test_an_auto_rejected_permission_ends_the_run_and_says_so() -> None:
    transcript = HARNESS.parse(*fixture_text("opencode", "auto_rejected"), 0)
    assert [c.status for c in transcript.tool_calls] == [ToolStatus.REJECTED]
    assert transcript.error == (
        "opencode stopped after refusing a tool call: The user rejected permission to use this specific tool call."
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("http_401", "opencode reported an error (exit 1): APIError HTTP 401: bad"),
        ("refused", "opencode reported an error (exit 1): APIError: Cannot connect to API: Unable to connect."),
    ],
)
def test_error_events_are_named(name: str, expected: str) -> None:
    transcript = HARNESS.parse(*fixture_text("opencode", name), 1)
    assert transcript.error is not None and transcript.error.startswith(expected)


def test_a_failed_exit_without_error_event_is_still_an_error() -> None:
    assert HARNESS.parse("", "Segmentation fault\n", 139).error == "opencode exited with 139"


def test_real_cli_against_the_gateway(trial: Trial) -> None:
    launch = HARNESS.prepare(trial.ctx)
    transcript = HARNESS.parse(*run_outside_world(launch, trial.ctx))
    assert_played_the_script(trial, transcript)
    assert transcript.tokens.output == sum(e.tokens.output for e in trial.exchanges() if e.kind == "main")
