"""Codex CLI's declaration, and the model catalog its install carries; the facts behind each value are in
docs/harnesses/codex.md."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from harness_eval.errors import HarnessEvalError
from harness_eval.harnesses.spec import HarnessSpec, NpmPackage, Wire

ENTRY = "node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex"  # the native binary
# The CLI's own model catalog, as the pinned build ships it (`codex debug models --bundled`), kept in the prefix:
# a trial declares the served model id from one of its entries, and nothing is fetched at run time.
CATALOG = "models.json"


def _carry_catalog(prefix: Path, version: str) -> None:
    with tempfile.TemporaryDirectory() as home:
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "CODEX_HOME": home}
        done = subprocess.run(
            [str(prefix / ENTRY), "debug", "models", "--bundled"],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
    try:
        catalog = json.loads(done.stdout)
    except ValueError:
        catalog = None
    if done.returncode != 0 or not isinstance(catalog, dict) or not isinstance(catalog.get("models"), list):
        raise HarnessEvalError(f"codex {version} printed no model catalog: {done.stderr.strip()[:300]}")
    (prefix / CATALOG).write_text(json.dumps(catalog))


SPEC = HarnessSpec(
    name="codex",
    title="Codex CLI",
    implementation="harness:CodexHarness",
    # Every request of one run carries the run's session id; the TUI's title request is told apart by its turn
    # metadata, a header naming the thread source.
    wire=Wire(
        api="openai_responses",
        session_header="session-id",
        side_request=("x-codex-turn-metadata", r'"thread_source":"thread_title"'),
    ),
    package=NpmPackage(
        # The wrapper package pulls the platform's native build as an optional dependency; we run that binary.
        name="@openai/codex",
        version="0.171.0",
        entry=ENTRY,
        platforms=("x86_64",),
        post_install=_carry_catalog,
    ),
    interactive=True,
    instructions_file="AGENTS.md",
    # Its built-in command rules refuse some commands (`rm -f` among them) before they run, even with approvals
    # and its sandbox off; the model is told so in the call's output.
    refusals=('exec_command failed: CreateProcess { message: "Rejected(',),
)
