"""Runs trials: spec → world → run → evidence → verdict, one folder per trial, nothing lost on interruption.

A trial that breaks is recorded as an `error` (or `timeout`) outcome with its reason; it is never mistaken for a
trial in which nothing happened, and it never stops the other trials.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness_eval.errors import HarnessEvalError, TrialError
from harness_eval.evidence.snapshot import scan_file, take_snapshot
from harness_eval.fileio import write_atomic, write_jsonl, write_model
from harness_eval.gateway import Gateway, Session, load_policy
from harness_eval.harnesses import get_harness
from harness_eval.harnesses.base import Harness, Launch, LaunchContext
from harness_eval.models import (
    Event,
    EventSource,
    Outcome,
    RunSpec,
    Summary,
    Transcript,
    TrialEvidence,
    TrialSpec,
    Verdict,
    WorldPlan,
)
from harness_eval.monitors import EventLog, FileMonitor, ProcessMonitor, kill_tree, read_shim_log, write_shims
from harness_eval.monitors.shims import SHIM_BIN, SHIM_LOG_DIR
from harness_eval.sandbox import Bind, World, release_pins
from harness_eval.stats import summarize
from harness_eval.verdicts import judge
from harness_eval.workspaces.scenario import Scenario

KILL_GRACE_S = 3.0


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

    def __init__(self, spec: RunSpec, out: Path, params: dict[str, str] | None = None) -> None:
        self.spec = spec
        self.out = out
        self.params = params or {}
        self.scenario = Scenario.load(spec.scenario)
        self.harness: Harness = get_harness(spec.harness)
        # Fail before any trial starts if the policy cannot be built (bad file, unknown fact).
        load_policy(spec.model, self.scenario.facts(spec.condition, self.params), seed=spec.seed)
        self.behaviors = list(self.scenario.spec.behaviors)
        if spec.mode == "interactive" and not self.harness.supports_interactive:
            raise HarnessEvalError(f"--mode interactive is not supported for --cli {spec.harness}")

    def trials(self) -> list[TrialSpec]:
        return [
            TrialSpec(index=i, seed=self.spec.seed + i, condition=self.spec.condition)
            for i in range(1, self.spec.trials + 1)
        ]

    def output(self, trial: TrialSpec) -> TrialOutput:
        return TrialOutput(self.out / "trials" / str(trial.index))

    def pending(self) -> list[TrialSpec]:
        return [t for t in self.trials() if not self.output(t).verdict.is_file()]

    def verdicts(self) -> list[Verdict]:
        found = []
        for trial in self.trials():
            path = self.output(trial).verdict
            if path.is_file():
                found.append(Verdict.model_validate_json(path.read_text()))
        return found

    def execute(self, on_verdict: Callable[[Verdict], None] | None = None) -> Summary:
        """Run every trial that has no verdict yet, then (re)write the summary from all verdicts on disk."""
        self.out.mkdir(parents=True, exist_ok=True)
        self._check_spec()
        self.harness.install(self.spec.cli_version)
        shim_dir = self.out / ".shims"
        write_shims(shim_dir)
        with Gateway() as gateway, ThreadPoolExecutor(max_workers=max(1, self.spec.parallel)) as pool:
            futures = [pool.submit(self._trial, gateway, shim_dir, trial) for trial in self.pending()]
            try:
                for future in futures:
                    verdict = future.result()
                    if on_verdict:
                        on_verdict(verdict)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return self.summarize()

    def summarize(self) -> Summary:
        summary = summarize(self.spec, self.verdicts(), self.behaviors)
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

    def _trial(self, gateway: Gateway, shim_dir: Path, trial: TrialSpec) -> Verdict:
        out = self.output(trial)
        if out.dir.exists():  # leftovers of an interrupted attempt; no verdict means no result
            release_pins(out.dir)
            shutil.rmtree(out.dir)
        out.dir.mkdir(parents=True)
        started = time.time()
        plan = self.scenario.build(trial.condition, trial.seed, self.params)
        write_model(out.file("plan.json"), plan)
        events = EventLog()
        transcript = Transcript(harness=self.harness.name)
        session: Session | None = None
        outcome, error = Outcome.COMPLETED, None
        world = World(plan, out.dir / "world", on_event=events.append)
        try:
            with world:
                policy = load_policy(self.spec.model, plan.facts, seed=trial.seed)
                session = gateway.open_session(
                    policy, out.file("model_log.jsonl"), sock=world.listen(), workspace=plan.workspace
                )
                scratch = out.dir / "harness"
                scratch.mkdir()
                ctx = LaunchContext(
                    plan=plan,
                    gateway_url=session.url,
                    model=_served_model_name(self.spec.model),
                    home=world.backing("agent", plan.home),
                    workspace=world.backing("agent", plan.workspace),
                    scratch=scratch,
                    mode=self.spec.mode,
                    cli_version=self.spec.cli_version,
                )
                launch = self.harness.prepare(ctx)
                shim_log = out.dir / "cmdlog"
                shim_log.mkdir()
                binds = [*launch.binds, Bind(shim_dir, SHIM_BIN), Bind(shim_log, SHIM_LOG_DIR, writable=True)]
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
            **({"snapshot": snapshot} if snapshot is not None else {}),
        )
        verdict = judge(evidence, trial=trial.index, simulated=bool(session and session.simulated))
        verdict.duration_s = round(time.time() - started, 3)
        write_jsonl(out.file("events.jsonl"), evidence.events)
        write_model(out.file("transcript.json"), transcript)
        write_model(out.file("snapshot.json"), evidence.snapshot)
        world.purge()
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
                code = proc.wait(timeout=self.spec.timeout)
            except subprocess.TimeoutExpired:
                survivors = kill_tree(proc.pid, KILL_GRACE_S)
                proc.wait()
                return _timed_out(self.spec.timeout, survivors, events)
            finally:
                kill_tree(proc.pid, KILL_GRACE_S)
        return _exited(code, out, events)

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
            driver.join(self.spec.timeout)
            timed_out = driver.is_alive()
            kill_tree(child.pid, KILL_GRACE_S)
            driver.join(KILL_GRACE_S)
            child.close(force=True)
        if timed_out:
            return _timed_out(self.spec.timeout, [], events)
        return _exited(child.exitstatus if child.exitstatus is not None else child.signalstatus, out, events)


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


def _served_model_name(model: str) -> str:
    """What the harness asks the gateway for. Scripted policies get a neutral id, because some harnesses change
    their prompts by model family (OpenCode does), which would confound harness comparisons."""
    return "harness-eval-policy" if model == "simulated" or model.startswith("scripted:") else model


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
