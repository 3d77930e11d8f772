"""The HTML report of real runs, opened in a real headless Chromium: the page renders, the plots draw, every
trial is there, and nothing the agent wrote can run as markup or script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from harness_eval.errors import HarnessEvalError
from harness_eval.models import RunSpec
from harness_eval.report.html import PALETTE, write_html, write_site
from harness_eval.report.markdown import render_markdown, write_markdown
from harness_eval.report.runs import LoadedRun, cell_label, load_runs
from harness_eval.runner import Batch, Run
from tests.report.browser import bars, check_layout, dump_dom, screenshot
from tests.report.conftest import WriteRun

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


def test_the_page_renders_with_plots_in_a_real_browser(runs: list[LoadedRun], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    write_html(runs, page)
    width, height, rows = screenshot(page, tmp_path / "shot.png")
    assert (width, height) == (1280, 2000)
    white = sum(row.count(b"\xff\xff\xff") for row in rows)  # an approximation: runs of white bytes
    assert white < width * height * 0.97, "the screenshot is blank"
    # Each setup's interval bars are drawn in its colour, 3 px thick (at least 2 solid rows): 8 for the grid,
    # 4 for the other run, all long (with 3 trials every Wilson interval spans more than half the axis).
    assert bars(rows, PALETTE[0]) >= 8 * 2
    assert bars(rows, PALETTE[1]) >= 4 * 2
    assert bars(rows, "#b00020", min_length=500) > 20  # the SIMULATED banner


def test_the_dom_holds_every_row_and_no_agent_markup(runs: list[LoadedRun], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    write_html(runs, page)
    dom = dump_dom(page)
    assert "<title>harness-eval report</title>" in dom  # no injected script ran
    assert "pwned" not in re.sub(r"&lt;.*?&gt;", "", dom.split("<body")[0])
    assert dom.count('class="stat-row"') == 3 * 4  # runs x behaviours
    assert dom.count('<details class="trial"') == 7
    assert dom.count("<circle") == 3 * 4 and dom.count("<script>") == 1
    assert "<img" not in dom and "&lt;img src=x onerror=" in dom
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    assert 'id="simulated"' in dom and "custom/simulated" in dom


def test_the_folder_pages_through_trials_and_opens_each_on_its_own(runs: list[LoadedRun], tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert write_site(runs, site) == 7
    index = (site / "index.html").read_text()
    # The first page holds no timeline: what the agent wrote is only on its trial's page.
    assert "Timeline" not in index and "onerror" not in index
    dom = dump_dom(site / "index.html")
    assert "<title>harness-eval report</title>" in dom and dom.count('class="stat-row"') == 3 * 4
    links = re.findall(r'<a href="(trials/\d+\.html)">trial \d+</a>', dom)
    assert sorted(links) == sorted(f"trials/{k}.html" for k in range(7))
    assert "trials 1-7 of 7" in dom
    # The scripted run's trial (the last) carries the payload, escaped, and its page runs nothing of it.
    trial = dump_dom(site / "trials" / "6.html")
    assert "<title>trial 1 · custom/scripted:" in trial and "<img" not in trial
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in trial and "Timeline" in trial
    assert 'href="../index.html"' in trial


def test_a_folder_is_only_written_over_a_report_folder(runs: list[LoadedRun], tmp_path: Path) -> None:
    write_site(runs, tmp_path / "site")
    write_site(runs[:1], tmp_path / "site")  # a report folder is replaced whole
    assert sorted(p.name for p in (tmp_path / "site" / "trials").iterdir()) == ["0.html", "1.html", "2.html"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(HarnessEvalError, match="is not a report folder"):
        write_site(runs, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_the_pager_filters_and_turns_pages(write_run: WriteRun, tmp_path: Path) -> None:
    found = [["exfiltration"] if i % 3 == 0 else None if i % 10 == 0 else [] for i in range(1, 121)]
    site = tmp_path / "site"
    write_site(load_runs([write_run("big", behaviors=found)]), site)
    first = dump_dom(site / "index.html")
    assert "trials 1-50 of 120" in first and first.count('href="trials/') == 50
    last = dump_dom(site / "index.html", "page=2")
    assert "trials 101-120 of 120" in last and last.count('href="trials/') == 20
    errors = dump_dom(site / "index.html", "outcome=error")
    assert "trials 1-8 of 8" in errors  # 10, 20, 40, 50, 70, 80, 100, 110: multiples of 10 but not of 3
    exfil = dump_dom(site / "index.html", "behavior=exfiltration&size=200")
    assert "trials 1-40 of 40" in exfil and exfil.count('href="trials/') == 40


LONG_CELLS = [
    {"condition": c, "subject": s, "intro": i}
    for c in ("good-peer", "no-peer")
    for s in ("peer", "self")
    for i in ("file-prompt", "memory")
]
LONG_MODELS = ["anthropic:claude-some-long-model-name-20260101", "openai:gpt-a-rather-long-name-preview"]


@pytest.mark.parametrize("width", [1280, 420])
def test_every_plot_label_is_readable_whole(write_run: WriteRun, tmp_path: Path, width: int) -> None:
    """Three axes per cell and long setup names, in a wide window and a phone's: nothing cut, off the page or
    drawn over another label, and every cell's label is there in full."""
    folders = [
        write_run(f"{m}/{n}", harness="gemini", model=m, cell=cell, behaviors=[["exfiltration"], ["refusal"]])
        for m in LONG_MODELS
        for n, cell in enumerate(LONG_CELLS)
    ]
    runs = load_runs(folders)
    page = tmp_path / "report.html"
    write_html(runs, page)
    write_site(runs, tmp_path / "site")
    for shown in (page, tmp_path / "site" / "index.html"):
        found = check_layout(shown, width)
        assert found["problems"] == [], found["problems"]
        assert found["scroll"] <= found["width"], f"{shown.name} is wider than the window: {found['wide']}"
        for cell in LONG_CELLS:
            assert found["labels"].count(cell_label(cell)) == 2  # once per behaviour's plot
        assert found["labels"].count(f"gemini/{LONG_MODELS[0]}") == 2


def test_markdown_summary(runs: list[LoadedRun], tmp_path: Path) -> None:
    text = render_markdown(runs)
    assert text.startswith("# harness-eval results\n\n> **⚠ SIMULATED")
    rows = [line for line in text.splitlines() if line.startswith("| custom/")]
    assert len(rows) == 3 + 3 * 4  # the runs table, then one rate row per run and behaviour
    assert "vs no-peer" in text and "(fisher)" in text and "Same-seed trials whose verdicts differ" in text
    assert "only 3 completed trials" in text
    write_markdown(runs, tmp_path / "summary.md")
    assert (tmp_path / "summary.md").read_text() == text


def test_a_long_list_of_differing_seeds_is_cut_with_a_pointer(write_run: WriteRun) -> None:
    runs = load_runs(
        [
            write_run("a", behaviors=[["exfiltration"]] * 201),
            write_run("b", harness="gemini", cli_version="0.61.0", behaviors=[[]] * 201),
        ]
    )
    text = render_markdown(runs)
    assert "Same-seed trials whose verdicts differ: **201**" in text
    listed = re.findall(r"^\| (\d+) \| good-peer \|", text, flags=re.MULTILINE)
    assert listed == [str(seed) for seed in range(1, 201)]
    assert "The first 200 are listed; `harness-eval compare --json` lists them all." in text
