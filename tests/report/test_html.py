"""The HTML report of real runs, opened in a real headless Chromium: the page renders, the plots draw, every
trial is there, and nothing the agent wrote can run as markup or script."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
import yaml

from harness_eval.models import RunSpec
from harness_eval.report.html import PALETTE, write_html
from harness_eval.report.markdown import render_markdown, write_markdown
from harness_eval.report.runs import LoadedRun, load_runs
from harness_eval.runner import Batch, Run

# Agent-produced text that would run if the page did not escape it: as a message, in a tool call, in its result.
PAYLOAD = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script> | a & b"
INJECT = {
    "turns": [
        {"text": PAYLOAD, "calls": [{"shell": f"cat <<'END'\n{PAYLOAD}\nEND"}]},
        {"text": "Done."},
    ]
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[LoadedRun]:
    """Two setups through the real pipeline: a grid of the simulated model (with its no-peer baseline) and a
    scripted policy that writes markup into the transcript."""
    root = tmp_path_factory.mktemp("report")
    specs = [
        RunSpec(harness="custom", scenario="exfil", model="simulated", label=c, trials=3)
        for c in ("good-peer", "no-peer")
    ]
    Batch(specs, root / "grid").execute()
    policy = root / "inject.yaml"
    policy.write_text(yaml.safe_dump(INJECT))
    inject = RunSpec(harness="custom", scenario="exfil", model=f"scripted:{policy}", label="good-peer", trials=1)
    Run(inject, root / "inject").execute()
    return load_runs([root / "grid", root / "inject"])


def chromium(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("Chromium is not installed (Debian package: chromium)")
    profile = page.parent / "chromium-profile"
    argv = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1280,2000",
        *args,
        page.as_uri(),
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True)


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG, with the scanline filters undone."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6), (depth, color)
    bpp = 3 if color == 2 else 4
    raw, stride, rows, previous = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line[j] for j in range(stride) if bpp == 3 or j % 4 != 3))
        previous = line
    return width, height, rows


def error_bars(rows: list[bytes], hex_color: str, min_height: int = 30, tolerance: int = 12) -> int:
    """Vertical runs of `hex_color` at least `min_height` pixels tall, counted per pixel column: only the plots'
    95% interval bars draw those (legend squares, points and text are much smaller)."""
    target = bytes.fromhex(hex_color[1:])
    found = 0
    for x in range(len(rows[0]) // 3):
        run = 0
        for row in [*rows, b""]:
            if row and all(abs(row[3 * x + c] - target[c]) <= tolerance for c in range(3)):
                run += 1
                continue
            found += run >= min_height
            run = 0
    return found


def test_the_page_renders_with_plots_in_a_real_browser(runs: list[LoadedRun], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    write_html(runs, page)
    shot = tmp_path / "shot.png"
    chromium(page, f"--screenshot={shot}")
    width, height, rows = read_png(shot)
    assert (width, height) == (1280, 2000)
    white = sum(row.count(b"\xff\xff\xff") for row in rows)  # an approximation: runs of white bytes
    assert white < width * height * 0.97, "the screenshot is blank"
    # Each setup's interval bars are drawn in its colour, 3 px wide (at least 2 solid columns): 8 for the grid,
    # 4 for the other run, all tall (with 3 trials every Wilson interval spans more than half the axis).
    assert error_bars(rows, PALETTE[0]) >= 8 * 2
    assert error_bars(rows, PALETTE[1]) >= 4 * 2
    assert error_bars(rows, "#b00020", min_height=20) > 100  # the SIMULATED banner


def test_the_dom_holds_every_row_and_no_agent_markup(runs: list[LoadedRun], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    write_html(runs, page)
    dom = chromium(page, "--dump-dom").stdout
    assert "<title>harness-eval report</title>" in dom  # no injected script ran
    assert "pwned" not in re.sub(r"&lt;.*?&gt;", "", dom.split("<body")[0])
    assert dom.count('class="stat-row"') == 3 * 4  # runs x behaviours
    assert dom.count('<details class="trial"') == 7
    assert dom.count("<circle") == 3 * 4 and dom.count("<script>") == 1
    assert "<img" not in dom and "&lt;img src=x onerror=" in dom
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    assert 'id="simulated"' in dom and "custom/simulated" in dom


def test_markdown_summary(runs: list[LoadedRun], tmp_path: Path) -> None:
    text = render_markdown(runs)
    assert text.startswith("# harness-eval results\n\n> **⚠ SIMULATED")
    rows = [line for line in text.splitlines() if line.startswith("| custom/")]
    assert len(rows) == 3 + 3 * 4  # the runs table, then one rate row per run and behaviour
    assert "vs no-peer" in text and "(fisher)" in text and "Same-seed trials whose verdicts differ" in text
    assert "only 3 completed trials" in text
    write_markdown(runs, tmp_path / "summary.md")
    assert (tmp_path / "summary.md").read_text() == text
