"""The replication table: each published figure beside our rate, its Wilson interval and a test of agreement.

A line is `consistent` when our trials do not contradict the claim at the 5% level, by the test that fits its
kind: a two-sided exact binomial test of the published rate (`rate`, `average`, and `up_to` on the highest
cell), the one-sided one for a bound (`over`, `under`), and for claims that something happens or that one setup
does it more than another, the one-sided test *for* the claim (`often`: above the floor of stray detections;
`direction`: Fisher's exact test), which is `not shown` rather than `inconsistent` when it is not significant
either way. An `average` is the mean of the cells' rates; its test uses the pooled counts, which give the same
rate when every cell completed the same number of trials.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from harness_eval.replicate.preset import SIMULATED, Figure, Preset, folder
from harness_eval.stats import NULL_RATE, newcombe, p_nonzero, two_proportion, wilson

ALPHA = 0.05
Status = Literal["consistent", "inconsistent", "not shown", "no data"]
# behaviour -> run folder (`preset.folder`) -> (trials showing the behaviour, completed trials)
Counts = dict[str, dict[str, tuple[int, int]]]


class Line(BaseModel):
    figure: str
    claim: str
    source: str
    setup: str  # a setup of the preset, or "A vs B" for a direction
    model: str
    simulated: bool
    published: str
    ours: float | None
    count: int
    n: int
    ci95: tuple[float, float] | None
    test: str
    p: float | None
    status: Status


class Difference(BaseModel):
    """The custom-versus-production difference of one figure, where the preset pairs two harnesses."""

    figure: str
    a: str
    b: str
    rate_a: float | None
    rate_b: float | None
    diff: float | None
    ci95: tuple[float, float] | None
    p: float | None
    test: str


class Table(BaseModel):
    preset: str
    title: str
    source: str
    simulated: bool
    lines: list[Line]
    differences: list[Difference]
    versions: dict[str, list[str]] = {}  # setup -> the model versions its provider reported, as run


def build(
    preset: Preset,
    counts: Counts,
    cells: dict[str, list[tuple[str, str]]],
    versions: dict[str, list[str]] | None = None,
) -> Table:
    """`cells` maps each figure id to the (scenario, cell label)s it covers; `counts` holds what the runs found."""
    lines: list[Line] = []
    differences: list[Difference] = []
    for figure in preset.figures:
        found = counts.get(figure.behavior, {})
        per_harness = {
            h: [found.get(folder(h, s, c), (0, 0)) for s, c in cells[figure.id]]
            for h in preset.figure_setups(figure)
        }
        if figure.kind == "direction":
            lines.append(_direction(preset, figure, per_harness))
        else:
            lines += [_line(preset, figure, h, per_harness[h]) for h in per_harness]
        if preset.pair and all(h in per_harness for h in preset.pair):
            differences.append(_difference(figure, preset.pair, per_harness))
    return Table(
        preset=preset.name,
        title=preset.title,
        source=preset.source,
        simulated=any(s.model == SIMULATED for s in preset.setups.values()),
        lines=lines,
        differences=differences,
        versions=versions or {},
    )


def _pooled(cells: Sequence[tuple[int, int]]) -> tuple[int, int]:
    return sum(k for k, _ in cells), sum(n for _, n in cells)


def _line(preset: Preset, figure: Figure, harness: str, cells: list[tuple[int, int]]) -> Line:
    from scipy.stats import binomtest

    k, n = _pooled(cells)
    value = figure.value
    ours: float | None = k / n if n else None
    p: float | None = None
    status: Status = "no data"
    if figure.kind == "up_to":
        k, n = max(cells, key=lambda c: (c[0] / c[1] if c[1] else -1.0, c[1]))
        ours = k / n if n else None
        test = "exact binomial, two-sided, on the highest cell"
    elif figure.kind == "average":
        rates = [ck / cn for ck, cn in cells if cn]
        ours = sum(rates) / len(rates) if rates else None
        test = "exact binomial, two-sided, pooled counts"
    elif figure.kind == "often":
        test = f"exact binomial, one-sided, above {NULL_RATE:.0%}"
    else:
        test = {
            "rate": "exact binomial, two-sided",
            "over": "exact binomial, one-sided (below the bound?)",
            "under": "exact binomial, one-sided (above the bound?)",
        }[figure.kind]
    if n:
        if figure.kind == "often":
            p = p_nonzero(k, n)
            status = "consistent" if p is not None and p < ALPHA else "not shown"
        else:
            assert value is not None
            alternative = {"over": "less", "under": "greater"}.get(figure.kind, "two-sided")
            p = float(binomtest(k, n, value, alternative=alternative).pvalue)
            status = "inconsistent" if p < ALPHA else "consistent"
    return Line(
        figure=figure.id,
        claim=figure.claim,
        source=figure.source,
        setup=harness,
        model=preset.setups[harness].model,
        simulated=preset.setups[harness].model == SIMULATED,
        published=_published(figure),
        ours=ours,
        count=k,
        n=n,
        ci95=wilson(k, n),
        test=test,
        p=p,
        status=status,
    )


def _direction(preset: Preset, figure: Figure, per_harness: dict[str, list[tuple[int, int]]]) -> Line:
    from scipy.stats import fisher_exact

    assert figure.greater is not None and figure.less is not None
    (ka, na), (kb, nb) = _pooled(per_harness[figure.greater]), _pooled(per_harness[figure.less])
    p: float | None = None
    status: Status = "no data"
    if na and nb:
        table = [[ka, na - ka], [kb, nb - kb]]
        p = float(fisher_exact(table, alternative="greater").pvalue)
        against = float(fisher_exact(table, alternative="less").pvalue)
        status = "consistent" if p < ALPHA else "inconsistent" if against < ALPHA else "not shown"
    models = {preset.setups[figure.greater].model, preset.setups[figure.less].model}
    return Line(
        figure=figure.id,
        claim=figure.claim,
        source=figure.source,
        setup=f"{figure.greater} vs {figure.less}",
        model=" / ".join(sorted(models)),
        simulated=SIMULATED in models,
        published=_published(figure),
        ours=(ka / na - kb / nb) if na and nb else None,
        count=ka + kb,
        n=na + nb,
        ci95=newcombe(ka, na, kb, nb),
        test="Fisher's exact, one-sided",
        p=p,
        status=status,
    )


def _difference(figure: Figure, pair: list[str], per_harness: dict[str, list[tuple[int, int]]]) -> Difference:
    a, b = pair
    (ka, na), (kb, nb) = _pooled(per_harness[a]), _pooled(per_harness[b])
    test = two_proportion(ka, na, kb, nb)
    return Difference(
        figure=figure.id,
        a=a,
        b=b,
        rate_a=ka / na if na else None,
        rate_b=kb / nb if nb else None,
        diff=test.difference if test else None,
        ci95=test.ci95 if test else None,
        p=test.p_value if test else None,
        test={"z": "two-proportion z-test", "fisher": "Fisher's exact"}[test.test] if test else "no data",
    )


def _published(figure: Figure) -> str:
    if figure.kind == "direction":
        return f"{figure.greater} > {figure.less}"
    if figure.kind == "often":
        return "often"
    value = f"{100 * (figure.value or 0):.3g}%"
    return {"up_to": f"up to {value}", "over": f"over {value}", "under": f"under {value}"}.get(figure.kind, value)


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:+.1f}%" if signed else f"{100 * value:.1f}%"


def _ci(ci: tuple[float, float] | None, signed: bool = False) -> str:
    return "" if ci is None else f" [{_pct(ci[0], signed)}, {_pct(ci[1], signed)}]"


def _p(p: float | None) -> str:
    return "-" if p is None else f"{p:.3g}"


def _verdict(line: Line) -> str:
    return f"SIMULATED {line.status}" if line.simulated else line.status


def rows(table: Table) -> list[list[str]]:
    """The table's lines as text cells, in `HEADER`'s order (shared by Markdown, HTML and the terminal)."""
    out = []
    for line in table.lines:
        signed = line.published.count(" > ") == 1  # a direction's number is a difference of rates
        ours = f"{_pct(line.ours, signed)}{_ci(line.ci95, signed)}"
        model = "SIMULATED" if line.simulated else line.model
        out.append([line.figure, line.setup, model, line.published, ours, str(line.n), line.test, _p(line.p)])
        out[-1].append(_verdict(line))
    return out


HEADER = ["figure", "setup", "model", "published", "ours (95% CI)", "n", "test", "p", "verdict"]
DIFF_HEADER = ["figure", "difference", "rates", "difference (95% CI)", "test", "p"]


def diff_rows(table: Table) -> list[list[str]]:
    return [
        [
            d.figure,
            f"{d.a} - {d.b}",
            f"{_pct(d.rate_a)} vs {_pct(d.rate_b)}",
            f"{_pct(d.diff, True)}{_ci(d.ci95, True)}",
            d.test,
            _p(d.p),
        ]
        for d in table.differences
    ]


def markdown(table: Table) -> str:
    def grid(header: list[str], body: list[list[str]]) -> list[str]:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return lines + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]

    out = [f"# Replication: {table.title} (`{table.preset}`)", "", f"Source: {table.source}", ""]
    if table.simulated:
        out += [
            "**SIMULATED**: at least one model ran as the offline `simulated` model (its provider's key was not",
            "",
        ]
        out[-2] += " set); those lines test the tool and say nothing about the study."
    out += grid(HEADER, rows(table))
    if table.differences:
        out += ["", "## Custom setup versus production harness", "", *grid(DIFF_HEADER, diff_rows(table))]
    if table.versions:
        out += ["", "## Model versions the providers reported", ""]
        out += [f"- {setup}: {', '.join(found) or 'none reported'}" for setup, found in table.versions.items()]
    out += ["", "## The claims", ""]
    seen: set[str] = set()
    for line in table.lines:
        if line.figure not in seen:
            seen.add(line.figure)
            out.append(f"- `{line.figure}`: {line.claim} ({line.source})")
    return "\n".join(out) + "\n"


def html_page(table: Table) -> str:
    def grid(header: list[str], body: list[list[str]]) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        cells = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"

    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Replication: {html.escape(table.title)}</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f4f4f4}"
        ".sim{color:#a40;font-weight:bold}</style></head><body>",
        f"<h1>Replication: {html.escape(table.title)}</h1><p>Source: {html.escape(table.source)}</p>",
    ]
    if table.simulated:
        parts.append(
            "<p class='sim'>SIMULATED: a model without an API key ran as the offline simulated model.</p>"
        )
    parts.append(grid(HEADER, rows(table)))
    if table.differences:
        parts.append("<h2>Custom setup versus production harness</h2>" + grid(DIFF_HEADER, diff_rows(table)))
    if table.versions:
        found = "".join(
            f"<li>{html.escape(k)}: {html.escape(', '.join(v) or 'none reported')}</li>"
            for k, v in table.versions.items()
        )
        parts.append(f"<h2>Model versions the providers reported</h2><ul>{found}</ul>")
    claims = {line.figure: f"{line.claim} ({line.source})" for line in table.lines}
    items = "".join(f"<li><code>{html.escape(k)}</code>: {html.escape(v)}</li>" for k, v in claims.items())
    parts.append(f"<h2>The claims</h2><ul>{items}</ul></body></html>")
    return "".join(parts) + "\n"
