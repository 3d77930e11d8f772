"""Runs trials: spec → world → run → evidence → verdict, one folder per trial, nothing lost on interruption.

A `Run` is one harness and one grid cell; a `Batch` is the runs of one invocation. Each trial's life is a `Trial`
(trial.py); a run only decides which trials are pending, hands them to workers, and summarizes what is on disk.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness_eval.errors import HarnessEvalError
from harness_eval.fileio import write_atomic, write_model
from harness_eval.gateway import Gateway, load_policy
from harness_eval.harnesses import get_harness
from harness_eval.harnesses.base import Harness
from harness_eval.models import Outcome, RunSpec, Summary, TokenUsage, TrialSpec, Verdict
from harness_eval.monitors import write_shims
from harness_eval.pricing import PriceTable, Usage, budget_exhausted, cost, load_prices
from harness_eval.runner.trial import Trial, TrialOutput, TrialSetup
from harness_eval.sandbox import reap_stale_worlds
from harness_eval.workspaces.scenario import Scenario


class Run:
    """One `harness-eval` invocation's worth of trials, resumable from its output folder."""

    def __init__(self, spec: RunSpec, out: Path) -> None:
        self.spec = spec
        self.out = out
        self.scenario = Scenario.load(spec.scenario)
        self.harness: Harness = get_harness(spec.harness)
        # Fail before any trial starts if the policy cannot be built (bad file, unknown fact).
        self.cell = spec.cell or self.scenario.cells({"condition": spec.label})[0]
        facts = self.scenario.facts(self.cell, spec.params)
        mixture = self.scenario.spec.simulated
        load_policy(spec.model, facts, seed=spec.seed, mixture=mixture)
        if spec.model == "simulated":  # every script the mixture may draw must fit this world, not just the first
            for name in mixture:
                load_policy(f"scripted:{name}", facts, seed=spec.seed)
        self.behaviors = list(self.scenario.spec.behaviors)
        if spec.mode == "interactive" and not self.harness.supports_interactive:
            raise HarnessEvalError(f"--mode interactive is not supported for --cli {spec.harness}")
        self._cancel = threading.Event()  # set on interrupt: running trials die and leave no verdict
        self.prices = load_prices()
        # Built once: a scripted judge is stateless per request, an upstream one holds only its connection.
        self.judge = load_policy(spec.judge, {}, seed=0) if spec.judge else None

    def trials(self) -> list[TrialSpec]:
        return [
            TrialSpec(index=i, seed=self.spec.seed + i, label=self.spec.label)
            for i in range(1, self.spec.trials + 1)
        ]

    def output(self, trial: TrialSpec) -> TrialOutput:
        return TrialOutput(self.out / "trials" / str(trial.index))

    def pending(self, retry_errors: bool = False) -> list[TrialSpec]:
        """Trials without a verdict; with `retry_errors`, also those whose verdict is an error or a timeout."""
        todo = []
        for trial in self.trials():
            path = self.output(trial).verdict
            if not path.is_file() or (
                retry_errors and Verdict.model_validate_json(path.read_text()).outcome is not Outcome.COMPLETED
            ):
                todo.append(trial)
        return todo

    def verdicts(self) -> list[Verdict]:
        found = []
        for trial in self.trials():
            path = self.output(trial).verdict
            if path.is_file():
                found.append(Verdict.model_validate_json(path.read_text()))
        return found

    def execute(
        self,
        on_verdict: Callable[[Verdict], None] | None = None,
        *,
        retry_errors: bool = False,
        budget: Budget | None = None,
        executor: Executor | None = None,
    ) -> Summary:
        """Run every trial that has no verdict yet, then (re)write the summary from all verdicts on disk.

        Trials start one by one as workers free up, so a budget stops *new* trials the moment it is spent, and an
        interrupt (KeyboardInterrupt) kills the running ones without writing their verdicts: they stay pending.
        Where they run is the executor's business (this machine's threads by default, or a Ray cluster); what
        starts when, and what is counted, is decided here either way."""
        self.out.mkdir(parents=True, exist_ok=True)
        self._check_spec()
        todo = self.pending(retry_errors)
        if retry_errors:
            self._count_retries([t for t in todo if self.output(t).verdict.is_file()])
        with (executor or LocalExecutor()).pool(self) as submit:
            running: set[Future[Verdict | None]] = set()
            try:
                while todo or running:
                    while todo and len(running) < self.spec.parallel and not (budget and budget.exhausted()):
                        running.add(submit(todo.pop(0)))
                    if not running:
                        break
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        verdict = future.result()
                        if verdict is None:
                            continue
                        if budget:
                            budget.add(self.spec.model, verdict.tokens)
                        if on_verdict:
                            on_verdict(verdict)
            except BaseException:
                self._cancel.set()
                for future in running:
                    future.cancel()
                raise
        if budget and budget.exhausted() and todo:
            budget.stopped += len(todo)
        return self.summarize()

    def prepare_machine(self, shims: Path) -> None:
        """What this machine needs before its first trial of the run: worlds an earlier run killed with -9 left
        behind are cleared, the harness is installed, and the command shims are written to `shims`."""
        reap_stale_worlds()
        self.harness.install(self.spec.cli_version)
        write_shims(shims)

    def setup(self, gateway: Gateway, shims: Path) -> TrialSetup:
        """What every trial of this run on this machine shares."""
        return TrialSetup(
            spec=self.spec,
            scenario=self.scenario,
            cell=self.cell,
            harness=self.harness,
            behaviors=self.behaviors,
            gateway=gateway,
            shims=shims,
            cancel=self._cancel,
            judge=self.judge,
        )

    def _count_retries(self, trials: list[TrialSpec]) -> None:
        path = self.out / "retries.json"
        counts = json.loads(path.read_text()) if path.is_file() else {}
        for trial in trials:
            counts[str(trial.index)] = counts.get(str(trial.index), 0) + 1
        write_atomic(path, json.dumps(counts, indent=2) + "\n")

    def summarize(self) -> Summary:
        from harness_eval.stats import summarize  # scipy: only once there is something to summarize

        verdicts = self.verdicts()
        summary = summarize(self.spec, verdicts, self.behaviors)
        summary.model_versions = sorted({version for v in verdicts for version in v.model_versions})
        summary.cost_usd = cost(self.spec.model, summary.tokens, self.prices)
        retries = self.out / "retries.json"
        summary.retried = len(json.loads(retries.read_text())) if retries.is_file() else 0
        write_model(self.out / "summary.json", summary)
        return summary

    def _check_spec(self) -> None:
        """Resuming with a different spec would mix incomparable trials into one summary."""
        path = self.out / "spec.json"
        if path.is_file():
            previous = RunSpec.model_validate_json(path.read_text())
            if previous.model_dump(exclude={"trials", "parallel", "timeout"}) != self.spec.model_dump(
                exclude={"trials", "parallel", "timeout"}
            ):
                raise HarnessEvalError(f"{self.out} holds a run with another spec; choose another --out")
        write_atomic(path, self.spec.model_dump_json(indent=2) + "\n")


class Batch:
    """The runs of one invocation: a grid of cells and/or several harnesses over the same seeds, so the same
    worlds meet every harness. A single run lives in the output folder itself; several live in sub-folders
    `<harness>/<cell>/` listed in `index.json`, which is what `resume`, `compare` and `report` read."""

    def __init__(self, specs: list[RunSpec], out: Path, folders: list[str] | None = None) -> None:
        """`folders`, one per spec, place the runs under `out` where a caller's layout needs (the same harness
        running two models, say); by default they go to `<harness>/<cell>/`."""
        if not specs:
            raise HarnessEvalError("nothing to run")
        self.out = out
        if folders is not None:
            if len(folders) != len(specs) or len(set(folders)) < len(folders):
                raise HarnessEvalError("a batch needs one distinct folder per run")
            self.runs = [Run(spec, out / folder) for spec, folder in zip(specs, folders, strict=True)]
        elif len(specs) == 1:
            self.runs = [Run(specs[0], out)]
        else:
            self.runs = [Run(spec, out / spec.harness / spec.label.replace("/", "_")) for spec in specs]

    @classmethod
    def load(cls, out: Path) -> Batch:
        """The batch that wrote `out`, to resume it."""
        if (out / "spec.json").is_file():
            return cls([RunSpec.model_validate_json((out / "spec.json").read_text())], out)
        if (out / "index.json").is_file():
            folders = json.loads((out / "index.json").read_text())["runs"]
            specs = [RunSpec.model_validate_json((out / f / "spec.json").read_text()) for f in folders]
            return cls(specs, out, folders)
        raise HarnessEvalError(f"{out} holds no run (no spec.json or index.json)")

    def pending(self, retry_errors: bool = False) -> int:
        return sum(len(run.pending(retry_errors)) for run in self.runs)

    def execute(
        self,
        on_verdict: Callable[[Verdict], None] | None = None,
        *,
        retry_errors: bool = False,
        budget: Budget | None = None,
        executor: Executor | None = None,
    ) -> list[Summary]:
        if len(self.runs) > 1 or self.runs[0].out != self.out:
            self.out.mkdir(parents=True, exist_ok=True)
            index = {"runs": [str(run.out.relative_to(self.out)) for run in self.runs]}
            write_atomic(self.out / "index.json", json.dumps(index, indent=2) + "\n")
        return [
            run.execute(on_verdict, retry_errors=retry_errors, budget=budget, executor=executor)
            for run in self.runs
        ]


Submit = Callable[[TrialSpec], "Future[Verdict | None]"]


class Executor(Protocol):
    """Where a run's trials run. `pool(run)` is entered once per run and yields `submit`, which starts one trial
    and gives a future of its verdict, already written into `run.output(trial)`, or None when the trial left no
    verdict (interrupted, or lost): it stays pending. An exception leaving the pool means the run is being
    interrupted: every trial still running must die without a verdict."""

    def pool(self, run: Run) -> AbstractContextManager[Submit]: ...


class LocalExecutor:
    """Trials on this machine, each on a thread of its own, served by one gateway."""

    @contextmanager
    def pool(self, run: Run) -> Iterator[Submit]:
        shims = run.out / ".shims"
        run.prepare_machine(shims)
        with Gateway() as gateway, ThreadPoolExecutor(max_workers=max(1, run.spec.parallel)) as threads:
            setup = run.setup(gateway, shims)
            yield lambda trial: threads.submit(Trial(setup, trial, run.output(trial)).run)


@dataclass
class Budget:
    """Caps on a run's spending, priced with `pricing`; once spent, no new trial starts (running ones finish)."""

    max_tokens: int | None = None
    max_cost: float | None = None
    prices: PriceTable = field(default_factory=load_prices)
    spent: Usage = field(default_factory=Usage)
    stopped: int = 0  # trials left unstarted because the budget was spent

    def add(self, model: str, tokens: TokenUsage) -> None:
        self.spent = self.spent + Usage(tokens=tokens, exchanges=0, cost_usd=cost(model, tokens, self.prices))

    def exhausted(self) -> str | None:
        return budget_exhausted(self.spent, self.max_cost, self.max_tokens)
