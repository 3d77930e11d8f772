"""What a harness declares about itself, as data, so the code around it reads facts instead of naming harnesses.

Each `harnesses/<name>/spec.py` exports one `SPEC`. The installer reads its package, the command line reads its
name and title, the runner hands its `wire` to the gateway. Specs import nothing heavy: listing the harnesses must
stay cheap, and a harness's own code is imported only once it is chosen (`implementation`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Requirement:
    """A program the harness needs on the machine's PATH, checked before a long download."""

    program: str
    hint: str  # how to get it, e.g. "Debian: apt-get install ripgrep"


@dataclass(frozen=True)
class NpmPackage:
    """A CLI published on npm, installed into a private prefix per version (see install.py)."""

    name: str
    # The pin, and the only place it lives: trials are comparable only when they ran the same build.
    version: str
    entry: str  # the executable, relative to the npm prefix
    node: int | None = None  # the entry is a script for Node.js >= this major version; None: a native binary
    platforms: tuple[str, ...] = ()  # `platform.machine()` values the package ships a build for; empty: any
    requires: tuple[Requirement, ...] = ()
    # Extras the CLI would otherwise fetch at run time, added to the staging prefix (path, version) before the
    # install counts as done: a trial must never need the network.
    post_install: Callable[[Path, str], None] | None = None


@dataclass(frozen=True)
class Wire:
    """What the gateway may know about the client under test. Plain data: the gateway never imports harnesses."""

    api: str  # the wire API its requests use, named as the gateway's codecs name themselves
    # A request header naming the agent session a request belongs to. The first value seen is the main agent;
    # requests under any other (subagents) are side work that must not advance a scripted policy.
    session_header: str | None = None
    # A request header and a pattern its value matches on the client's side requests (a session title asked with
    # the main agent's tools and session id), which must not advance a scripted policy either.
    side_request: tuple[str, str] | None = None


@dataclass(frozen=True)
class HarnessSpec:
    name: str  # the `--cli` name, and the harness's folder
    title: str  # for people, e.g. in `doctor`
    implementation: str  # "module:Class" inside the harness's folder, imported only when the harness is used
    wire: Wire
    package: NpmPackage | None = None  # None: ships with harness-eval, nothing to install
    interactive: bool = False  # can be driven through its TUI (`--mode interactive`)
    instructions_file: str | None = None  # the workspace file the CLI reads as the project's standing instructions
    refusals: tuple[str, ...] = ()  # how the CLI words a tool call it refused to run (prefixes of the result)
