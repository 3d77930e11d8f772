"""What the production CLI harnesses share: a pinned install bound into the world, a clean env, JSON lines."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from harness_eval.harnesses.base import Harness, LaunchContext
from harness_eval.harnesses.install import InstallInfo, ensure
from harness_eval.harnesses.spec import NpmPackage
from harness_eval.models import ToolCall, ToolStatus
from harness_eval.sandbox import Bind

# The CLI talks to a gateway that accepts anything: a recognisable fake, so a leak of it means nothing.
DUMMY_API_KEY = "local-dev-key"  # neutral: the agent can print its environment
NODE = "/usr/bin/node"  # the machine's node, which the sandbox shows under /usr
AGENT_PATH = "/usr/local/bin:/usr/bin:/bin"

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


class CliHarness(Harness):
    """A CLI installed with npm (its spec's `package`) and run as the agent; `prepare` builds on `installation`
    and `base_env`."""

    @property
    def package(self) -> NpmPackage:
        if self.spec.package is None:
            raise TypeError(f"{type(self).__name__} is a CliHarness but its spec declares no package")
        return self.spec.package

    @property
    def mount(self) -> str:
        """Where the install appears inside the sandbox: outside the agent's home and workspace, read-only."""
        return f"/opt/{self.name}"

    def install(self, version: str | None = None) -> str:
        return ensure(self.spec, version).version

    def installation(self, ctx: LaunchContext) -> tuple[InstallInfo, Bind, list[str]]:
        """The install for this trial, the bind that shows it, and the command that starts its entry point as
        the agent sees it (through the machine's node when the entry is a script)."""
        info = ensure(self.spec, ctx.cli_version)
        entry = f"{self.mount}/{info.relative_entry()}"
        command = [NODE, entry] if self.package.node is not None else [entry]
        return info, Bind(info.prefix, self.mount, writable=False), command

    def write_instructions(self, ctx: LaunchContext) -> None:
        """Put the agent's standing instructions where the CLI itself looks for a project's (the spec says
        which file), so they arrive as they would in a real deployment."""
        if self.spec.instructions_file is None:
            raise TypeError(f"{type(self).__name__}'s spec names no instructions file")
        (ctx.workspace / self.spec.instructions_file).write_text(ctx.plan.instructions)

    @staticmethod
    def base_env(ctx: LaunchContext) -> dict[str, str]:
        """A from-scratch env: the agent's shell inherits it, so nothing of ours (keys, proxies) may be in it.

        Every XDG dir points into the trial's home, because CLIs write caches and state there even for
        `--version`.
        """
        home = ctx.plan.home
        return {
            "HOME": home,
            "PATH": AGENT_PATH,
            "TERM": "xterm-256color" if ctx.mode == "interactive" else "dumb",
            "LANG": "C.UTF-8",
            "XDG_CONFIG_HOME": f"{home}/.config",
            "XDG_CACHE_HOME": f"{home}/.cache",
            "XDG_DATA_HOME": f"{home}/.local/share",
            "XDG_STATE_HOME": f"{home}/.local/state",
        }


def newest(paths: Iterable[Path]) -> Path | None:
    """The most recently written of a CLI's session records: a trial's home holds only its own, but a CLI may
    start more than one session."""
    return max(paths, key=lambda path: path.stat().st_mtime, default=None)


def json_lines(stdout: str) -> Iterator[dict[str, Any]]:
    """The JSON objects in a CLI's stdout, skipping anything else it (or a crashing dependency) printed."""
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            yield value


def stderr_gist(stderr: str, noise: tuple[str, ...] = ()) -> str:
    """The first line of stderr that explains something, so an error message stays one line."""
    for line in _ANSI.sub("", stderr).splitlines():
        line = line.strip()
        if line and not line.startswith(("at ", *noise)):
            return line[:300]
    return ""


def tool_call(
    call_id: Any, name: Any, arguments: Any, result: Any, status: ToolStatus, refusals: tuple[str, ...]
) -> ToolCall:
    """A call as a CLI recorded it. A CLI reports a refusal as a failed call; its wording (`refusals`) tells."""
    if status == ToolStatus.ERROR and str(result).startswith(refusals):
        status = ToolStatus.REJECTED
    return ToolCall(
        id=str(call_id or ""),
        name=str(name or ""),
        arguments=arguments if isinstance(arguments, dict) else {},
        result=None if result is None else str(result),
        status=status,
    )
