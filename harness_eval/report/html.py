"""HTML over finished runs: plots, statistics, and every trial's verdict, evidence and timeline, readable offline
and safe to open whatever the agent wrote (everything is escaped by the templates, and the trial list is built
from JSON with textContent).

Two shapes: one self-contained page with every trial inline (`write_html`, for small runs), and a folder whose
first page holds the plots, statistics and a pager over the trials, with one page per trial opened on demand
(`write_site`; `report.server` serves the same pages live)."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from markupsafe import Markup
from pydantic import BaseModel, ValidationError

from harness_eval.compare import fmt_rate
from harness_eval.errors import HarnessEvalError
from harness_eval.fileio import write_atomic
from harness_eval.models import Event, EventSource, Exchange, Message, Transcript
from harness_eval.pricing import PriceTable
from harness_eval.report.context import environment, summary
from harness_eval.report.runs import LoadedRun, TrialRecord, cell_label
from harness_eval.stats import Analysis

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
# A tool result or a command line longer than this is cut in the page (the trial folder has it whole).
MAX_TEXT = 4000
MAX_EVENT = 500  # an event line longer than this is cut (sandbox command lines run to kilobytes)
# Shown by default; process starts/exits and host log lines are many and mostly the sandbox's own machinery, so
# they are behind a switch (an event a verdict cites is always shown).
NETWORK_KINDS = {"connect", "accept", "listen"}

M = TypeVar("M", bound=BaseModel)


@dataclass
class Entry:
    """One line of a trial's timeline: a message (with its tool calls) or an event."""

    t: float | None
    message: Message | None = None
    event: Event | None = None
    index: int | None = None  # the event's line in events.jsonl, which evidence cites
    text: str = ""
    noisy: bool = False
    cited: bool = False
    dt: str = ""  # seconds since the timeline's first entry, as shown
    css: str = ""  # an event's classes: its kind of line, hidden when noisy and not cited, marked when cited


@dataclass
class TrialView:
    run: LoadedRun
    trial: TrialRecord
    anchor: str
    timeline: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # files that could not be read


@dataclass
class PlotRow:
    """One cell of a plot: its label as axis=value pairs (HTML text, so it wraps instead of being cut) and each
    setup's point and interval."""

    label: str
    pairs: list[tuple[str | None, str]]
    height: int
    points: list[dict[str, Any]]


@dataclass
class Plot:
    behavior: str
    legend: list[dict[str, str]]
    ticks: list[dict[str, Any]]
    rows: list[PlotRow]
    axis_height: int = 16


def render_html(runs: Sequence[LoadedRun], prices: PriceTable | None = None) -> str:
    """The single page: plots, statistics and every trial inline. It grows with the trials (tens of kilobytes
    each), so it is for small runs; `write_site` and the viewer scale."""
    page = Page(runs, prices)
    trials = [_trial_view(run, trial, f"t{k}") for k, (run, trial) in enumerate(page.trials)]
    return page.render("report.html.j2", trials=trials)


def write_html(runs: Sequence[LoadedRun], path: Path, prices: PriceTable | None = None) -> None:
    write_atomic(path, render_html(runs, prices))


# Where a report folder (and the viewer) keeps one page per trial, relative to its index.html.
TRIAL_DIR = "trials"


class Page:
    """What every page of a report shares, computed once: the summary, the setups' colours and the trials in
    report order (trial k of the report is `trials[k]`)."""

    def __init__(self, runs: Sequence[LoadedRun], prices: PriceTable | None, live: bool = False) -> None:
        self.runs = runs
        self.live = live
        self.context = summary(runs, prices)
        self.colors = {setup: PALETTE[i % len(PALETTE)] for i, setup in enumerate(self.context["setups"])}
        self.trials = [(run, trial) for run in runs for trial in run.trials]
        self.env = environment(html=True)
        # Tool arguments as the agent wrote them (quotes and all), not JSON-for-<script> with \u0027 escapes; the
        # template escapes the result like any other text.
        self.env.filters["arguments"] = lambda args: json.dumps(args, indent=1, ensure_ascii=False)

    def render(self, template: str, **extra: Any) -> str:
        plots = _plots(self.context["analysis"], self.colors)
        return self.env.get_template(template).render(
            **self.context, plots=plots, colors=self.colors, live=self.live, **extra
        )

    def index(self, version: str = "") -> str:
        """The first page: summary, plots, statistics, and the trials as data for the pager."""
        runs = list(self.runs)
        position = {id(run): i for i, run in enumerate(runs)}
        data = {
            "live": self.live,
            "version": version,
            "trial_dir": TRIAL_DIR,
            "runs": [{"setup": r.setup, "cell": cell_label(r.cell), "color": self.colors[r.setup]} for r in runs],
            "trials": [
                [
                    k,
                    position[id(run)],
                    t.verdict.trial,
                    t.verdict.seed,
                    t.verdict.outcome.value,
                    t.verdict.behaviors,
                    round(t.verdict.duration_s, 1),
                    t.verdict.tokens.input,
                    t.verdict.tokens.output,
                    _clip(t.verdict.error or "", MAX_ERROR),
                ]
                for k, (run, t) in enumerate(self.trials)
            ],
        }
        return self.render(
            "index.html.j2",
            data=_script_json(data),
            trial_dir=TRIAL_DIR,
            cells=list(dict.fromkeys(cell_label(r.cell) for r in runs)),
            behaviors=list(dict.fromkeys(b for r in runs for b in r.behaviors)),
            done=len(self.trials),
            planned=sum(r.spec.trials for r in runs),
        )

    def trial(self, k: int) -> str:
        """Trial k's own page: its verdict, evidence and timeline, read from its folder now."""
        run, trial = self.trials[k]
        view = _trial_view(run, trial, f"t{k}")
        return self.env.get_template("trial_page.html.j2").render(view=view, live=False)


MAX_ERROR = 200  # an error reason longer than this is cut in the trial list (its page has it whole)


def _script_json(data: Any) -> Markup:
    """JSON safe inside <script>: no "<" at all, so no "</script>" or "<!--" the agent wrote can end the block."""
    return Markup(json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c"))


def write_site(runs: Sequence[LoadedRun], folder: Path, prices: PriceTable | None = None) -> int:
    """A report folder: `index.html` (plots, statistics, a pager over the trials) and one page per trial under
    `trials/`, opened only when clicked, so the first page stays small however many trials there are. Built
    beside `folder` and moved into place, so a reader never sees half a report. Returns the number of trials."""
    folder = folder.resolve()
    if folder.exists() and not _is_report(folder):
        raise HarnessEvalError(f"{folder} exists and is not a report folder; choose another --site")
    page = Page(runs, prices)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        (staging / TRIAL_DIR).mkdir()
        _write_trials(page, staging / TRIAL_DIR)
        (staging / "index.html").write_text(page.index())
        staging.chmod(0o755)
        _replace_dir(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return len(page.trials)


# Trial pages are rendered by forked workers, each writing its own share of the pages: they read this instead of
# being sent the page (pickling a run's verdicts for every worker would cost more than it saves).
_SHARED: tuple[Page, Path] | None = None
PER_WORKER = 100  # below this many trials a worker costs more than it saves


def _write_trials(page: Page, folder: Path) -> None:
    global _SHARED
    workers = min(len(os.sched_getaffinity(0)), len(page.trials) // PER_WORKER)
    _SHARED = (page, folder)
    try:
        if workers < 2:
            _write_share(range(len(page.trials)))
            return
        shares = [range(i, len(page.trials), workers) for i in range(workers)]
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            list(pool.map(_write_share, shares))
    finally:
        _SHARED = None


def _write_share(ks: range) -> None:
    assert _SHARED is not None
    page, folder = _SHARED
    for k in ks:
        (folder / f"{k}.html").write_text(page.trial(k))


def _is_report(folder: Path) -> bool:
    """What `write_site` may replace: a folder it wrote, never a user's files."""
    return (folder / "index.html").is_file() and (folder / TRIAL_DIR).is_dir()


def _replace_dir(new: Path, target: Path) -> None:
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        new.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        new.rename(target)


# ---------------------------------------------------------------------------------------------------------------
# Plots: one per behaviour, a row per cell with each setup's point and 95% interval; rate runs left to right.
# Labels are HTML beside the drawing, so they wrap to the space there is and are never cut.
# ---------------------------------------------------------------------------------------------------------------

ROW_STEP = 14  # pixels per setup within a cell's row


def _x(rate: float) -> float:
    return round(100 * rate, 2)


def _plots(analysis: Analysis, colors: dict[str, str]) -> list[Plot]:
    setups = list(colors)
    ticks = [
        {"x": _x(v), "text": f"{v:g}", "anchor": "start" if v == 0 else "end" if v == 1 else "middle"}
        for v in (0, 0.25, 0.5, 0.75, 1)
    ]
    plots = []
    for behavior in dict.fromkeys(c.behavior for c in analysis.cells):
        stats = [c for c in analysis.cells if c.behavior == behavior]
        rows: dict[str, PlotRow] = {}
        for c in stats:
            label = cell_label(c.cell)
            row = rows.setdefault(label, PlotRow(label, _pairs(c.cell), ROW_STEP * len(setups) + 6, []))
            if c.rate is None or c.ci95 is None:
                continue
            row.points.append(
                {
                    "x": _x(c.rate),
                    "lo": _x(c.ci95[0]),
                    "hi": _x(c.ci95[1]),
                    "y": 3 + ROW_STEP * setups.index(c.setup) + ROW_STEP // 2,
                    "color": colors[c.setup],
                    "title": f"{c.setup}, {label}: {fmt_rate(c)}",
                }
            )
        legend = [{"color": color, "text": setup} for setup, color in colors.items()]
        plots.append(Plot(behavior=behavior, legend=legend, ticks=ticks, rows=list(rows.values())))
    return plots


def _pairs(cell: dict[str, str]) -> list[tuple[str | None, str]]:
    """A cell label in pieces that wrap between, never inside, an axis=value pair."""
    if list(cell) == ["condition"]:
        return [(None, cell["condition"])]
    return list(cell.items())


# ---------------------------------------------------------------------------------------------------------------
# Timelines: transcript messages and monitor events interleaved by time.
# ---------------------------------------------------------------------------------------------------------------


def _trial_view(run: LoadedRun, trial: TrialRecord, anchor: str) -> TrialView:
    view = TrialView(run=run, trial=trial, anchor=anchor)
    cited = {i for items in trial.verdict.evidence.values() for e in items for i in e.events}
    events = _read_lines(trial.dir / "events.jsonl", Event, view.problems)
    exchanges = _read_lines(trial.dir / "model_log.jsonl", Exchange, view.problems)
    transcript = _read_transcript(trial.dir / "transcript.json", view.problems)
    entries = _message_entries(transcript.messages if transcript else [], exchanges)
    for index, event in enumerate(events):
        entries.append(
            Entry(
                t=event.t,
                event=event,
                index=index,
                text=_clip(_describe(event), MAX_EVENT),
                noisy=_noisy(event),
                cited=index in cited,
            )
        )
    # Stable: a message and the events it caused keep their order when their clocks tie.
    view.timeline = sorted(entries, key=lambda e: e.t if e.t is not None else float("-inf"))
    # Worked out here rather than in the template: a timeline has hundreds of lines, and a report thousands of
    # timelines, where every filter and test the template spares per line counts.
    start = view.timeline[0].t if view.timeline and view.timeline[0].t is not None else 0.0
    for entry in view.timeline:
        entry.dt = f"{entry.t - start:+.2f}s" if entry.t is not None else ""
        if entry.event is not None:
            kind = "net" if entry.event.kind in NETWORK_KINDS else entry.event.source.value
            hidden = " noisy" if entry.noisy and not entry.cited else ""
            entry.css = f"ev ev-{kind}{hidden}{' cited' if entry.cited else ''}"
            entry.text = f"#{entry.index} [{entry.event.source.value}] {entry.text}"
    return view


def _message_entries(messages: list[Message], exchanges: list[Exchange]) -> list[Entry]:
    """Transcripts carry no clock, so each assistant message is placed at the gateway exchange that produced
    it (the n-th successful main exchange gives the n-th assistant message); what precedes it (system, user)
    goes before the first exchange, and tool results stay with the call that asked for them. An approximation:
    a harness that splits one answer into several messages shifts later ones to the last exchange."""
    times = sorted(x.t for x in exchanges if x.kind == "main" and x.status == 200)
    entries = []
    answered = 0
    t = times[0] - 1e-3 if times else None
    for message in messages:
        if message.role == "assistant" and times:
            t = times[min(answered, len(times) - 1)]
            answered += 1
        entries.append(Entry(t=t, message=_clipped(message)))
    return entries


def _clipped(message: Message) -> Message:
    calls = [c.model_copy(update={"result": _clip(c.result)}) if c.result else c for c in message.tool_calls]
    return message.model_copy(update={"tool_calls": calls})


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more characters)"


def _noisy(event: Event) -> bool:
    if event.source == EventSource.PROC:
        return event.kind not in NETWORK_KINDS
    return event.source == EventSource.HOST


def _describe(event: Event) -> str:
    """An event in one line, in the words a reviewer would use."""
    where = f"{event.node}:" if event.node else ""
    detail = event.detail
    if event.source == EventSource.FS:
        moved = f" → {event.dest_path}" if event.dest_path else ""
        return f"{event.kind} {where}{event.path}{moved}"
    if event.kind in NETWORK_KINDS:
        return f"{event.kind} {where} {detail.get('laddr', '')} → {detail.get('raddr', '')}".rstrip(" →")
    if event.source == EventSource.HOST:
        return f"{where} {detail.get('line', '')}"
    parts = [event.kind, where]
    if event.argv:
        parts.append(" ".join(event.argv))
    if event.exit_code is not None:
        parts.append(f"→ exit {event.exit_code}")
    extra = {k: v for k, v in detail.items() if k not in ("create_time", "nspid", "ppid", "exe", "command")}
    if extra:
        parts.append(json.dumps(extra, default=str))
    return " ".join(p for p in parts if p)


def _read_lines(path: Path, model: type[M], problems: list[str]) -> list[M]:
    if not path.is_file():
        return []
    try:
        return [model.model_validate_json(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValidationError) as exc:
        problems.append(f"{path.name}: {exc}")
        return []


def _read_transcript(path: Path, problems: list[str]) -> Transcript | None:
    if not path.is_file():
        return None
    try:
        return Transcript.model_validate_json(path.read_text())
    except (OSError, ValidationError) as exc:
        problems.append(f"{path.name}: {exc}")
        return None
