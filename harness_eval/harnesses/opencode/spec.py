"""OpenCode's declaration, and the extras its install carries so that a trial never downloads anything.

The facts behind each value are in docs/harnesses/opencode.md.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from harness_eval.harnesses.install import npm_install
from harness_eval.harnesses.spec import HarnessSpec, NpmPackage, Requirement, Wire

# OpenCode npm-installs its plugin package into every config dir at start-up unless it is already there, and
# downloads ripgrep the first time glob or grep run; the prefix carries both.
PLUGIN = "@opencode-ai/plugin"  # same version as the CLI, as OpenCode itself asks for
PLUGIN_DIR = "plugin"  # inside the prefix: package.json, package-lock.json, node_modules/
RG_PATH = "bin/rg"  # inside the prefix


def _carry_extras(prefix: Path, version: str) -> None:
    plugin = prefix / PLUGIN_DIR
    plugin.mkdir()
    npm_install(plugin, f"{PLUGIN}@{version}", lockfile=True)
    rg = prefix / RG_PATH
    rg.parent.mkdir()
    shutil.copy2(shutil.which("rg") or "rg", rg)


SPEC = HarnessSpec(
    name="opencode",
    title="OpenCode",
    implementation="harness:OpenCodeHarness",
    # Its subagents (the `task` tool) ask under their own session id.
    wire=Wire(api="openai_chat", session_header="x-session-id"),
    package=NpmPackage(
        # The platform package alone: the `opencode-ai` wrapper would pull a second, 177 MB "baseline" binary.
        name="opencode-linux-x64",
        version="1.18.33",
        entry="node_modules/opencode-linux-x64/bin/opencode",  # a native binary
        platforms=("x86_64",),
        requires=(Requirement("rg", "ripgrep; Debian: apt-get install ripgrep"),),
        post_install=_carry_extras,
    ),
    # Only `run`, as the study used it: driving the TUI reliably has not been worked out (no measured idle signal).
    interactive=False,
    instructions_file="AGENTS.md",
    # A `deny` rule, or an `ask` auto-rejected in run mode.
    refusals=(
        "The user rejected permission",
        "The user has specified a rule which prevents",
        "The user dismissed",
    ),
)
