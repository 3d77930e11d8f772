"""One self-contained HTML page over finished runs: plots, statistics, and every trial's verdict, evidence and
timeline, readable offline and safe to open whatever the agent wrote (everything is escaped by the template)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from harness_eval.compare import fmt_rate
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


@dataclass
class TrialView:
    run: LoadedRun
    trial: TrialRecord
    anchor: str
    timeline: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # files that could not be read


@dataclass
class Plot:
    behavior: str
    width: int
    height: int
    points: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    ticks: list[dict[str, Any]]
    legend: list[dict[str, Any]]


def render_html(runs: Sequence[LoadedRun], prices: PriceTable | None = None) -> str:
    context = summary(runs, prices)
    colors = {setup: PALETTE[i % len(PALETTE)] for i, setup in enumerate(context["setups"])}
    trials = [_trial_view(run, trial, r) for r, run in enumerate(runs) for trial in run.trials]
    env = environment(html=True)
    # Tool arguments as the agent wrote them (quotes and all), not JSON-for-<script> with \u0027 escapes; the
    # template escapes the result like any other text.
    env.filters["arguments"] = lambda args: json.dumps(args, indent=1, ensure_ascii=False)
    page = env.get_template("report.html.j2")
    return page.render(**context, plots=_plots(context["analysis"], colors), trials=trials, colors=colors)


def write_html(runs: Sequence[LoadedRun], path: Path, prices: PriceTable | None = None) -> None:
    write_atomic(path, render_html(runs, prices))


# ---------------------------------------------------------------------------------------------------------------
# Plots: one per behaviour, a point with its 95% interval per cell and setup, drawn as inline SVG.
# ---------------------------------------------------------------------------------------------------------------

LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 64
GROUP_W = 120  # pixels per cell
INNER_H = 160  # pixels from rate 0 to rate 1
LEGEND_W = 110


def _y(rate: float) -> float:
    return round(TOP + INNER_H * (1 - rate), 1)


def _plots(analysis: Analysis, colors: dict[str, str]) -> list[Plot]:
    plots = []
    for behavior in dict.fromkeys(c.behavior for c in analysis.cells):
        stats = [c for c in analysis.cells if c.behavior == behavior]
        cells = list(dict.fromkeys(cell_label(c.cell) for c in stats))
        width = LEFT + RIGHT + max(GROUP_W * len(cells), LEGEND_W * len(colors))
        step = GROUP_W / (len(colors) + 1)
        points = [
            {
                "x": round(
                    LEFT + GROUP_W * cells.index(cell_label(c.cell)) + step * (list(colors).index(c.setup) + 1), 1
                ),
                "y": _y(c.rate),
                "lo": _y(c.ci95[0]),
                "hi": _y(c.ci95[1]),
                "color": colors[c.setup],
                "title": f"{c.setup}, {cell_label(c.cell)}: {fmt_rate(c)}",
            }
            for c in stats
            if c.rate is not None and c.ci95 is not None
        ]
        bottom = TOP + INNER_H
        plots.append(
            Plot(
                behavior=behavior,
                width=width,
                height=bottom + BOTTOM,
                points=points,
                labels=[
                    {"x": LEFT + GROUP_W * (i + 0.5), "y": bottom + 18, "text": c} for i, c in enumerate(cells)
                ],
                ticks=[{"y": _y(v), "text": f"{v:g}", "x2": width - RIGHT} for v in (0, 0.25, 0.5, 0.75, 1)],
                legend=[
                    {"x": LEFT + LEGEND_W * i, "y": bottom + 44, "color": color, "text": setup}
                    for i, (setup, color) in enumerate(colors.items())
                ],
            )
        )
    return plots


# ---------------------------------------------------------------------------------------------------------------
# Timelines: transcript messages and monitor events interleaved by time.
# ---------------------------------------------------------------------------------------------------------------


def _trial_view(run: LoadedRun, trial: TrialRecord, run_index: int) -> TrialView:
    view = TrialView(run=run, trial=trial, anchor=f"r{run_index}-t{trial.verdict.trial}")
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
