"""Pinned agent CLIs, installed on demand into a per-user cache and never globally.

A trial's results are only comparable with another's when both ran the same CLI build, so every version lives
here and each install is a private npm prefix named after it. The sandbox binds a prefix read-only into the
agent's view; nothing here knows where.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness_eval.errors import HarnessEvalError

# cli -> (npm package, pinned version). Re-check docs in /work/shared/notes when changing one.
PINS: dict[str, tuple[str, str]] = {
    "gemini": ("@google/gemini-cli", "0.61.0"),
    # The platform package alone: the `opencode-ai` wrapper would pull a second, 177 MB "baseline" binary.
    "opencode": ("opencode-linux-x64", "1.18.33"),
}

# Where each CLI's entry point sits inside its prefix.
_ENTRIES: dict[str, str] = {
    "gemini": "node_modules/@google/gemini-cli/bundle/gemini.js",
    "opencode": "node_modules/opencode-linux-x64/bin/opencode",
}

# OpenCode npm-installs this into every config dir at start-up unless it is already there; a trial must not
# touch the network, so the prefix carries a ready copy (same version as the CLI, as OpenCode itself asks for).
OPENCODE_PLUGIN = "@opencode-ai/plugin"
PLUGIN_DIR = "plugin"  # inside the opencode prefix: package.json, package-lock.json, node_modules/
RG_PATH = "bin/rg"  # inside the opencode prefix; OpenCode downloads ripgrep on first glob/grep otherwise

_MARKER = ".harness-eval-install.json"
_MIN_NODE = 20  # gemini-cli's engines.node


@dataclass(frozen=True)
class InstallInfo:
    """A ready CLI: what to run and which machine directory must be visible (read-only) for it to run."""

    cli: str
    version: str
    prefix: Path  # the npm prefix; bind this one directory and everything below resolves
    entry: Path  # the executable (gemini: a JS bundle for node; opencode: a native binary), under prefix

    def relative_entry(self) -> str:
        """The entry path relative to the prefix, so a harness can rebase it onto wherever the prefix is bound."""
        return str(self.entry.relative_to(self.prefix))


def cache_root() -> Path:
    """The per-user CLI cache; HARNESS_EVAL_CACHE wins so CI and tests can keep it out of a real home."""
    override = os.environ.get("HARNESS_EVAL_CACHE")
    if override:
        return Path(override) / "clis"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "harness-eval" / "clis"


def _pin(cli: str, version: str | None) -> tuple[str, str]:
    if cli not in PINS:
        raise HarnessEvalError(f"unknown CLI {cli!r}; known: {', '.join(sorted(PINS))}")
    package, pinned = PINS[cli]
    return package, version or pinned


def _prefix(cli: str, version: str) -> Path:
    return cache_root() / f"{cli}-{version}"


def installed(cli: str, version: str | None = None) -> str | None:
    """The version `ensure(cli, version)` would use without installing anything, or None if it must install."""
    package, version = _pin(cli, version)
    marker = _prefix(cli, version) / _MARKER
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if recorded.get("package") != package or recorded.get("version") != version:
        return None
    return version


def ensure(cli: str, version: str | None = None) -> InstallInfo:
    """Return an installed CLI, installing it first (once, under a lock) if the cache lacks it."""
    package, version = _pin(cli, version)
    prefix = _prefix(cli, version)
    if installed(cli, version) is None:
        _check_platform(cli)
        prefix.parent.mkdir(parents=True, exist_ok=True)
        with _lock(prefix.parent / f".{cli}-{version}.lock"):
            # Another process may have finished the same install while this one waited for the lock.
            if installed(cli, version) is None:
                print(f"harness-eval: installing {package}@{version} into {prefix} (first use)", file=sys.stderr)
                _install(cli, package, version, prefix)
    return InstallInfo(cli=cli, version=version, prefix=prefix, entry=prefix / _ENTRIES[cli])


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_platform(cli: str) -> None:
    """Fail before a long download on a machine the CLI cannot run on."""
    if shutil.which("npm") is None:
        raise HarnessEvalError(f"npm is not on PATH; {cli} is installed with npm (Debian: apt-get install npm)")
    if cli == "gemini":
        node = shutil.which("node")
        if node is None:
            raise HarnessEvalError("node is not on PATH; the Gemini CLI needs Node.js >= 20")
        found = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
        major = re.match(r"v(\d+)", found)
        if major is None or int(major.group(1)) < _MIN_NODE:
            raise HarnessEvalError(f"the Gemini CLI needs Node.js >= {_MIN_NODE}, found {found or 'nothing'}")
    if cli == "opencode":
        if platform.machine() not in ("x86_64", "AMD64"):
            raise HarnessEvalError(f"OpenCode is pinned for linux-x64; this machine is {platform.machine()}")
        if shutil.which("rg") is None:
            raise HarnessEvalError(
                "ripgrep (rg) is not on PATH; OpenCode needs it (Debian: apt-get install ripgrep)"
            )


def _install(cli: str, package: str, version: str, prefix: Path) -> None:
    """Build the prefix in a sibling temp dir and rename it into place, so a half-done install never counts."""
    staging = Path(tempfile.mkdtemp(prefix=f".{cli}-{version}.", dir=prefix.parent))
    try:
        _npm_install(staging, f"{package}@{version}")
        if cli == "opencode":
            plugin = staging / PLUGIN_DIR
            plugin.mkdir()
            _npm_install(plugin, f"{OPENCODE_PLUGIN}@{version}", lockfile=True)
            rg = staging / RG_PATH
            rg.parent.mkdir()
            shutil.copy2(shutil.which("rg") or "rg", rg)
        found = json.loads((staging / "node_modules" / package / "package.json").read_text()).get("version")
        if found != version:
            raise HarnessEvalError(f"npm installed {package}@{found} when {version} was asked for")
        if not (staging / _ENTRIES[cli]).is_file():
            raise HarnessEvalError(
                f"{package}@{version} has no {_ENTRIES[cli]}; its layout changed, update _ENTRIES"
            )
        staging.chmod(0o755)  # mkdtemp's 0700 would hide the CLI from a sandboxed agent that is not root
        (staging / _MARKER).write_text(json.dumps({"package": package, "version": version}))
        if prefix.exists():  # a stale, unmarked leftover (e.g. an older harness-eval's); replace it
            shutil.rmtree(prefix)
        staging.rename(prefix)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _npm_install(prefix: Path, spec: str, lockfile: bool = False) -> None:
    """Install one exact package spec into a private prefix.

    Install scripts are skipped: the packages we pin ship prebuilt files, and a trial tool should not run
    arbitrary code at install time.
    """
    argv = [
        "npm",
        "install",
        "--prefix",
        str(prefix),
        "--save-exact",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
    ]
    argv += ["--no-update-notifier", "--loglevel=error", f"--package-lock={'true' if lockfile else 'false'}", spec]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise HarnessEvalError(f"cannot run npm to install {spec}: {exc}") from exc
    if done.returncode != 0:
        raise HarnessEvalError(f"npm install {spec} failed: {npm_error_gist(done.stderr)}")


def npm_error_gist(stderr: str) -> str:
    """The few lines of npm's error output that say what went wrong, without its log-file boilerplate."""
    lines = [line.removeprefix("npm error").removeprefix("npm ERR!").strip() for line in stderr.splitlines()]
    useful = [
        line
        for line in lines
        if line and not line.startswith(("A complete log", "Log files were not written", "You can rerun"))
    ]
    return "; ".join(useful[:3]) or "npm printed no error message"
