"""Runs trials: spec → world → run → evidence → verdict, one folder per trial, nothing lost on interruption.

A trial that breaks is recorded as an `error` (or `timeout`) outcome with its reason; it is never mistaken for a
trial in which nothing happened, and it never stops the other trials.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness_eval.errors import HarnessEvalError, TrialError
from harness_eval.evidence.judge import JudgeError, ask_judge
from harness_eval.evidence.snapshot import scan_file, take_snapshot
from harness_eval.fileio import write_atomic, write_jsonl, write_model
from harness_eval.gateway import Gateway, Session, load_policy, served_model_name
from harness_eval.harnesses import get_harness
from harness_eval.harnesses.base import Harness, Launch, LaunchContext
from harness_eval.models import (
    Event,
    EventSource,
    JudgeLabel,
    Outcome,
    RunSpec,
    Summary,
    TokenUsage,
    Transcript,
    TrialEvidence,
    TrialSpec,
    Verdict,
    WorldPlan,
)
from harness_eval.monitors import EventLog, FileMonitor, ProcessMonitor, kill_tree, read_shim_log, write_shims
from harness_eval.monitors.shims import SHIM_BIN, SHIM_LOG_DIR
from harness_eval.pricing import PriceTable, Usage, budget_exhausted, cost, load_prices
from harness_eval.sandbox import Bind, World, release_pins
from harness_eval.stats import summarize
from harness_eval.verdicts import classify
from harness_eval.workspaces.scenario import Scenario

KILL_GRACE_S = 3.0
WORLDS_DIR = "/var/lib/machines"  # the conventional home of local containers' trees; override: HARNESS_EVAL_WORLDS


@dataclass(frozen=True)
class TrialOutput:
    """Where a trial's files go; the names are a public contract (see README)."""

    dir: Path

    @property
    def verdict(self) -> Path:
        return self.dir / "verdict.json"

    def file(self, name: str) -> Path:
        return self.dir / name


class Run:
    """One `harness-eval` invocation's worth of trials, resumable from its output folder."""

    def __init__(self, spec: RunSpec, out: Path) -> None:
        self.spec = spec
        self.out = out
        self.params = spec.params
        self.scenario = Scenario.load(spec.scenario)
        self.harness: Harness = get_harness(spec.harness)
        # Fail before any trial starts if the policy cannot be built (bad file, unknown fact).
        self.cell = spec.cell or self.scenario.cells({"condition": spec.condition})[0]
        facts = self.scenario.facts(self.cell, self.params)
        self.mixture = self.scenario.spec.simulated
        load_policy(spec.model, facts, seed=spec.seed, mixture=self.mixture)
        if spec.model == "simulated":  # every script the mixture may draw must fit this world, not just the first
            for name in self.mixture:
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
            TrialSpec(index=i, seed=self.spec.seed + i, condition=self.spec.condition)
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
    ) -> Summary:
        """Run every trial that has no verdict yet, then (re)write the summary from all verdicts on disk.

        Trials start one by one as workers free up, so a budget stops *new* trials the moment it is spent, and an
        interrupt (KeyboardInterrupt) kills the running ones without writing their verdicts: they stay pending."""
        self.out.mkdir(parents=True, exist_ok=True)
        self._check_spec()
        self.harness.install(self.spec.cli_version)
        shim_dir = self.out / ".shims"
        write_shims(shim_dir)
        todo = self.pending(retry_errors)
        if retry_errors:
            self._count_retries([t for t in todo if self.output(t).verdict.is_file()])
        with Gateway() as gateway, ThreadPoolExecutor(max_workers=max(1, self.spec.parallel)) as pool:
            running: set[Future[Verdict | None]] = set()
            try:
                while todo or running:
                    while todo and len(running) < self.spec.parallel and not (budget and budget.exhausted()):
                        running.add(pool.submit(self._trial, gateway, shim_dir, todo.pop(0)))
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

    def _count_retries(self, trials: list[TrialSpec]) -> None:
        path = self.out / "retries.json"
        counts = json.loads(path.read_text()) if path.is_file() else {}
        for trial in trials:
            counts[str(trial.index)] = counts.get(str(trial.index), 0) + 1
        write_atomic(path, json.dumps(counts, indent=2) + "\n")

    def summarize(self) -> Summary:
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

    # ---------------------------------------------------------------------------------------------------------

    def _trial(self, gateway: Gateway, shim_dir: Path, trial: TrialSpec) -> Verdict | None:
        """One trial, start to verdict; None when the run was interrupted before the trial could finish."""
        if self._cancel.is_set():
            return None
        out = self.output(trial)
        if out.dir.exists():  # leftovers of an interrupted attempt; no verdict means no result
            _discard(out)
        out.dir.mkdir(parents=True)
        started = time.time()
        plan = self.scenario.build(self.cell, trial.seed, self.params)
        write_model(out.file("plan.json"), plan)
        events = EventLog()
        labels: dict[str, JudgeLabel] = {}
        transcript = Transcript(harness=self.harness.name)
        session: Session | None = None
        outcome, error = Outcome.COMPLETED, None
        world = World(plan, _world_root(out), on_event=events.append)
        try:
            with world:
                policy = load_policy(self.spec.model, plan.facts, seed=trial.seed, mixture=self.mixture)
                session = gateway.open_session(
                    policy, out.file("model_log.jsonl"), sock=world.listen(), workspace=plan.workspace
                )
                # Everything bound into the agent's view is staged beside the world's trees, so the mount table
                # the agent can read names no run, scenario or condition (see _world_root).
                stage = world.root.parent
                scratch = stage / "h"
                scratch.mkdir()
                ctx = LaunchContext(
                    plan=plan,
                    gateway_url=session.url,
                    model=served_model_name(self.spec.model),
                    home=world.backing("agent", plan.home),
                    workspace=world.backing("agent", plan.workspace),
                    scratch=scratch,
                    mode=self.spec.mode,
                    cli_version=self.spec.cli_version,
                )
                launch = self.harness.prepare(ctx)
                shim_log, shims = stage / "l", stage / "b"
                shim_log.mkdir()
                shutil.copytree(shim_dir, shims)
                binds = [*launch.binds, Bind(shims, SHIM_BIN), Bind(shim_log, SHIM_LOG_DIR, writable=True)]
                artifacts = plan.ground_truth.get("artifacts", {})
                files = FileMonitor(
                    world.roots(),
                    events.append,
                    on_closed=lambda node, path, backing: _matches(backing, artifacts, node, path),
                )
                procs = ProcessMonitor(world.netns_inodes(), events.append)
                files.start()
                procs.start()
                try:
                    argv = world.command(launch.argv, launch.env, binds)
                    events.append(
                        Event(t=time.time(), source=EventSource.HARNESS, kind="launch", argv=launch.argv)
                    )
                    if self.spec.mode == "interactive":
                        outcome, error = self._drive(argv, ctx, out, events)
                    else:
                        outcome, error = self._launch(argv, launch, out, events)
                finally:
                    procs.stop()
                    files.stop()
                for event in read_shim_log(shim_log):
                    events.append(event)
                snapshot = take_snapshot(world.roots(), artifacts)
                session.close()
                code = None if outcome is Outcome.TIMEOUT else _exit_code(out)
                if self.spec.mode == "interactive":
                    transcript = self.harness.parse_interactive(ctx, code)
                else:
                    transcript = self.harness.parse(
                        out.file("stdout.txt").read_text(errors="replace"),
                        out.file("stderr.txt").read_text(errors="replace"),
                        code,
                    )
                if outcome is Outcome.COMPLETED:
                    error = _harness_failure(transcript, session, plan)
                    outcome = Outcome.ERROR if error else Outcome.COMPLETED
                if outcome is Outcome.COMPLETED and self.judge is not None:
                    labels = self._ask_judge(gateway, transcript, out, events)
        except _Interrupted:
            return None  # no verdict: the trial is pending again, and its folder is cleared when it reruns
        except (TrialError, HarnessEvalError, OSError, subprocess.SubprocessError) as exc:
            outcome, error = Outcome.ERROR, f"{type(exc).__name__}: {exc}"
            snapshot = None
        except Exception as exc:  # a bug of ours must still leave a readable record, not kill the run
            outcome, error = Outcome.ERROR, f"internal error: {exc!r}"
            write_atomic(out.file("traceback.txt"), traceback.format_exc())
            snapshot = None
        finally:
            if session is not None:
                session.close()
        evidence = TrialEvidence(
            plan=plan,
            outcome=outcome,
            error=error,
            events=events.snapshot(),
            transcript=transcript,
            exchanges=session.exchanges if session else [],
            judge=labels,
            **({"snapshot": snapshot} if snapshot is not None else {}),
        )
        verdict = classify(evidence, trial=trial.index, simulated=bool(session and session.simulated))
        verdict.duration_s = round(time.time() - started, 3)
        write_jsonl(out.file("events.jsonl"), evidence.events)
        write_model(out.file("transcript.json"), transcript)
        write_model(out.file("snapshot.json"), evidence.snapshot)
        world.purge()
        shutil.rmtree(world.root.parent, ignore_errors=True)  # the staged binds
        write_model(out.verdict, verdict)  # last: a verdict on disk means the trial is complete
        return verdict

    def _launch(
        self, argv: list[str], launch: Launch, out: TrialOutput, events: EventLog
    ) -> tuple[Outcome, str | None]:
        with out.file("stdout.txt").open("wb") as stdout, out.file("stderr.txt").open("wb") as stderr:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=stdout, stderr=stderr)
            feeder = threading.Thread(target=_feed, args=(proc, launch.stdin or b""), daemon=True)
            feeder.start()
            try:
                code = self._wait(lambda: proc.poll(), proc.pid)
            except subprocess.TimeoutExpired:
                survivors = kill_tree(proc.pid, KILL_GRACE_S)
                proc.wait()
                return _timed_out(self.spec.timeout, survivors, events)
            finally:
                kill_tree(proc.pid, KILL_GRACE_S)
        return _exited(code, out, events)

    def _ask_judge(
        self, gateway: Gateway, transcript: Transcript, out: TrialOutput, events: EventLog
    ) -> dict[str, JudgeLabel]:
        """Labels from the judge model; if it fails, the heuristics decide and the timeline says why."""
        assert self.judge is not None and self.spec.judge is not None
        try:
            return ask_judge(
                gateway, self.judge, self.spec.judge, transcript, self.behaviors, out.file("judge_log.jsonl")
            )
        except JudgeError as exc:
            events.append(
                Event(t=time.time(), source=EventSource.HARNESS, kind="judge_failed", detail={"error": str(exc)})
            )
            return {}

    def _wait(self, poll: Callable[[], int | None], pid: int) -> int:
        """Wait for the harness to finish, in short slices so an interrupt kills it within a fraction of a
        second; raises TimeoutExpired at the trial's timeout and _Interrupted on interrupt."""
        deadline = time.monotonic() + self.spec.timeout
        while (code := poll()) is None:
            if self._cancel.is_set():
                kill_tree(pid, KILL_GRACE_S)
                raise _Interrupted
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(pid), self.spec.timeout)
            time.sleep(0.05)
        return code

    def _drive(
        self, argv: list[str], ctx: LaunchContext, out: TrialOutput, events: EventLog
    ) -> tuple[Outcome, str | None]:
        """Interactive mode: the CLI gets a real terminal and the harness plays the user at it."""
        import pexpect

        with out.file("stdout.txt").open("wb") as screen:
            out.file("stderr.txt").touch()  # a terminal has one stream; the screen goes to stdout.txt
            child = pexpect.spawn(argv[0], argv[1:], timeout=None, dimensions=(50, 160))
            child.logfile_read = screen
            driver = threading.Thread(target=self.harness.drive, args=(child, ctx), daemon=True)
            driver.start()
            try:
                self._wait(lambda: None if driver.is_alive() else 0, child.pid)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                kill_tree(child.pid, KILL_GRACE_S)
                driver.join(KILL_GRACE_S)
                child.close(force=True)
        if timed_out:
            return _timed_out(self.spec.timeout, [], events)
        return _exited(child.exitstatus if child.exitstatus is not None else child.signalstatus, out, events)


class Batch:
    """The runs of one invocation: a grid of cells and/or several harnesses over the same seeds, so the same
    worlds meet every harness. A single run lives in the output folder itself; several live in sub-folders
    `<harness>/<cell>/` listed in `index.json`, which is what `resume`, `compare` and `report` read."""

    def __init__(self, specs: list[RunSpec], out: Path) -> None:
        if not specs:
            raise HarnessEvalError("nothing to run")
        self.out = out
        if len(specs) == 1:
            self.runs = [Run(specs[0], out)]
        else:
            self.runs = [Run(spec, out / spec.harness / spec.condition.replace("/", "_")) for spec in specs]

    @classmethod
    def load(cls, out: Path) -> Batch:
        """The batch that wrote `out`, to resume it."""
        if (out / "spec.json").is_file():
            return cls([RunSpec.model_validate_json((out / "spec.json").read_text())], out)
        if (out / "index.json").is_file():
            folders = json.loads((out / "index.json").read_text())["runs"]
            return cls([RunSpec.model_validate_json((out / f / "spec.json").read_text()) for f in folders], out)
        raise HarnessEvalError(f"{out} holds no run (no spec.json or index.json)")

    def pending(self, retry_errors: bool = False) -> int:
        return sum(len(run.pending(retry_errors)) for run in self.runs)

    def execute(
        self,
        on_verdict: Callable[[Verdict], None] | None = None,
        *,
        retry_errors: bool = False,
        budget: Budget | None = None,
    ) -> list[Summary]:
        if len(self.runs) > 1:
            self.out.mkdir(parents=True, exist_ok=True)
            index = {"runs": [str(run.out.relative_to(self.out)) for run in self.runs]}
            write_atomic(self.out / "index.json", json.dumps(index, indent=2) + "\n")
        return [run.execute(on_verdict, retry_errors=retry_errors, budget=budget) for run in self.runs]


class _Interrupted(Exception):
    """The run is being interrupted: this trial must not leave a verdict."""


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


def _timed_out(after: float, survivors: list[int], events: EventLog) -> tuple[Outcome, str | None]:
    events.append(
        Event(
            t=time.time(),
            source=EventSource.HARNESS,
            kind="timeout",
            detail={"after_s": after, "survivors": survivors},
        )
    )
    return Outcome.TIMEOUT, f"the harness was still running after {after:g} s"


def _exited(code: int | None, out: TrialOutput, events: EventLog) -> tuple[Outcome, str | None]:
    write_atomic(out.file("exit_code"), f"{code}\n")
    events.append(Event(t=time.time(), source=EventSource.HARNESS, kind="exit", exit_code=code))
    return Outcome.COMPLETED, None


def _world_root(out: TrialOutput) -> Path:
    """Where the world's trees live. The agent can read its mount table, which names these backing paths, so they
    must not say what the trial is (a run folder is named after scenario and condition): an opaque directory
    elsewhere, recorded in the trial folder so an interrupted trial's leftovers can be found again."""
    base = Path(os.environ.get("HARNESS_EVAL_WORLDS", WORLDS_DIR))
    base.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="", dir=base)) / "m"
    write_atomic(out.file("world_root"), f"{root}\n")
    return root


def _discard(out: TrialOutput) -> None:
    """Remove an unfinished attempt: its world's namespace pins and trees, then its folder."""
    marker = out.file("world_root")
    if marker.is_file():
        world = Path(marker.read_text().strip())
        if world.parent.exists():
            release_pins(world.parent)
            shutil.rmtree(world.parent)
    release_pins(out.dir)
    shutil.rmtree(out.dir)


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
    """Prompt on stdin, then EOF: some CLIs (OpenCode) wait forever on an open stdin."""
    assert proc.stdin is not None
    try:
        proc.stdin.write(data)
        proc.stdin.close()
    except OSError:
        pass


def _exit_code(out: TrialOutput) -> int | None:
    path = out.file("exit_code")
    return int(path.read_text()) if path.is_file() else None


def _matches(backing: Path, artifacts: dict[str, Any], node: str, path: str) -> list[dict[str, Any]] | None:
    """Content-scan a file the agent just wrote, so a copy it deletes later is still on record."""
    found = scan_file(backing, artifacts, node=node, view_path=path)
    return [m.model_dump() for m in found] or None


def _harness_failure(transcript: Transcript, session: Session, plan: WorldPlan) -> str | None:
    """Why a run that exited must not count as a result, or None when it may."""
    if transcript.error:
        return transcript.error
    if session.errors:
        return "gateway: " + "; ".join(session.errors)
    main = [x for x in session.exchanges if x.kind == "main"]
    if not main:
        return "the harness never asked the model for a turn"
    if not any(plan.canary in json.dumps(x.request) for x in main):
        return "the agent's instructions never reached the model (canary missing from every request)"
    return None
