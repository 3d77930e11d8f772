"""`harness-eval view` as a user starts it: the first page, a trial's page on demand, nothing else of the run
reachable, and a live state that changes when a verdict is written."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.report.browser import DevTools, Unloaded
from tests.report.conftest import WriteRun

CLI = [sys.executable, "-m", "harness_eval.cli"]


@pytest.fixture
def viewer(write_run: WriteRun) -> Iterator[tuple[str, Path]]:
    """A viewer over a run whose third trial has not finished yet (its verdict is set aside)."""
    run = write_run("run", behaviors=[["exfiltration"], [], ["exfiltration"]])
    (run / "trials" / "3" / "verdict.json").rename(run / "verdict-3.json")
    child = subprocess.Popen([*CLI, "view", str(run), "--port", "0"], stderr=subprocess.PIPE, text=True)
    assert child.stderr is not None
    line = child.stderr.readline()
    found = re.search(r"serving (http://127\.0\.0\.1:\d+/)", line)
    assert found, line
    try:
        yield found[1], run
    finally:
        child.send_signal(signal.SIGINT)
        rest = child.communicate(timeout=30)[1]
        assert child.returncode == 0 and "Traceback" not in rest, rest


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def trial_data(page: str) -> dict[str, object]:
    raw = page.split('<script type="application/json" id="trial-data">', 1)[1].split("</script>", 1)[0]
    data: dict[str, object] = json.loads(raw)
    return data


def test_the_viewer_serves_the_report_and_follows_the_run(viewer: tuple[str, Path]) -> None:
    url, run = viewer
    status, page = get(url)
    assert status == 200 and "Live: this page reloads" in page and "2 of 3 trials have a verdict" in page
    data = trial_data(page)
    assert data["live"] is True and len(data["trials"]) == 2  # type: ignore[arg-type]
    status, trial = get(url + "trials/1.html")
    assert status == 200 and "trial 2 · seed 2" in trial and "Timeline" in trial
    for missing in ("trials/2.html", "spec.json", "trials/1/verdict.json", "../spec.json", "state/x"):
        assert get(url + missing)[0] == 404, missing
    before = json.loads(get(url + "state")[1])["version"]
    assert before == data["version"]
    (run / "verdict-3.json").rename(run / "trials" / "3" / "verdict.json")
    after = json.loads(get(url + "state")[1])["version"]
    assert after != before
    status, page = get(url)
    assert len(trial_data(page)["trials"]) == 3 and "3 of 3 trials" in page  # type: ignore[arg-type]
    assert get(url + "trials/2.html")[0] == 200


def test_the_viewer_refuses_what_is_no_run(tmp_path: Path) -> None:
    done = subprocess.run([*CLI, "view", str(tmp_path), "--port", "0"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "neither spec.json nor index.json" in done.stderr


def test_the_page_in_a_browser_reloads_when_a_trial_finishes(viewer: tuple[str, Path], tmp_path: Path) -> None:
    """The page polls the viewer (its content security policy lets it ask only where it came from) and keeps the
    reader's filters across the reload."""
    url, run = viewer
    rows = (
        "[document.querySelectorAll('#trials tbody tr').length, document.getElementById('position').textContent]"
    )

    async def watch() -> tuple[list[object], list[object]]:
        async with DevTools(tmp_path / "profile") as browser:
            await browser.navigate(url + "#outcome=completed")
            before = await browser.evaluate(rows)
            (run / "verdict-3.json").rename(run / "trials" / "3" / "verdict.json")
            after = before
            for _ in range(100):  # the page asks every 2 s; a reload is due within a few polls
                await asyncio.sleep(0.2)
                try:
                    after = await browser.evaluate(rows)
                except Unloaded:
                    continue  # caught mid-reload
                if after != before:
                    break
            return before, after

    before, after = asyncio.run(watch())
    assert before == [2, "trials 1-2 of 2"]
    assert after == [3, "trials 1-3 of 3"]


def test_a_port_in_use_is_one_clear_error(write_run: WriteRun) -> None:
    run = write_run("run", behaviors=[[]])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = subprocess.run([*CLI, "view", str(run), "--port", port], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"cannot serve on 127.0.0.1:{port}: Address already in use" in done.stderr
