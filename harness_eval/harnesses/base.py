"""The contract every agent harness implements, so the runner can drive any of them the same way."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from harness_eval.harnesses.spec import HarnessSpec
from harness_eval.models import Transcript, WorldPlan
from harness_eval.sandbox import Bind

if TYPE_CHECKING:
    import pexpect


@dataclass(frozen=True)
class LaunchContext:
    """What a harness may know about a trial: the plan, where the model lives, and where it may write config."""

    plan: WorldPlan
    gateway_url: str  # as the agent sees it, e.g. "http://127.0.0.1:8080"
    model: str  # model name the harness should request from the gateway
    home: Path  # backing directory of the agent's HOME (plan.home inside the sandbox)
    workspace: Path  # backing directory of the workspace (plan.workspace inside the sandbox)
    scratch: Path  # trial-private directory the agent never sees
    mode: Literal["headless", "interactive"] = "headless"
    cli_version: str | None = None


@dataclass
class Launch:
    """How to start the harness inside the world; the runner owns the process, its timeout and its death."""

    argv: list[str]
    env: dict[str, str]
    stdin: bytes | None = None
    binds: list[Bind] = field(default_factory=list)


class Harness(ABC):
    spec: ClassVar[HarnessSpec]  # what the harness declares about itself (its folder's spec.py)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def supports_interactive(self) -> bool:
        return self.spec.interactive

    def install(self, version: str | None = None) -> str:
        """Make the harness runnable (e.g. npm install into the cache); return the installed version."""
        return version or "builtin"

    @abstractmethod
    def prepare(self, ctx: LaunchContext) -> Launch:
        """Write the harness's config into the world and say how to launch it."""

    @abstractmethod
    def parse(self, stdout: str, stderr: str, exit_code: int | None) -> Transcript:
        """Turn the harness's native output into our normalized transcript."""

    def drive(self, child: pexpect.spawn, ctx: LaunchContext) -> None:
        """Play the user of an interactive session (only if the spec says `interactive`), until the CLI exits.

        `child` runs the command the runner built from `prepare`'s `Launch` in interactive mode. The runner
        keeps owning the timeout: killing the child must make this return.
        """
        raise NotImplementedError(f"{self.name} cannot be driven interactively")

    def parse_interactive(self, ctx: LaunchContext, exit_code: int | None) -> Transcript:
        """The transcript of an interactive session, from whatever record the CLI left in the trial's dirs.

        A TUI's screen output is not a record of the run, so this replaces `parse` in interactive mode.
        """
        raise NotImplementedError(f"{self.name} cannot be driven interactively")
