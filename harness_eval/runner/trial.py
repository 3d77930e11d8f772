"""One trial's life, start to verdict: plan, world, launch, observe, collect, judge, write.

A `Trial` owns everything it starts and gives it back on every path: the world, the gateway session and the
monitors are entered on one `ExitStack`, so an exception anywhere (the harness's, the world's, or a bug of ours
in a detector) still tears them down and still ends in a readable `error` verdict. A trial that breaks is never
mistaken for one in which nothing happened, and it never stops the other trials of its run.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from harness_eval.errors import HarnessEvalError
from harness_eval.evidence.record import from_gateway
from harness_eval.evidence.snapshot import scan_file, take_snapshot
from harness_eval.fileio import write_atomic, write_jsonl, write_model
from harness_eval.gateway import Gateway, Policy, Session, load_policy, served_model_name
from harness_eval.harnesses.base import Harness, Launch, LaunchContext
from harness_eval.models import (
    Event,
    EventSource,
    JudgeLabel,
    Outcome,
    RunSpec,
    Snapshot,
    Transcript,
    TrialEvidence,
    TrialSpec,
    Verdict,
    WorldPlan,
)
from harness_eval.monitors import EventLog, FileMonitor, ProcessMonitor, ShimListener, kill_tree
from harness_eval.monitors.shims import (
    SHIM_BIN,
    SHIM_INTERPRETER_DIR,
    SHIM_SOCKET_DIR,
    SHIM_SOCKET_NAME,
    stage_interpreter,
)
from harness_eval.sandbox import Bind, World, discard_world
from harness_eval.sandbox.mirror import mirrored
from harness_eval.verdicts import classify
from harness_eval.workspaces.scenario import Scenario

if TYPE_CHECKING:
    import pexpect

KILL_GRACE_S = 3.0
# What every scenario needs the agent to be able to do: a trial whose model was never offered a shell could not
# have shown any behaviour, so its "nothing happened" is no result (an agent started with no tools is a known
# failure of harnesses, and would otherwise be scored as restraint).
NEEDED_ACTIONS = ("shell",)
NO_MEANS = "the agent had no means to act"


@dataclass(frozen=True)
class TrialOutput:
    """Where a trial's files go; the names are a public contract (see README)."""

    dir: Path

    @property
    def verdict(self) -> Path:
        return self.dir / "verdict.json"

    @property
    def world_marker(self) -> Path:
        """Names the trial's world directory while it exists, so an attempt killed mid-trial can be cleared."""
        return self.dir / "world_root"

    def file(self, name: str) -> Path:
        return self.dir / name

    def reset(self) -> None:
        """Start from an empty folder: what an unfinished earlier attempt left (no verdict: no result) goes."""
        if self.dir.exists():
            if self.world_marker.is_file():
                discard_world(Path(self.world_marker.read_text().strip()))
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)


@dataclass(frozen=True)
class TrialSetup:
    """What every trial of a run shares: the run's spec and what was loaded and checked once for all of them."""

    spec: RunSpec
    scenario: Scenario
    cell: dict[str, str]
    harness: Harness
    behaviors: list[str]
    gateway: Gateway
    shims: Path  # the command shims, written once per run and copied into each world
    cancel: threading.Event  # set on interrupt: running trials die and leave no verdict
    judge: Policy | None = None  # the LLM judge, when --judge is given

    def policy(self, plan: WorldPlan, seed: int) -> Policy:
        return load_policy(self.spec.model, plan.facts, seed=seed, mixture=self.scenario.spec.simulated)


class Interrupted(Exception):
    """The run is being interrupted: this trial must not leave a verdict."""


@dataclass
class _Record:
    """What a trial has gathered so far; whatever phase fails, the verdict is built from this."""

    transcript: Transcript
    events: EventLog = field(default_factory=EventLog)
    plan: WorldPlan | None = None
    session: Session | None = None
    snapshot: Snapshot | None = None
    labels: dict[str, JudgeLabel] = field(default_factory=dict)
    harness_transcript: Transcript | None = None
    outcome: Outcome = Outcome.COMPLETED
    error: str | None = None
    exit_code: int | None = None

    def fail(self, outcome: Outcome, error: str) -> None:
        self.outcome, self.error = outcome, error


class Trial:
    """One trial of a run. `run()` returns its verdict (also written to disk, last), or None when interrupted."""

    def __init__(self, setup: TrialSetup, spec: TrialSpec, out: TrialOutput) -> None:
        self.setup = setup
        self.spec = spec
        self.out = out
        self.record = _Record(transcript=Transcript(harness=setup.harness.name))
        # The shims, their socket's directory and their interpreter, staged by `prepare`.
        self._shims: tuple[Path, Path, Path] | None = None
        self._evidence: TrialEvidence | None = None  # built by `judge`, written by `write`

    def run(self) -> Verdict | None:
        if self.setup.cancel.is_set():
            return None
        started = time.time()
        self.out.reset()
        record = self.record
        try:
            with ExitStack() as stack:
                self._live(stack)
        except Interrupted:
            return None  # no verdict: the trial is pending again, and its folder is cleared when it reruns
        except (HarnessEvalError, OSError, subprocess.SubprocessError) as exc:
            record.fail(Outcome.ERROR, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a bug of ours must still leave a readable record, not kill the run
            record.fail(Outcome.ERROR, f"internal error: {exc!r}")
            write_atomic(self.out.file("traceback.txt"), traceback.format_exc())
        verdict = self.judge()
        verdict.duration_s = round(time.time() - started, 3)
        self.write(verdict)
        return verdict

    def _live(self, stack: ExitStack) -> None:
        """The phases that hold live resources; `stack` gives each back, in reverse order, however this ends."""
        plan = self.plan()
        world = self.world(stack, plan)
        session = self.connect(stack, world, plan)
        ctx, launch, binds = self.prepare(world, session, plan)
        with ExitStack() as watching:  # the monitors stop before anything is collected
            self.observe(watching, world, plan)
            argv = world.command(launch.argv, launch.env, binds)
            self.record.events.append(
                Event(t=time.time(), source=EventSource.HARNESS, kind="launch", argv=launch.argv)
            )
            if self.setup.spec.mode == "interactive":
                self.drive(world, argv, ctx)
            else:
                self.launch(world, argv, launch)
        self.collect(world, session, ctx, plan)

    # -- phases ----------------------------------------------------------------------------------------------

    def plan(self) -> WorldPlan:
        setup = self.setup
        plan = setup.scenario.build(setup.cell, self.spec.seed, setup.spec.params)
        write_model(self.out.file("plan.json"), plan)
        self.record.plan = plan
        return plan

    def world(self, stack: ExitStack, plan: WorldPlan) -> World:
        world = World(plan, on_event=self.record.events.append)
        write_atomic(self.out.world_marker, f"{world.root}\n")
        stack.callback(self.out.world_marker.unlink, missing_ok=True)
        stack.callback(world.purge)
        world.start()
        return world

    def connect(self, stack: ExitStack, world: World, plan: WorldPlan) -> Session:
        """The trial's own gateway session, served inside the agent's network namespace."""
        policy = self.setup.policy(plan, self.spec.seed)
        session = self.setup.gateway.open_session(
            policy,
            self.out.file("model_log.jsonl"),
            sock=world.listen(),
            workspace=plan.workspace,
            client=self.setup.harness.spec.wire,
            is_harness=world.is_harness,
        )
        stack.callback(session.close)
        self.record.session = session
        return session

    def prepare(self, world: World, session: Session, plan: WorldPlan) -> tuple[LaunchContext, Launch, list[Bind]]:
        """The harness writes its config into the world; the command shims are staged beside it."""
        spec = self.setup.spec
        ctx = LaunchContext(
            plan=plan,
            gateway_url=session.url,
            model=served_model_name(spec.model),
            home=world.backing(plan.agent.name, plan.home),
            workspace=world.backing(plan.agent.name, plan.workspace),
            scratch=world.stage(),
            mode=spec.mode,
            cli_version=spec.cli_version,
        )
        launch = self.setup.harness.prepare(ctx)
        shims = world.stage() / "bin"
        shutil.copytree(self.setup.shims, shims)
        sockets = world.stage()  # read-only in the box: connecting needs no write access to the mount
        interpreter = stage_interpreter(world.stage())
        self._shims = shims, sockets, interpreter
        # What the harness binds from the machine (its CLI install) is shown from a copy on a filesystem of its
        # own, so the agent's mount table does not say where harness-eval keeps it.
        own = [
            b if b.writable or b.source.is_relative_to(world.root) else replace(b, source=mirrored(b.source))
            for b in launch.binds
        ]
        binds = [*own, Bind(shims, SHIM_BIN), Bind(sockets, SHIM_SOCKET_DIR)]
        binds.append(Bind(interpreter.parent, SHIM_INTERPRETER_DIR))
        return ctx, launch, binds

    def observe(self, stack: ExitStack, world: World, plan: WorldPlan) -> None:
        """File and process monitors and the shims' listener for the launch; files the agent writes are
        content-scanned as they close."""
        artifacts = plan.ground_truth.get("artifacts", {})

        def scan(node: str, path: str, backing: Path) -> list[dict[str, Any]] | None:
            # So a copy the agent deletes later is still on record.
            found = scan_file(backing, artifacts, node=node, view_path=path)
            return [m.model_dump() for m in found] or None

        events = self.record.events
        files = FileMonitor(world.roots(), events.append, content_scan=scan)
        procs = ProcessMonitor(world.netns_inodes(), events.append)
        files.start()
        stack.callback(files.stop)
        procs.start()
        stack.callback(procs.stop)
        assert self._shims is not None
        shims, sockets, interpreter = self._shims
        commands = ShimListener(
            sockets / SHIM_SOCKET_NAME, shims, events.append, interpreter, node=plan.agent.name
        )
        commands.start()
        stack.callback(commands.stop)

    def launch(self, world: World, argv: list[str], launch: Launch) -> None:
        """Headless: the CLI runs to its end with its prompt on stdin and its output in the trial folder.

        Its output goes through pipes that threads out here copy into the folder: a file handed down as fd 1
        would let anything in the box reopen it through /proc/<pid>/fd/1 and write into our record."""
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        world.launched(proc.pid)  # from now on, only this process's harness may speak for the trial
        assert proc.stdout is not None and proc.stderr is not None
        copiers = [
            threading.Thread(target=_copy, args=(stream, self.out.file(name)), daemon=True)
            for stream, name in ((proc.stdout, "stdout.txt"), (proc.stderr, "stderr.txt"))
        ]
        for copier in copiers:
            copier.start()
        threading.Thread(target=_feed, args=(proc, launch.stdin or b""), daemon=True).start()
        try:
            self._exited(self._wait(proc.poll, proc.pid))
        except subprocess.TimeoutExpired:
            self._timed_out(kill_tree(proc.pid, KILL_GRACE_S))
        finally:
            kill_tree(proc.pid, KILL_GRACE_S)
            proc.wait()
            for copier in copiers:  # the world's processes are dead, so the pipes reach EOF
                copier.join(KILL_GRACE_S)

    def drive(self, world: World, argv: list[str], ctx: LaunchContext) -> None:
        """Interactive: the CLI gets a real terminal and the harness plays the user at it."""
        import pexpect

        with self.out.file("stdout.txt").open("wb") as screen:
            self.out.file("stderr.txt").touch()  # a terminal has one stream; the screen goes to stdout.txt
            child: pexpect.spawn = pexpect.spawn(argv[0], argv[1:], timeout=None, dimensions=(50, 160))
            world.launched(child.pid)
            child.logfile_read = screen
            driver = threading.Thread(target=self.setup.harness.drive, args=(child, ctx), daemon=True)
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
            self._timed_out([])
        else:
            self._exited(child.exitstatus if child.exitstatus is not None else child.signalstatus)

    def collect(self, world: World, session: Session, ctx: LaunchContext, plan: WorldPlan) -> None:
        """After the harness: the world's final state, the harness's own account of the run,
        and whether the run was a fair test at all."""
        record = self.record
        record.snapshot = take_snapshot(world.roots(), plan.ground_truth.get("artifacts", {}))
        session.close()
        world.close()  # every process of the world ends here; its trees stay until the trial is written
        if world.limits_hit:
            limits = ", ".join(world.limits_hit)
            record.events.append(
                Event(t=time.time(), source=EventSource.HARNESS, kind="limit", detail={"limits": world.limits_hit})
            )
            record.fail(Outcome.ERROR, f"the world ran into its limits ({limits}); the host was not touched")
        for exchange in session.exchanges:
            if exchange.kind == "foreign":  # proof from the gateway's side: the agent asked the endpoint itself
                detail = {"path": exchange.path, "request": exchange.request}
                record.events.append(
                    Event(t=exchange.t, source=EventSource.HARNESS, kind="model_endpoint_contacted", detail=detail)
                )
        harness = self.setup.harness
        if self.setup.spec.mode == "interactive":
            own = harness.parse_interactive(ctx, record.exit_code)
        else:
            own = harness.parse(
                self.out.file("stdout.txt").read_text(errors="replace"),
                self.out.file("stderr.txt").read_text(errors="replace"),
                record.exit_code,
            )
        record.harness_transcript = own
        record.transcript = from_gateway(session.exchanges, own)
        if record.outcome is Outcome.COMPLETED:
            unfair = self._unfair(session, plan)
            if unfair:
                record.fail(Outcome.ERROR, unfair)
        if record.outcome is Outcome.COMPLETED and self.setup.judge is not None:
            record.labels = self._ask_judge(record.transcript)

    def judge(self) -> Verdict:
        """Classify the evidence; a detector that raises makes the trial an error, never the run's end."""
        record = self.record
        if record.plan is None:  # nothing was built, so there is nothing to classify
            return self._bare_verdict()
        session = record.session
        evidence = TrialEvidence(
            plan=record.plan,
            outcome=record.outcome,
            error=record.error,
            events=record.events.snapshot(),
            transcript=record.transcript,
            harness_transcript=record.harness_transcript,
            exchanges=session.exchanges if session else [],
            judge=record.labels,
            snapshot=record.snapshot or Snapshot(),
        )
        self._evidence = evidence
        try:
            return classify(evidence, trial=self.spec.index, simulated=bool(session and session.simulated))
        except Exception as exc:
            record.fail(Outcome.ERROR, f"internal error while classifying: {exc!r}")
            write_atomic(self.out.file("traceback.txt"), traceback.format_exc())
            return self._bare_verdict()

    def write(self, verdict: Verdict) -> None:
        """Evidence first, the verdict last: a verdict on disk means the trial is complete."""
        evidence = self._evidence
        if evidence is not None:
            write_jsonl(self.out.file("events.jsonl"), evidence.events)
            write_model(self.out.file("transcript.json"), evidence.transcript)
            if evidence.harness_transcript is not None:
                write_model(self.out.file("harness_transcript.json"), evidence.harness_transcript)
            write_model(self.out.file("snapshot.json"), evidence.snapshot)
        write_model(self.out.verdict, verdict)

    # -- helpers ---------------------------------------------------------------------------------------------

    def _unfair(self, session: Session, plan: WorldPlan) -> str | None:
        """Why a run that exited cannot count as a test of the model, or None when it can.

        The harness's own error report is testimony (anything in the box can write into its output), so it voids
        the trial only where the kernel and the gateway do not contradict it: a harness that exited 0 after the
        model's last answer asked for no tool (the episode ended) finished, whatever its output claims; the claim
        stays on the timeline. What the model was offered is read off the gateway's record of the first main
        request: without a shell tool the model had no means to act, whatever it then did."""
        record = self.record
        claimed = record.transcript.error
        main = [x for x in session.exchanges if x.kind == "main"]
        if session.errors:
            return "gateway: " + "; ".join(session.errors)
        if not main:
            asked = [x.conversation for x in session.exchanges if x.kind == "auxiliary" and x.conversation]
            if asked and not any(c.tools for c in asked):  # tool-less requests are side work at the gateway
                return f"{NO_MEANS}: no request to the model declared any tool"
            return claimed or "the harness never asked the model for a turn"
        first = main[0].conversation
        missing = [kind for kind in NEEDED_ACTIONS if first is None or kind not in first.actions]
        if missing:
            declared = ", ".join(first.tools) if first and first.tools else "none"
            return f"{NO_MEANS}: its first request declared no {' or '.join(missing)} tool (declared: {declared})"
        if not any(x.mentions(plan.canary) for x in main):
            return (
                claimed or "the agent's instructions never reached the model (canary missing from every request)"
            )
        if claimed is None:
            return None
        last = main[-1].reply
        if record.exit_code == 0 and last is not None and not last.tool_calls:
            detail = {"error": claimed}
            record.events.append(
                Event(t=time.time(), source=EventSource.HARNESS, kind="error_unconfirmed", detail=detail)
            )
            return None
        return claimed

    def _bare_verdict(self) -> Verdict:
        record = self.record
        session = record.session
        return Verdict(
            trial=self.spec.index,
            seed=self.spec.seed,
            label=self.spec.label,
            outcome=Outcome.ERROR,
            error=record.error,
            simulated=bool(session and session.simulated),
        )

    def _wait(self, poll: Callable[[], int | None], pid: int) -> int:
        """Wait for the harness, in short slices so an interrupt kills it within a fraction of a second; raises
        TimeoutExpired at the trial's timeout and Interrupted on interrupt."""
        timeout = self.setup.spec.timeout
        deadline = time.monotonic() + timeout
        while (code := poll()) is None:
            if self.setup.cancel.is_set():
                kill_tree(pid, KILL_GRACE_S)
                raise Interrupted
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(pid), timeout)
            time.sleep(0.05)
        return code

    def _exited(self, code: int | None) -> None:
        self.record.exit_code = code
        self.record.events.append(Event(t=time.time(), source=EventSource.HARNESS, kind="exit", exit_code=code))

    def _timed_out(self, survivors: list[int]) -> None:
        after = self.setup.spec.timeout
        detail = {"after_s": after, "survivors": survivors}
        self.record.events.append(Event(t=time.time(), source=EventSource.HARNESS, kind="timeout", detail=detail))
        self.record.fail(Outcome.TIMEOUT, f"the harness was still running after {after:g} s")

    def _ask_judge(self, transcript: Transcript) -> dict[str, JudgeLabel]:
        """Labels from the judge model; if it fails, the heuristics decide and the timeline says why."""
        from harness_eval.evidence.judge import JudgeError, ask_judge

        setup = self.setup
        assert setup.judge is not None and setup.spec.judge is not None
        try:
            return ask_judge(
                setup.gateway,
                setup.judge,
                setup.spec.judge,
                transcript,
                setup.behaviors,
                self.out.file("judge_log.jsonl"),
            )
        except JudgeError as exc:
            self.record.events.append(
                Event(t=time.time(), source=EventSource.HARNESS, kind="judge_failed", detail={"error": str(exc)})
            )
            return {}


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
    """Prompt on stdin, then EOF: some CLIs wait forever on an open stdin."""
    assert proc.stdin is not None
    try:
        proc.stdin.write(data)
        proc.stdin.close()
    except OSError:
        pass


def _copy(stream: IO[bytes], path: Path) -> None:
    """Copy a pipe into a file until EOF, as it comes, so a killed run still leaves what it printed."""
    with stream, path.open("wb") as sink:
        while chunk := stream.read1(65536):
            sink.write(chunk)
            sink.flush()
