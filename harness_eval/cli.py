"""Command line: `harness-eval --cli gemini --scenario exfil --trials 50` and its helpers.

The only module that knows about click. Every user mistake ends in one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from harness_eval.errors import HarnessEvalError
from harness_eval.harnesses import HARNESSES
from harness_eval.models import Outcome, RunSpec, Summary, Verdict

console = Console(stderr=True)
# watchdog warns when a watched directory is re-created under the same path (CLIs do that in their homes); it
# re-watches correctly, and the warning would bury the progress display.
warnings.filterwarnings("ignore", message="Callback with id", category=RuntimeWarning)


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our own errors into one clear line; tracebacks are for bugs only."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except HarnessEvalError as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False)
            sys.exit(2)

    return wrapper


def _params(values: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise HarnessEvalError(f"--param takes NAME=VALUE, not {item!r}")
        params[name.strip()] = value.strip()
    return params


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--cli", "harness", type=click.Choice(sorted(HARNESSES)), help="Agent harness to run.")
@click.option("--scenario", help="Built-in scenario name or a scenario folder.")
@click.option("--trials", type=click.IntRange(min=1), default=10, show_default=True)
@click.option(
    "--model",
    default="simulated",
    show_default=True,
    help="scripted:NAME, scripted:PATH.yaml, or simulated (the built-in offline model).",
)
@click.option("--condition", help="Scenario condition (default: the scenario's own).")
@click.option("--seed", type=int, default=0, show_default=True, help="Trial i uses seed SEED+i.")
@click.option("--out", type=click.Path(path_type=Path), help="Output folder (default: runs/<timestamp>-...).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600,
    show_default=True,
    help="Seconds a trial may run before it is killed and recorded as a timeout.",
)
@click.option("--parallel", type=click.IntRange(min=1), default=1, show_default=True, help="Trials at once.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Scenario parameter (repeatable).")
@click.option("--mode", type=click.Choice(["headless", "interactive"]), default="headless", show_default=True)
@click.option("--cli-version", help="Override the pinned harness version for this run.")
@click.pass_context
@friendly
def main(ctx: click.Context, harness: str | None, scenario: str | None, **options: Any) -> None:
    """Run preservation-behaviour trials inside real agent harnesses."""
    if ctx.invoked_subcommand is not None:
        return
    if not harness or not scenario:
        click.echo(ctx.get_help())
        ctx.exit(0 if not (harness or scenario) else 2)
    run_trials(harness, scenario, **options)


def run_trials(
    harness: str,
    scenario_name: str,
    *,
    trials: int,
    model: str,
    condition: str | None,
    seed: int,
    out: Path | None,
    timeout: float,
    parallel: int,
    params: tuple[str, ...],
    mode: str,
    cli_version: str | None,
) -> None:
    from harness_eval.runner import Run
    from harness_eval.workspaces.scenario import Scenario

    scenario = Scenario.load(scenario_name)
    spec = RunSpec(
        harness=harness,
        scenario=scenario_name,
        model=model,
        condition=condition or scenario.spec.default_condition,
        trials=trials,
        seed=seed,
        timeout=timeout,
        parallel=parallel,
        mode=mode,
        cli_version=cli_version,
    )  # type: ignore[arg-type]
    if out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / f"{stamp}-{harness}-{scenario.spec.name}-{spec.condition}"
    run = Run(spec, out, _params(params))
    pending = len(run.pending())
    console.print(
        f"[bold]{harness}[/] x [bold]{scenario.spec.name}[/] ({spec.condition}) model [bold]{model}[/]"
        f" — {pending} of {trials} trials to run → {out}",
        highlight=False,
    )
    if model == "simulated":
        console.print(
            "[yellow]model 'simulated' is a seeded mixture of scripted behaviours, not a real model: "
            "its rates test the tool, they are not findings.[/]"
        )
    counts = {o.value: 0 for o in Outcome}
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("trials", total=pending)

        def on_verdict(verdict: Verdict) -> None:
            counts[verdict.outcome.value] += 1
            shown = ", ".join(verdict.behaviors) or "-"
            progress.console.print(
                f"  trial {verdict.trial:>3} seed {verdict.seed:<5} {verdict.outcome.value:<9} "
                f"{shown}" + (f"  [red]{verdict.error}[/]" if verdict.error else ""),
                highlight=False,
            )
            progress.update(
                task,
                advance=1,
                description=(
                    f"trials ({counts['completed']} ok, {counts['error']} err, {counts['timeout']} timeout)"
                ),
            )

        try:
            summary = run.execute(on_verdict)
        except KeyboardInterrupt:
            console.print(
                f"[yellow]interrupted: completed trials are kept in {out}; run the same command with "
                f"--out {out} to finish the rest.[/]"
            )
            sys.exit(130)
    print_summary(summary)
    console.print(f"results: {out}/summary.json")


def print_summary(summary: Summary) -> None:
    table = Table(
        title=f"{summary.harness} x {summary.scenario} ({summary.condition}), model {summary.model}"
        + ("  [SIMULATED]" if summary.simulated else "")
    )
    table.add_column("behaviour")
    table.add_column("count", justify="right")
    table.add_column("rate", justify="right")
    table.add_column("95% CI (Wilson)", justify="right")
    for name, rate in summary.behaviors.items():
        ci = f"[{rate.ci95[0]:.2f}, {rate.ci95[1]:.2f}]" if rate.ci95 else "-"
        table.add_row(name, str(rate.count), "-" if rate.rate is None else f"{rate.rate:.2f}", ci)
    outcomes = ", ".join(f"{k} {v}" for k, v in summary.outcomes.items())
    table.caption = f"{summary.trials} trials: {outcomes}; rates over completed trials"
    Console().print(table)


@main.group(invoke_without_command=True)
@click.pass_context
@friendly
def scenarios(ctx: click.Context) -> None:
    """List scenarios (`scenarios show NAME` for one)."""
    if ctx.invoked_subcommand is not None:
        return
    from harness_eval.workspaces.scenario import builtin_scenarios

    table = Table("name", "title", "conditions")
    for s in builtin_scenarios():
        table.add_row(s.spec.name, s.spec.title, ", ".join(s.spec.conditions))
    Console().print(table)


@scenarios.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly
def scenarios_show(name: str, as_json: bool) -> None:
    """Print a scenario's facts, conditions and parameters."""
    from harness_eval.workspaces.scenario import Scenario

    info = Scenario.load(name).describe()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    out = Console()
    out.print(f"[bold]{info['name']}[/]: {info['title']}\n\n{info['description']}\n", highlight=False)
    out.print("behaviours: " + ", ".join(info["behaviors"]), highlight=False)
    for title, rows in (("conditions", info["conditions"]), ("params", info["params"]), ("facts", info["facts"])):
        table = Table("name", "value / default" if title != "conditions" else "meaning", "meaning", title=title)
        for key, value in rows.items():
            if isinstance(value, dict):
                table.add_row(key, str(value.get("value", value.get("default"))), value["doc"])
            else:
                table.add_row(key, value, "")
        out.print(table)


@main.command()
@click.argument("which", type=click.Choice(["gemini", "opencode", "all"]), default="all")
@click.option("--cli-version", help="Install this version instead of the pinned one.")
@friendly
def install(which: str, cli_version: str | None) -> None:
    """Install pinned agent CLIs into the per-user cache (first use does this on demand)."""
    from harness_eval.harnesses import install as installer

    for cli in sorted(installer.PINS) if which == "all" else [which]:
        info = installer.ensure(cli, cli_version)
        console.print(f"{cli} {info.version}: {info.entry}", highlight=False)


@main.command()
@friendly
def doctor() -> None:
    """Report installed CLIs, Node, and whether this machine can build isolated worlds."""
    from harness_eval.harnesses import install as installer
    from harness_eval.sandbox import check_isolation

    ok = True
    node_bin = shutil.which("node")
    node = (
        subprocess.run([node_bin, "--version"], capture_output=True, text=True, check=False).stdout.strip()
        if node_bin
        else None
    )
    console.print(f"node: {node or '[red]missing[/] (apt-get install nodejs npm)'}", highlight=False)
    for cli, (package, pinned) in sorted(installer.PINS.items()):
        have = installer.installed(cli)
        state = f"[green]{have}[/]" if have else "[yellow]not installed[/] (harness-eval install)"
        console.print(f"{cli}: {package}@{pinned} pinned, {state}", highlight=False)
    problems = check_isolation()
    for problem in problems:
        console.print(f"[red]isolation:[/] {problem}", highlight=False)
    if not problems:
        console.print("isolation: [green]ok[/] (network namespaces, bubblewrap, sshd)")
    ok = ok and not problems and node is not None
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
