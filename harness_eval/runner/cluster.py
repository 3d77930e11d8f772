"""Trials on a Ray cluster (`--executor ray`): each trial is a Ray task that builds its world, serves its own
gateway session and runs its harness on the node it lands on, then ships its folder back to the driver.

The driver stays the one place that decides: it starts trials one by one as `--parallel` allows (so a budget stops
new trials cluster-wide), writes each returned folder into the run the way a local trial leaves it (the verdict
appears with its evidence, never before), and counts each trial once. Only machines that can run a fair trial get
trials: a node takes trials only if it offers the `harness_eval_world` resource, which `harness-eval node` gives it
after the checks of `harness-eval doctor` pass (root, bubblewrap, sshd, control groups, Node for the pinned CLIs).
A node without it is named once, with the reason, and Ray's scheduler never sends it a trial.

Provider keys and base URLs travel as an argument of each task, held in memory by Ray (small arguments are inlined
in the task's description, never spilled), and are put into the worker's environment only while its trial runs,
so the node's gateway finds them where a local one does; they are never written to a file or printed (their
repr is redacted). A node lost mid-trial loses nothing: Ray runs the task again once on another node, and a trial
that fails twice is left pending, without a verdict, for `resume`.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import sys
import tarfile
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness_eval.errors import HarnessEvalError
from harness_eval.gateway import Gateway
from harness_eval.gateway.providers import BASE_URLS, KEY_VARIABLES
from harness_eval.models import RunSpec, TrialSpec, Verdict
from harness_eval.runner.run import Run, Submit
from harness_eval.runner.trial import KILL_GRACE_S, Trial
from harness_eval.sandbox import check_isolation
from harness_eval.sandbox.limits import problems as limit_problems

RESOURCE = "harness_eval_world"  # one unit per trial a node runs at once
INSTALL_HINT = "--executor ray needs Ray: pip install 'harness-eval[ray]'"
_POLL_S = 0.5  # how often a driver thread waiting on a trial looks whether the run is being interrupted


def node_problems() -> list[str]:
    """Why this machine cannot run worlds (the checks of `harness-eval doctor`); empty when it can."""
    if not sys.platform.startswith("linux"):
        return [f"not a Linux host ({sys.platform}): worlds need Linux namespaces"]
    problems = check_isolation() + limit_problems()
    if shutil.which("node") is None:
        problems.append("node is missing (apt-get install nodejs npm): the pinned CLIs run on it")
    return problems


def node_resources(slots: int | None = None) -> dict[str, float]:
    """The Ray resources this machine offers: `slots` trials at once (default 4 per core: trials mostly wait on
    their model), or a HarnessEvalError saying why it cannot run any."""
    problems = node_problems()
    if problems:
        raise HarnessEvalError("this machine cannot run worlds: " + "; ".join(problems))
    return {RESOURCE: float(slots or 4 * (os.cpu_count() or 1))}


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise HarnessEvalError(INSTALL_HINT) from None
    return ray


def _answers(address: str) -> None:
    """A HOST:PORT address that nothing listens on is one clear error now, not `ray.init` retrying for minutes."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return  # `auto`, `ray://…`: Ray's own forms, left to Ray
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise HarnessEvalError(f"no Ray cluster answers at {address}: {exc.strerror or exc}") from None


class _Secret:
    """Provider keys and endpoints, for the node's gateway; never shown in a repr, a log or a traceback."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def __repr__(self) -> str:
        return f"<{len(self.values)} provider settings, redacted>"

    @classmethod
    def from_environment(cls) -> _Secret:
        names = [n for names in KEY_VARIABLES.values() for n in names] + [v for v, _ in BASE_URLS.values()]
        return cls({name: os.environ[name] for name in names if os.environ.get(name)})

    @contextmanager
    def applied(self) -> Iterator[None]:
        """In this process's environment while the trial runs (a Ray worker runs one task at a time)."""
        saved = {name: os.environ.get(name) for name in self.values}
        os.environ.update(self.values)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _pack(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=".")
    return buffer.getvalue()


def _unpack(data: bytes, target: Path) -> None:
    """The trial's folder appears at `target` whole, by one rename, like a local trial's verdict: a reader sees
    the earlier attempt's folder (no verdict) or the finished one, never half of it."""
    staging = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.incoming"
    staging.mkdir(parents=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(staging, filter="data")  # our own node's archive, but still: no links out, no devices
        if target.exists():
            shutil.rmtree(target)  # an earlier attempt without a verdict (it is pending, so nothing is lost)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


_runs: dict[str, tuple[Run, Path]] = {}  # spec -> the run as this worker process has loaded and prepared it


def _node_run(spec: RunSpec) -> tuple[Run, Path]:
    """The run on this node, loaded, checked and prepared (stale worlds cleared, harness installed, shims
    written) once per worker process and spec, not once per trial; and where its shims are."""
    key = spec.model_dump_json()
    if key not in _runs:
        base = Path(tempfile.mkdtemp(prefix="harness-eval-node-"))
        run = Run(spec, base / "run")
        run.prepare_machine(base / "shims")
        _runs[key] = run, base / "shims"
    return _runs[key]


def run_trial_here(spec: RunSpec, trial: TrialSpec, secret: _Secret) -> tuple[str | None, bytes]:
    """On the node: one trial, exactly as a local run would run it; returns the verdict (None if the trial was
    interrupted) and its folder packed for the driver. Nothing of it stays on the node."""
    with secret.applied():
        run, shims = _node_run(spec)
        output = run.output(trial)
        try:
            with Gateway() as gateway:
                verdict = Trial(run.setup(gateway, shims), trial, output).run()
            if verdict is None:
                return None, b""
            return verdict.model_dump_json(), _pack(output.dir)
        finally:
            shutil.rmtree(output.dir, ignore_errors=True)


class RayExecutor:
    """Runs a run's trials as Ray tasks; `address` is a running cluster (default RAY_ADDRESS), else a Ray is
    started on this machine for the run, with `slots` trials at once, and stopped after it."""

    def __init__(
        self, address: str | None = None, notice: Callable[[str], None] | None = None, slots: int | None = None
    ) -> None:
        self.ray = import_ray()
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.slots = slots  # trials at once on a Ray started here (default: node_resources')
        self.notice = notice or (lambda _: None)
        self.lost: list[int] = []  # trials whose task failed twice (node lost): left pending
        self._told: set[str] = set()
        self._started = False

    def connect(self) -> None:
        ray = self.ray
        if self.address:
            _answers(self.address)
        if not ray.is_initialized():
            quiet: dict[str, Any] = {"logging_level": "WARNING", "log_to_driver": False}
            if self.address:
                ray.init(address=self.address, **quiet)
            else:
                ray.init(resources=node_resources(self.slots), include_dashboard=False, **quiet)
            self._started = True
        fit = 0
        for node in ray.nodes():
            if not node.get("Alive"):
                continue
            if node.get("Resources", {}).get(RESOURCE, 0) >= 1:
                fit += 1
                continue
            name = f"{node.get('NodeManagerAddress')} ({node['NodeID'][:8]})"
            if name not in self._told:
                self._told.add(name)
                self.notice(
                    f"Ray node {name} gets no trials: it offers no {RESOURCE!r} resource; "
                    "`harness-eval node` on it checks that it can run worlds and joins it with one"
                )
        if not fit:
            where = self.address or "this machine"
            raise HarnessEvalError(f"no Ray node at {where} can run worlds: start them with `harness-eval node`")

    def close(self) -> None:
        if self._started:
            self.ray.shutdown()
            self._started = False

    def __enter__(self) -> RayExecutor:
        self.connect()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def pool(self, run: Run) -> Iterator[Submit]:
        ray = self.ray
        self.connect()
        task = ray.remote(run_trial_here).options(
            num_cpus=0, resources={RESOURCE: 1}, max_retries=1, retry_exceptions=False
        )
        secret = _Secret.from_environment()
        interrupted = threading.Event()
        running: dict[int, Any] = {}

        def collect(trial: TrialSpec, ref: Any) -> Verdict | None:
            try:
                while not ray.wait([ref], timeout=_POLL_S)[0]:
                    if interrupted.is_set():
                        return None
                verdict, folder = ray.get(ref)
            except ray.exceptions.TaskCancelledError:
                return None
            except ray.exceptions.RayTaskError as exc:  # our own code failed on the node: the run cannot go on
                cause = getattr(exc, "cause", None) or exc
                raise HarnessEvalError(f"trial {trial.index} failed on its node: {cause}") from None
            except ray.exceptions.RayError as exc:  # its node or worker died, twice: pending, never counted
                self.lost.append(trial.index)
                self.notice(f"trial {trial.index} lost its node twice ({type(exc).__name__}); it stays pending")
                return None
            finally:
                running.pop(trial.index, None)
            if verdict is None:
                return None
            _unpack(folder, run.output(trial).dir)
            return Verdict.model_validate_json(verdict)

        with ThreadPoolExecutor(max_workers=max(1, run.spec.parallel), thread_name_prefix="ray-trial") as waiters:

            def submit(trial: TrialSpec) -> Future[Verdict | None]:
                ref = task.remote(run.spec, trial, secret)
                running[trial.index] = ref
                return waiters.submit(collect, trial, ref)

            try:
                yield submit
            except BaseException:
                interrupted.set()
                self._cancel(list(running.values()))
                raise

    def _cancel(self, refs: list[Any]) -> None:
        """Interrupt every running trial (its world comes down as on a local Ctrl-C); kill what does not end."""
        ray = self.ray
        for ref in refs:
            ray.cancel(ref)
        _, left = ray.wait(refs, num_returns=len(refs), timeout=4 * KILL_GRACE_S) if refs else ([], [])
        for ref in left:
            ray.cancel(ref, force=True)
