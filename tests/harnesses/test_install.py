"""The real npm against the real registry: the shared cache for the pinned CLIs, private temp caches otherwise."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness_eval.errors import HarnessEvalError
from harness_eval.harnesses import get_harness, spec, specs
from harness_eval.harnesses.install import cache_root, ensure, installed, npm_error_gist
from harness_eval.harnesses.opencode.spec import PLUGIN_DIR, RG_PATH

INSTALLED = [s.name for s in specs() if s.package is not None]
GEMINI, OPENCODE = spec("gemini"), spec("opencode")
GEMINI_PIN = GEMINI.package.version if GEMINI.package else ""


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HARNESS_EVAL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "clis"


def test_cache_location_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_EVAL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "harness-eval" / "clis"
    monkeypatch.setenv("HARNESS_EVAL_CACHE", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine" / "clis"


@pytest.mark.parametrize("name", INSTALLED)
def test_second_ensure_is_a_no_op(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    declared = spec(name)
    first = ensure(declared)
    capsys.readouterr()
    inode = first.prefix.stat().st_ino
    again = ensure(declared)
    assert again == first
    assert capsys.readouterr().err == ""  # no "installing" line: npm did not run
    assert again.prefix.stat().st_ino == inode
    assert declared.package is not None
    assert installed(declared) == declared.package.version == again.version
    assert again.entry.is_file() and again.entry.is_relative_to(again.prefix)


def test_installed_gemini_runs(tmp_path: Path) -> None:
    info = ensure(GEMINI)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    argv = ["node", str(info.entry), "--version"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert done.stdout.strip() == info.version


def test_opencode_carries_its_plugin_and_ripgrep() -> None:
    info = ensure(OPENCODE)
    plugin = info.prefix / PLUGIN_DIR
    manifest = json.loads((plugin / "package.json").read_text())
    assert manifest["dependencies"] == {"@opencode-ai/plugin": info.version}
    lock = json.loads((plugin / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/@opencode-ai/plugin"]["version"] == info.version
    assert os.access(info.prefix / RG_PATH, os.X_OK)


def test_nothing_installed_in_an_empty_cache(private_cache: Path) -> None:
    assert installed(GEMINI) is None
    assert installed(OPENCODE, "0.0.1") is None


def test_a_fresh_install_replaces_a_stale_leftover(
    private_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    version = GEMINI_PIN
    stale = private_cache / f"gemini-{version}"
    stale.mkdir(parents=True)
    (stale / "half-done").write_text("an install that died before its marker")
    assert installed(GEMINI) is None
    info = ensure(GEMINI)
    assert f"installing @google/gemini-cli@{version}" in capsys.readouterr().err
    assert info.prefix == stale and not (stale / "half-done").exists()
    assert installed(GEMINI) == version
    # Only the install and its lock file are left: the staging directory was renamed into place.
    assert sorted(p.name for p in private_cache.iterdir()) == [f".gemini-{version}.lock", f"gemini-{version}"]


def test_concurrent_first_uses_install_once(private_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: ensure(GEMINI), range(2))
    assert first == second
    assert capsys.readouterr().err.count("installing @google/gemini-cli") == 1


def test_a_failed_install_names_npms_error_and_leaves_nothing(private_cache: Path) -> None:
    with pytest.raises(HarnessEvalError) as failure:
        ensure(GEMINI, "0.0.0-no-such-version")
    message = str(failure.value)
    assert message.startswith("npm install @google/gemini-cli@0.0.0-no-such-version failed: ")
    assert "ETARGET" in message or "No matching version" in message
    assert "\n" not in message
    assert [p.name for p in private_cache.iterdir()] == [".gemini-0.0.0-no-such-version.lock"]


def test_missing_npm_is_a_clear_error(private_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(private_cache / "no-such-dir"))
    with pytest.raises(HarnessEvalError, match="npm is not on PATH"):
        ensure(OPENCODE)


@pytest.fixture
def only_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH holding the real npm and nothing else; tests add what they need to the directory returned."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "npm").symlink_to(shutil.which("npm") or "npm")
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


def test_an_old_node_is_refused_before_downloading(private_cache: Path, only_npm: Path) -> None:
    old_node = only_npm / "node"
    old_node.write_text("#!/bin/sh\necho v18.19.0\n")
    old_node.chmod(0o755)
    with pytest.raises(HarnessEvalError, match=r"Gemini CLI needs Node.js >= 20, found v18.19.0"):
        ensure(GEMINI)


def test_a_missing_required_program_is_named_before_downloading(private_cache: Path, only_npm: Path) -> None:
    with pytest.raises(HarnessEvalError, match=r"^rg is not on PATH; OpenCode needs it \(ripgrep; Debian: "):
        ensure(OPENCODE)
    assert not private_cache.exists()


def test_a_harness_without_a_package_has_nothing_to_install() -> None:
    with pytest.raises(HarnessEvalError, match="custom ships with harness-eval; there is nothing to install"):
        ensure(spec("custom"))


def test_npm_error_gist_keeps_the_cause_and_drops_the_boilerplate() -> None:
    stderr = (
        "npm error code ETARGET\n"
        "npm error notarget No matching version found for @google/gemini-cli@9.9.9.\n"
        "npm error notarget In most cases you or one of your dependencies are requesting\n"
        "npm error A complete log of this run can be found in: /root/.npm/_logs/x-debug-0.log\n"
    )
    assert npm_error_gist(stderr) == (
        "code ETARGET; notarget No matching version found for @google/gemini-cli@9.9.9.; "
        "notarget In most cases you or one of your dependencies are requesting"
    )
    assert npm_error_gist("") == "npm printed no error message"


def test_harness_install_reports_the_pinned_version() -> None:
    assert get_harness("gemini").install() == GEMINI_PIN
