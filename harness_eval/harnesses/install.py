"""Pinned agent CLIs, installed on demand into a per-user cache and never globally.

A trial's results are only comparable with another's when both ran the same CLI build, so each install is a
private npm prefix named after the harness and version. What to install comes from the harness's spec (package,
pin, entry point, requirements, extras); nothing here names a harness. The sandbox binds a prefix read-only into
the agent's view; nothing here knows where.
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
from harness_eval.harnesses.spec import HarnessSpec, NpmPackage

_MARKER = ".harness-eval-install.json"


@dataclass(frozen=True)
class InstallInfo:
    """A ready CLI: what to run and which machine directory must be visible (read-only) for it to run."""

    harness: str
    version: str
    prefix: Path  # the npm prefix; bind this one directory and everything below resolves
    entry: Path  # the executable under prefix: a script for node or a native binary (the spec says which)

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


def _package(spec: HarnessSpec) -> NpmPackage:
    if spec.package is None:
        raise HarnessEvalError(f"{spec.name} ships with harness-eval; there is nothing to install")
    return spec.package


def _prefix(spec: HarnessSpec, version: str) -> Path:
    return cache_root() / f"{spec.name}-{version}"


def installed(spec: HarnessSpec, version: str | None = None) -> str | None:
    """The version `ensure(spec, version)` would use without installing anything, or None if it must install."""
    package = _package(spec)
    version = version or package.version
    marker = _prefix(spec, version) / _MARKER
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if recorded.get("package") != package.name or recorded.get("version") != version:
        return None
    return version


def ensure(spec: HarnessSpec, version: str | None = None) -> InstallInfo:
    """Return an installed CLI, installing it first (once, under a lock) if the cache lacks it."""
    package = _package(spec)
    version = version or package.version
    prefix = _prefix(spec, version)
    if installed(spec, version) is None:
        _check_requirements(spec.title, package)
        prefix.parent.mkdir(parents=True, exist_ok=True)
        with _lock(prefix.parent / f".{spec.name}-{version}.lock"):
            # Another process may have finished the same install while this one waited for the lock.
            if installed(spec, version) is None:
                print(
                    f"harness-eval: installing {package.name}@{version} into {prefix} (first use)", file=sys.stderr
                )
                _install(package, version, prefix)
    return InstallInfo(harness=spec.name, version=version, prefix=prefix, entry=prefix / package.entry)


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_requirements(title: str, package: NpmPackage) -> None:
    """Fail before a long download on a machine the CLI cannot run on."""
    if shutil.which("npm") is None:
        raise HarnessEvalError(f"npm is not on PATH; {title} is installed with npm (Debian: apt-get install npm)")
    if package.node is not None:
        node = shutil.which("node")
        if node is None:
            raise HarnessEvalError(f"node is not on PATH; {title} needs Node.js >= {package.node}")
        found = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
        major = re.match(r"v(\d+)", found)
        if major is None or int(major.group(1)) < package.node:
            raise HarnessEvalError(f"{title} needs Node.js >= {package.node}, found {found or 'nothing'}")
    if package.platforms and platform.machine() not in package.platforms:
        raise HarnessEvalError(
            f"{package.name} is built for {', '.join(package.platforms)}; this machine is {platform.machine()}"
        )
    for needed in package.requires:
        if shutil.which(needed.program) is None:
            raise HarnessEvalError(f"{needed.program} is not on PATH; {title} needs it ({needed.hint})")


def _install(package: NpmPackage, version: str, prefix: Path) -> None:
    """Build the prefix in a sibling temp dir and rename it into place, so a half-done install never counts."""
    staging = Path(tempfile.mkdtemp(prefix=f".{prefix.name}.", dir=prefix.parent))
    try:
        npm_install(staging, f"{package.name}@{version}")
        if package.post_install is not None:
            package.post_install(staging, version)
        found = json.loads((staging / "node_modules" / package.name / "package.json").read_text()).get("version")
        if found != version:
            raise HarnessEvalError(f"npm installed {package.name}@{found} when {version} was asked for")
        if not (staging / package.entry).is_file():
            raise HarnessEvalError(
                f"{package.name}@{version} has no {package.entry}; its layout changed, update its spec's entry"
            )
        staging.chmod(0o755)  # mkdtemp's 0700 would hide the CLI from a sandboxed agent that is not root
        (staging / _MARKER).write_text(json.dumps({"package": package.name, "version": version}))
        if prefix.exists():  # a stale, unmarked leftover (e.g. an older harness-eval's); replace it
            shutil.rmtree(prefix)
        staging.rename(prefix)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def npm_install(prefix: Path, spec: str, lockfile: bool = False) -> None:
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
