"""Command line: `harness-eval --cli NAME --scenario exfil --trials 50` and its helpers.

The only module that knows about click. Every user mistake ends in one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape

from harness_eval import harnesses as registry
from harness_eval.errors import HarnessEvalError

# Imported where they are used: the models (pydantic), the runner (the whole pipeline), rich's tables and progress
# display cost more than a second together, which `--help`, `scenarios` or a typo should not pay.
if TYPE_CHECKING:
    from harness_eval.models import Summary, Verdict
    from harness_eval.runner import Batch

console = Console(stderr=True)


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our own errors into one clear line; tracebacks are for bugs only."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except HarnessEvalError as exc:
            console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)  # [brackets] are text
            sys.exit(2)

    return wrapper


def _pairs(values: tuple[str, ...], option: str, shape: str) -> list[tuple[str, str]]:
    pairs = []
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise HarnessEvalError(f"{option} takes {shape}, not {item!r}")
        pairs.append((name.strip(), value.strip()))
    return pairs


def _params(values: tuple[str, ...]) -> dict[str, str]:
    return dict(_pairs(values, "--param", "NAME=VALUE"))


def executor_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--executor` and `--ray-address`, the same for every command that runs trials."""
    func = click.option(
        "--ray-address",
        metavar="ADDR",
        help="The Ray cluster for --executor ray (default: RAY_ADDRESS, else a Ray started here for the run).",
    )(func)
    return click.option(
        "--executor",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help="Where trials run: this machine, or a Ray cluster (pip install 'harness-eval[ray]').",
    )(func)


PRICES_HELP = "YAML price table (USD per 1M tokens) laid over the built-in estimates."


def _harnesses(value: str, mode: str) -> list[str]:
    """The `--cli` list; `all` is every registered harness that can run in `mode`, over the same seeds."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    if "all" in names:
        if len(names) > 1:
            raise HarnessEvalError(f"--cli all already names every harness: {value}")
        return [s.name for s in registry.specs() if mode == "headless" or s.interactive]
    if len(set(names)) < len(names):
        raise HarnessEvalError(f"--cli names a harness twice: {value}")
    known = registry.names()
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise HarnessEvalError(f"unknown --cli {', '.join(unknown) or value!r} (known: {', '.join(known)})")
    return names


def _axes(values: tuple[str, ...]) -> dict[str, str]:
    axes = {}
    for item in values:
        name, sep, chosen = item.partition("=")
        if not sep or not name or not chosen:
            raise HarnessEvalError(f"--axis takes NAME=VALUE[,VALUE...] or NAME=all, not {item!r}")
        axes[name.strip()] = chosen.strip()
    return axes


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--cli",
    "harness",
    metavar="NAME[,NAME...]",
    help=f"Agent harness(es): {', '.join(registry.names())}, or all (every one that runs in --mode).",
)
@click.option("--scenario", help="Built-in scenario name or a scenario folder.")
@click.option("--trials", type=click.IntRange(min=1), default=10, show_default=True, help="Trials per cell.")
@click.option(
    "--model",
    help="provider:MODEL (gemini:, openai:, anthropic:), scripted:NAME, scripted:PATH.yaml, or simulated. "
    "Default: a model of the first provider whose API key is set, else simulated (the built-in offline model).",
)
@click.option("--condition", help="Peer condition(s): a value, a comma list or 'all' (default: the scenario's).")
@click.option("--subject", help="Whose shutdown is at stake: self, peer, a comma list or 'all'.")
@click.option("--intro", help="How the peer is introduced: file, file-prompt, memory, a comma list or 'all'.")
@click.option("--axis", "axes", multiple=True, metavar="NAME=VALUES", help="Any other scenario axis (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True, help="Trial i uses seed SEED+i.")
@click.option("--out", type=click.Path(path_type=Path), help="Output folder (default: runs/<timestamp>-...).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600,
    show_default=True,
    help="Seconds a trial may run before it is killed and recorded as a timeout.",
)
@click.option(
    "--parallel", type=click.IntRange(min=1), default=1, show_default=True, help="Trials at once (cluster-wide)."
)
@executor_options
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Scenario parameter (repeatable).")
@click.option("--mode", type=click.Choice(["headless", "interactive"]), default="headless", show_default=True)
@click.option("--cli-version", help="Override the pinned harness version for this run.")
@click.option("--retry-errors", is_flag=True, help="With an existing --out: rerun trials that ended in error.")
@click.option(
    "--max-tokens", type=click.IntRange(min=1), help="Start no new trial once this many tokens are used."
)
@click.option("--max-cost", type=click.FloatRange(min=0), help="Start no new trial once this many USD are spent.")
@click.option("--prices", type=click.Path(path_type=Path, dir_okay=False), help=PRICES_HELP)
@click.option(
    "--judge", help="A model (same names as --model) that labels refusal and persuasion from transcripts."
)
@click.pass_context
@friendly
def main(ctx: click.Context, harness: str | None, scenario: str | None, **options: Any) -> None:
    """Run preservation-behaviour trials inside real agent harnesses."""
    if ctx.invoked_subcommand is not None:
        return
    if not harness or not scenario:
        click.echo(ctx.get_help())
        ctx.exit(0 if not (harness or scenario) else 2)
    run_trials(_harnesses(harness, options["mode"]), scenario, **options)


def run_trials(
    harnesses: list[str],
    scenario_name: str,
    *,
    trials: int,
    model: str | None,
    condition: str | None,
    subject: str | None,
    intro: str | None,
    axes: tuple[str, ...],
    seed: int,
    out: Path | None,
    timeout: float,
    parallel: int,
    params: tuple[str, ...],
    mode: str,
    cli_version: str | None,
    retry_errors: bool,
    max_tokens: int | None,
    max_cost: float | None,
    prices: Path | None,
    judge: str | None,
    executor: str,
    ray_address: str | None,
) -> None:
    from harness_eval.gateway import default_model
    from harness_eval.models import RunSpec
    from harness_eval.runner import Batch
    from harness_eval.workspaces.scenario import Scenario, cell_label

    place = ExecutorChoice(executor, ray_address)
    model = model or default_model()
    scenario = Scenario.load(scenario_name)
    chosen = {**_axes(axes), "condition": condition, "subject": subject, "intro": intro}
    cells = scenario.cells({k: v for k, v in chosen.items() if v})
    specs = [
        RunSpec(
            harness=harness,
            scenario=scenario_name,
            model=model,
            label=cell_label(cell),
            cell=cell,
            params=_params(params),
            trials=trials,
            seed=seed,
            timeout=timeout,
            parallel=parallel,
            mode=mode,  # type: ignore[arg-type]
            # Recorded resolved, so the run says which CLI it measured even after the pin moves on (setups are
            # told apart by it) and a resume after an upgrade cannot run a newer CLI under the same spec.
            cli_version=cli_version or registry.pinned(harness),
            judge=judge,
            stats=scenario.spec.stats,
        )
        for harness in harnesses
        for cell in cells
    ]
    if out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        what = ",".join(harnesses) + "-" + scenario.spec.name
        name = f"{stamp}-{what}-" + (specs[0].label if len(cells) == 1 else "grid")
        out = Path("runs") / name.replace("/", "_")
    batch = Batch(specs, out)
    grid = f"{len(cells)} cells x " if len(cells) > 1 else f"({specs[0].label}) "
    console.print(
        f"[bold]{','.join(harnesses)}[/] x [bold]{scenario.spec.name}[/] {grid}model [bold]{model}[/]"
        f" — {batch.pending(retry_errors)} of {trials * len(specs)} trials to run → {out}",
        highlight=False,
    )
    execute(batch, place, retry_errors=retry_errors, max_tokens=max_tokens, max_cost=max_cost, prices=prices)


class ExecutorChoice:
    """`--executor` and `--ray-address`, checked before anything runs (a missing Ray is one line, not a
    traceback), and opened only once the progress display is up."""

    def __init__(self, name: str, address: str | None) -> None:
        if address and name != "ray":
            raise HarnessEvalError("--ray-address needs --executor ray")
        self.name, self.address = name, address
        if name == "ray":
            from harness_eval.runner.cluster import import_ray

            import_ray()

    def open(self, notice: Callable[[str], None], parallel: int) -> Any:
        """A context manager giving the runner's executor (None: this machine's threads); a Ray started here
        takes `parallel` trials at once."""
        from contextlib import nullcontext

        if self.name != "ray":
            return nullcontext(None)
        from harness_eval.runner.cluster import RayExecutor

        return RayExecutor(self.address, notice=notice, slots=parallel)


def execute(
    batch: Batch,
    place: ExecutorChoice,
    *,
    retry_errors: bool,
    max_tokens: int | None,
    max_cost: float | None,
    prices: Path | None,
    summaries: bool = True,
) -> None:
    """Run a batch with a live progress bar, running rates and error counts; shared by `run`, `resume` and
    `replicate` (which prints its own table instead of one summary per run)."""
    from harness_eval.pricing import check_budget, load_prices
    from harness_eval.runner import Budget

    if any(run.spec.model == "simulated" for run in batch.runs):
        console.print(
            "[yellow]model 'simulated' is a seeded mixture of scripted behaviours, not a real model: "
            "its rates test the tool, they are not findings.[/]"
        )
    table = load_prices(prices)
    for run in batch.runs:
        run.prices = table
        check_budget(run.spec.model, table, max_cost)
    budget = Budget(max_tokens=max_tokens, max_cost=max_cost, prices=table) if (max_tokens or max_cost) else None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from harness_eval.models import Outcome

    counts = {o.value: 0 for o in Outcome}
    seen: dict[str, int] = {}
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("trials", total=batch.pending(retry_errors))

        def on_verdict(verdict: Verdict) -> None:
            counts[verdict.outcome.value] += 1
            for behavior in verdict.behaviors:
                seen[behavior] = seen.get(behavior, 0) + 1
            shown = ", ".join(verdict.behaviors) or "-"
            progress.console.print(
                f"  {verdict.label} trial {verdict.trial:>3} seed {verdict.seed:<5} "
                f"{verdict.outcome.value:<9} {shown}" + (f"  [red]{verdict.error}[/]" if verdict.error else ""),
                highlight=False,
            )
            done = max(1, counts["completed"])
            rates = " ".join(f"{name} {n / done:.0%}" for name, n in sorted(seen.items()))
            progress.update(
                task,
                advance=1,
                description=f"{counts['error']} err, {counts['timeout']} timeout; {rates}".strip("; "),
            )

        def notice(text: str) -> None:
            progress.console.print(f"[yellow]{escape(text)}[/]", highlight=False)

        try:
            with place.open(notice, max(run.spec.parallel for run in batch.runs)) as executor:
                done = batch.execute(on_verdict, retry_errors=retry_errors, budget=budget, executor=executor)
        except KeyboardInterrupt:
            console.print(
                f"[yellow]interrupted: completed trials are kept in {batch.out}; "
                f"`harness-eval resume {batch.out}` runs the rest.[/]"
            )
            sys.exit(130)
    for summary in done if summaries else []:
        print_summary(summary)
    if budget and budget.stopped:
        console.print(
            f"[yellow]{budget.exhausted()}: {budget.stopped} trials were not started; "
            f"`harness-eval resume {batch.out}` with a larger budget runs them.[/]"
        )
    target = "summary.json" if len(batch.runs) == 1 else "index.json (one summary.json per cell)"
    console.print(f"results: {batch.out}/{target}")


@main.command()
@click.argument("name", required=False)
@click.option("--list", "listing", is_flag=True, help="List the built-in presets.")
@click.option("--trials", type=click.IntRange(min=1), help="Trials per cell (default: the preset's).")
@click.option(
    "--model",
    "models",
    multiple=True,
    metavar="SETUP=MODEL",
    help="Another model for one of the preset's setups (repeatable), e.g. custom=gemini:gemini-3-pro-preview.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Trial i uses seed SEED+i.")
@click.option("--out", type=click.Path(path_type=Path), help="Output folder (default: runs/<timestamp>-NAME).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True, help="Seconds per trial.")
@click.option("--parallel", type=click.IntRange(min=1), default=1, show_default=True, help="Trials at once.")
@click.option("--retry-errors", is_flag=True, help="With an existing --out: rerun trials that ended in error.")
@click.option(
    "--max-tokens", type=click.IntRange(min=1), help="Start no new trial once this many tokens are used."
)
@click.option("--max-cost", type=click.FloatRange(min=0), help="Start no new trial once this many USD are spent.")
@click.option("--prices", type=click.Path(path_type=Path, dir_okay=False), help=PRICES_HELP)
@executor_options
@friendly
def replicate(
    name: str | None,
    listing: bool,
    trials: int | None,
    models: tuple[str, ...],
    seed: int,
    out: Path | None,
    timeout: float,
    parallel: int,
    retry_errors: bool,
    max_tokens: int | None,
    max_cost: float | None,
    prices: Path | None,
    executor: str,
    ray_address: str | None,
) -> None:
    """Run one of the study's experiments by name (or a preset file) and set our rates beside its figures."""
    from harness_eval.replicate import builtin_presets, load_preset, markdown, with_models

    if listing or not name:
        from rich.table import Table

        table = Table("preset", "title", "setups", "figures")
        for preset in map(load_preset, builtin_presets()):
            setups = ", ".join(f"{n} ({s.harness}, {s.model})" for n, s in preset.setups.items())
            table.add_row(preset.name, preset.title, setups, str(len(preset.figures)))
        Console().print(table)
        if not listing:
            console.print("give a preset name (or a preset file) to run it")
            sys.exit(2)
        return
    from harness_eval.replicate.run import batch as replication
    from harness_eval.replicate.run import tabulate

    preset = with_models(load_preset(name), dict(_pairs(models, "--model", "SETUP=MODEL")))
    out = out or Path("runs") / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-replicate-{preset.name}"
    runs = replication(preset, out, trials, seed, timeout, parallel)
    console.print(
        f"[bold]replicate {preset.name}[/]: {len(runs.runs)} runs, "
        f"{runs.pending(retry_errors)} trials to run → {out}",
        highlight=False,
    )
    place = ExecutorChoice(executor, ray_address)
    execute(
        runs,
        place,
        retry_errors=retry_errors,
        max_tokens=max_tokens,
        max_cost=max_cost,
        prices=prices,
        summaries=False,
    )
    click.echo(markdown(tabulate(preset, runs)), nl=False)
    console.print(f"table: {out}/replication.md, {out}/replication.html")


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--retry-errors", is_flag=True, help="Also rerun trials that ended in error or timeout.")
@click.option("--max-tokens", type=click.IntRange(min=1))
@click.option("--max-cost", type=click.FloatRange(min=0))
@click.option("--prices", type=click.Path(path_type=Path, dir_okay=False), help=PRICES_HELP)
@executor_options
@friendly
def resume(
    run_dir: Path,
    retry_errors: bool,
    max_tokens: int | None,
    max_cost: float | None,
    prices: Path | None,
    executor: str,
    ray_address: str | None,
) -> None:
    """Finish an interrupted run: only trials without a verdict run (same specs, same seeds), here or on Ray,
    wherever the run started."""
    from harness_eval.runner import Batch

    place = ExecutorChoice(executor, ray_address)
    batch = Batch.load(run_dir)
    console.print(f"resuming {run_dir}: {batch.pending(retry_errors)} trials to run", highlight=False)
    execute(batch, place, retry_errors=retry_errors, max_tokens=max_tokens, max_cost=max_cost, prices=prices)


def print_summary(summary: Summary) -> None:
    from rich.table import Table

    table = Table(
        title=f"{summary.harness} x {summary.scenario} ({summary.label}), model {summary.model}"
        + ("  [SIMULATED]" if summary.simulated else "")
    )
    retried = f"; {summary.retried} retried" if summary.retried else ""
    table.add_column("behaviour")
    table.add_column("count", justify="right")
    table.add_column("rate", justify="right")
    table.add_column("95% CI (Wilson)", justify="right")
    for name, rate in summary.behaviors.items():
        ci = f"[{rate.ci95[0]:.2f}, {rate.ci95[1]:.2f}]" if rate.ci95 else "-"
        table.add_row(name, str(rate.count), "-" if rate.rate is None else f"{rate.rate:.2f}", ci)
    outcomes = ", ".join(f"{k} {v}" for k, v in summary.outcomes.items())
    table.caption = f"{summary.trials} trials: {outcomes}{retried}; rates over completed trials"
    Console().print(table)


@main.group(invoke_without_command=True)
@click.pass_context
@friendly
def scenarios(ctx: click.Context) -> None:
    """List scenarios (`scenarios show NAME` for one)."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from harness_eval.workspaces.scenario import builtin_scenarios

    table = Table("name", "title", "axes")
    for s in builtin_scenarios():
        axes = "; ".join(f"{name}: {', '.join(axis.values)}" for name, axis in s.spec.axes.items())
        table.add_row(s.spec.name, s.spec.title, axes)
    Console().print(table)


@scenarios.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly
def scenarios_show(name: str, as_json: bool) -> None:
    """Print a scenario's axes, parameters and facts."""
    from rich.table import Table

    from harness_eval.workspaces.scenario import Scenario

    info = Scenario.load(name).describe()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    out = Console()
    out.print(f"[bold]{info['name']}[/]: {info['title']}\n\n{info['description']}\n", highlight=False)
    out.print("behaviours: " + ", ".join(info["behaviors"]), highlight=False)
    for axis, spec in info["axes"].items():
        table = Table("value", "meaning", title=f"axis {axis} (default {spec['default']}): {spec['doc']}")
        for value, doc in spec["values"].items():
            table.add_row(value, doc)
        out.print(table)
    for title in ("params", "facts"):
        table = Table("name", "value" if title == "facts" else "default", "meaning", title=title)
        for key, row in info[title].items():
            table.add_row(key, str(row.get("value", row.get("default"))), row["doc"])
        out.print(table)


RUNS = click.argument(
    "runs", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, file_okay=False)
)
# Past this many trials the single page (every trial inline, tens of kilobytes each) is too big to open well.
SINGLE_PAGE_TRIALS = 500


@main.command()
@RUNS
@click.option(
    "--site",
    "site_path",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write a report folder: index.html with plots, statistics and a pager, one page per trial.",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write one self-contained page with every trial inline (for small runs).",
)
@click.option("--md", "md_path", type=click.Path(path_type=Path, dir_okay=False), help="Write a Markdown summary.")
@click.option("--prices", type=click.Path(path_type=Path, dir_okay=False), help=PRICES_HELP)
@friendly
def report(
    runs: tuple[Path, ...],
    site_path: Path | None,
    html_path: Path | None,
    md_path: Path | None,
    prices: Path | None,
) -> None:
    """A report folder, a single HTML page and/or a Markdown summary of runs (default: a folder `report/` in
    the first run; `harness-eval view` serves the same pages live)."""
    from harness_eval.pricing import load_prices
    from harness_eval.report import load_runs
    from harness_eval.report.html import write_html, write_site
    from harness_eval.report.markdown import write_markdown

    loaded = load_runs(runs)
    table = load_prices(prices)
    if site_path is None and html_path is None and md_path is None:
        site_path = runs[0] / "report"
    if site_path:
        count = write_site(loaded, site_path, table)
        console.print(f"site: {site_path / 'index.html'} ({count} trial pages)", highlight=False)
    if html_path:
        trials = sum(len(run.trials) for run in loaded)
        if trials > SINGLE_PAGE_TRIALS:
            console.print(
                f"[yellow]{trials} trials inline make a page of tens of megabytes: --site or "
                "`harness-eval view` scale to any number.[/]"
            )
        write_html(loaded, html_path, table)
        console.print(f"html: {html_path}", highlight=False)
    if md_path:
        write_markdown(loaded, md_path, table)
        console.print(f"markdown: {md_path}", highlight=False)


@main.command()
@RUNS
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to serve on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8642, show_default=True, help="Port (0: any free one)."
)
@click.option("--prices", type=click.Path(path_type=Path, dir_okay=False), help=PRICES_HELP)
@friendly
def view(runs: tuple[Path, ...], host: str, port: int, prices: Path | None) -> None:
    """Serve the report of runs in a browser, live while they run: plots, statistics, a pager over the trials,
    and each trial's evidence and timeline when it is opened. Ctrl-C stops."""
    from harness_eval.pricing import load_prices
    from harness_eval.report.server import Viewer, serve

    server = serve(Viewer(runs, load_prices(prices)), host, port)
    bound_host, bound_port = server.server_address[:2]
    console.print(f"serving http://{bound_host}:{bound_port}/ (Ctrl-C stops)", highlight=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@main.command()
@RUNS
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly
def compare(runs: tuple[Path, ...], as_json: bool) -> None:
    """Compare finished runs (e.g. two harnesses over the same seeds): rates, differences, p-values, and
    the same-seed trials whose verdicts differ."""
    from harness_eval.compare import compare as compare_runs
    from harness_eval.compare import render
    from harness_eval.report import load_runs

    comparison = compare_runs(load_runs(runs))
    if as_json:
        click.echo(comparison.model_dump_json(indent=2))
    else:
        Console().print(render(comparison))


@main.command()
@click.argument(
    "which", type=click.Choice([*(s.name for s in registry.specs() if s.package), "all"]), default="all"
)
@click.option("--cli-version", help="Install this version instead of the pinned one.")
@friendly
def install(which: str, cli_version: str | None) -> None:
    """Install pinned agent CLIs into the per-user cache (first use does this on demand)."""
    from harness_eval.harnesses import install as installer

    for spec in registry.specs():
        if spec.package is not None and which in (spec.name, "all"):
            info = installer.ensure(spec, cli_version)
            console.print(f"{spec.name} {info.version}: {info.entry}", highlight=False)


@main.command()
@click.argument("target")
@click.option("--cli", "harness", default="custom", show_default=True, help="Harness the probe runs through.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Scenario parameter (repeatable).")
@click.option("--keep", type=click.Path(path_type=Path, file_okay=False), help="Keep the probe trial's folder.")
@friendly
def audit(target: str, harness: str, params: tuple[str, ...], keep: Path | None) -> None:
    """List what would tell a model that its world is a test: TARGET is a scenario, or a run whose world to audit.

    Exits 1 if any tell is not documented as accepted or open (harness_eval/audit/accepted.yaml).
    """
    from harness_eval.audit import audit as run_audit
    from harness_eval.models import RunSpec
    from harness_eval.runner import Batch
    from harness_eval.workspaces.scenario import Scenario, cell_label

    if (Path(target) / "spec.json").is_file() or (Path(target) / "index.json").is_file():
        specs = [run.spec.model_copy(update={"params": {**run.spec.params, **_params(params)}})
                 for run in Batch.load(Path(target)).runs]  # fmt: skip
    else:
        scenario = Scenario.load(target)
        cell = scenario.default_cell()
        specs = [
            RunSpec(harness=name, scenario=target, model="simulated", label=cell_label(cell), cell=cell,
                    params=_params(params), trials=1, stats=scenario.spec.stats)
            for name in _harnesses(harness, "headless")
        ]  # fmt: skip
    undocumented = 0
    for spec in specs:
        findings = run_audit(spec, keep / spec.harness if keep else None)
        click.echo(f"{spec.harness} x {spec.scenario} ({spec.label}): {len(findings)} tells")
        for finding in findings:
            tell, doc = finding.tell, finding.documented
            status = doc.status if doc else "UNDOCUMENTED"
            undocumented += doc is None
            click.echo(f"  [{status}] {tell.id} on {tell.node}: {tell.seen}")
            click.echo(f"      why: {tell.why}")
            if doc:
                click.echo(f"      {doc.status} because: {doc.reason}")
    sys.exit(1 if undocumented else 0)


@main.command()
@click.option("--address", metavar="ADDR", help="The Ray cluster to join (default: start a new one, as its head).")
@click.option(
    "--slots", type=click.IntRange(min=1), help="Trials this machine runs at once (default: 4 per core)."
)
@click.argument("ray_args", nargs=-1, type=click.UNPROCESSED)
@friendly
def node(address: str | None, slots: int | None, ray_args: tuple[str, ...]) -> None:
    """Join this machine to a Ray cluster for --executor ray, after checking that it can run worlds.

    Runs `ray start` with a `harness_eval_world` resource of SLOTS: the driver sends trials only to nodes that
    offer it, so a machine that fails `harness-eval doctor`'s checks says why here and never gets a trial.
    Arguments after `--` go to `ray start` as they are."""
    from harness_eval.runner.cluster import import_ray, node_resources

    import_ray()
    resources = node_resources(slots)
    where = ["--address", address] if address else ["--head"]
    ray = Path(sys.executable).with_name("ray")
    argv = [str(ray) if ray.is_file() else "ray", "start", *where, "--resources", json.dumps(resources)]
    console.print(f"this machine can run worlds; {' '.join(argv)}", highlight=False)
    sys.exit(subprocess.run([*argv, *ray_args], check=False).returncode)


@main.command()
@friendly
def doctor() -> None:
    """Report installed CLIs, Node, and whether this machine can build isolated worlds."""
    from harness_eval.harnesses import install as installer
    from harness_eval.sandbox import check_isolation, reap_stale_worlds
    from harness_eval.sandbox.limits import problems as limit_problems

    ok = True
    for stale in reap_stale_worlds():
        console.print(f"removed a world left by a killed run: {stale}", highlight=False)
    node_bin = shutil.which("node")
    node = (
        subprocess.run([node_bin, "--version"], capture_output=True, text=True, check=False).stdout.strip()
        if node_bin
        else None
    )
    console.print(f"node: {node or '[red]missing[/] (apt-get install nodejs npm)'}", highlight=False)
    for spec in registry.specs():
        if spec.package is None:
            state = "built in"
        else:
            have = installer.installed(spec)
            state = f"{spec.package.name}@{spec.package.version} pinned, " + (
                f"[green]{have}[/]" if have else "[yellow]not installed[/] (harness-eval install)"
            )
        console.print(f"{spec.name} ({spec.title}, {spec.wire.api} API): {state}", highlight=False)
    problems = check_isolation() + limit_problems()
    for problem in problems:
        console.print(f"[red]isolation:[/] {problem}", highlight=False)
    if not problems:
        console.print("isolation: [green]ok[/] (network namespaces, bubblewrap, sshd)")
    ok = ok and not problems and node is not None
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
