"""The registry finds every harness folder, loads only the one asked for, and nothing outside a folder names it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness_eval.errors import HarnessEvalError
from harness_eval.gateway import Gateway, load_policy
from harness_eval.harnesses import get_harness, names, spec, specs

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "harness_eval" / "harnesses"

# Identifiers that belong to one harness, beyond what the specs declare: module and tool names that once lived
# outside the folders. "gemini" alone is not here: it is also the Gemini API and provider, which the gateway
# rightly names.
EXTRA_IDENTIFIERS = ("gemini-cli", "gemini_cli", "gemini cli", "custom_agent")
# Harness names that are also other things the code rightly names: an ordinary word, a model family (the
# gateway routes `claude-*` ids to Anthropic).
COMMON_WORDS = ("custom", "claude")


def test_every_folder_is_a_harness_and_nothing_else_is() -> None:
    folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert names() == tuple(folders) == ("claude", "codex", "custom", "gemini", "opencode")
    for name in names():
        harness = get_harness(name)
        assert harness.name == name and harness.spec is spec(name)
        assert (REPO / "docs" / "harnesses" / f"{name}.md").is_file(), f"{name} has no doc"


def test_an_unknown_harness_is_one_clear_error() -> None:
    known = r"\(known: claude, codex, custom, gemini, opencode\)"
    with pytest.raises(HarnessEvalError, match=rf"unknown harness 'vim' {known}"):
        get_harness("vim")


def test_choosing_one_harness_imports_no_other() -> None:
    code = (
        "import sys\n"
        "from harness_eval.harnesses import get_harness, names\n"
        "get_harness('custom')\n"
        "print(' '.join({m.split('.')[2] for m in sys.modules if m.startswith('harness_eval.harnesses.')}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(done.stdout.split())
    assert "custom" in loaded and not loaded & (set(names()) - {"custom"})


def test_the_gateway_can_serve_every_harness_and_refuses_an_api_it_lacks(tmp_path: Path) -> None:
    """A spec's wire API is what the gateway session is told; one no codec speaks fails before any trial."""
    script = tmp_path / "script.yaml"
    script.write_text("turns:\n  - text: done\n")
    policy = load_policy(f"scripted:{script}", {}, 0)
    with Gateway() as gateway:
        for declared in specs():
            with gateway.open_session(policy, tmp_path / f"{declared.name}.jsonl", client=declared.wire):
                pass
        unknown = type("Wire", (), {"api": "smoke-signals", "session_header": None, "side_request": None})()
        with pytest.raises(HarnessEvalError, match="speaks the 'smoke-signals' API"):
            gateway.open_session(policy, tmp_path / "x.jsonl", client=unknown)


def _identifiers() -> set[str]:
    """What names a harness: its spec's title, package, instructions file and routing header, and its name
    unless that is also a wire API's (gemini) or a common word (custom, claude)."""
    found = set(EXTRA_IDENTIFIERS)
    apis = {declared.wire.api for declared in specs()}
    for declared in specs():
        found |= {declared.title}
        found |= {v for v in (declared.instructions_file, declared.wire.session_header) if v}
        if declared.package is not None:
            found.add(declared.package.name)
        if declared.name not in apis and declared.name not in COMMON_WORDS:
            found.add(declared.name)
    return {identifier.lower() for identifier in found}


def _outside_the_folders() -> list[Path]:
    folders = {PACKAGE / name for name in names()}
    files = [*(REPO / "harness_eval").rglob("*.py"), *(REPO / "bench").rglob("*.py")]
    return [f for f in files if not any(f.is_relative_to(folder) for folder in folders)]


def test_nothing_outside_a_harness_folder_names_a_harness() -> None:
    identifiers = _identifiers()
    assert {"opencode", "x-session-id", "gemini.md", "agents.md", "gemini cli"} <= identifiers
    pattern = re.compile("|".join(re.escape(i) for i in sorted(identifiers)), re.IGNORECASE)
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in _outside_the_folders()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, "\n".join(offenders)


def test_the_check_above_would_catch_a_mention() -> None:
    pattern = re.compile("|".join(re.escape(i) for i in sorted(_identifiers())), re.IGNORECASE)
    assert pattern.search("# some CLIs (OpenCode) wait forever")
    assert pattern.search('headers.get("x-session-id")')
    assert not pattern.search('Provider = Literal["gemini", "openai", "anthropic"]')


def test_no_path_outside_the_repository_is_referenced() -> None:
    """A clone must be able to read the facts behind its own settings: docs live in docs/harnesses/."""
    files = [*(REPO / "harness_eval").rglob("*.py"), *(REPO / "docs").rglob("*.md"), REPO / "README.md"]
    machine = "/" + "work/"  # spelled apart, so this test does not name the path it forbids
    offenders = [str(f.relative_to(REPO)) for f in files if machine in f.read_text()]
    assert not offenders
