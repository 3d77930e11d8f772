"""`--executor ray` on a real multi-node Ray cluster on this machine (`ray.cluster_utils.Cluster`): a head that
offers no worlds and two nodes that do, each running real trials (world, gateway session, harness) and shipping
their folders back to the driver.

What holds locally holds there: the same seeds give the same verdicts, an interrupt leaves the running trials
pending (and a local `resume` finishes the same run), and a node killed mid-trial loses no trial and counts none
twice.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner
from ray.cluster_utils import Cluster

from harness_eval.cli import main
from harness_eval.models import Outcome, RunSpec, Verdict
from harness_eval.runner import Batch, Budget, Run
from harness_eval.runner.cluster import RESOURCE, RayExecutor, node_resources
from harness_eval.sandbox import reap_stale_worlds
from tests.gateway.fakes import FakeProvider, custom_episode, model_turns

TRIALS = 4
KEY = "sk-cluster-test-4f9c2e7a1b"  # a made-up provider key, to look for where it must not be
SLOTS = 2  # trials at once per node


def spec(**overrides: object) -> RunSpec:
    fields: dict[str, object] = {
        "harness": "custom",
        "scenario": "exfil",
        "model": "simulated",  # a seeded mixture of scripts: different seeds, different behaviours
        "label": "good-peer",
        "trials": TRIALS,
        "parallel": TRIALS,
        "timeout": 120,
    }
    return RunSpec.model_validate({**fields, **overrides})


def sandboxes() -> list[int]:
    """Sandboxes still running anywhere on the cluster: its nodes, and so their trials, descend from this test."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            if proc.name() == "bwrap" and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
    return found


def by_seed(verdicts: list[Verdict]) -> dict[int, tuple[Outcome, list[str]]]:
    return {v.seed: (v.outcome, sorted(v.behaviors)) for v in verdicts}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    # The head offers no worlds, like a node `harness-eval node` would have refused: it must get no trial.
    head = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    for _ in range(2):
        head.add_node(num_cpus=1, resources=node_resources(SLOTS))
    head.wait_for_nodes()
    yield head
    head.shutdown()
    reap_stale_worlds()  # worlds of the node the last test killed (their sandboxes died with it)


@pytest.fixture(scope="module")
def notices() -> list[str]:
    return []


@pytest.fixture(scope="module")
def executor(cluster: Cluster, notices: list[str]) -> Iterator[RayExecutor]:
    with RayExecutor(cluster.address, notice=notices.append) as connected:
        yield connected


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Outcome, list[str]]]:
    run = Run(spec(parallel=2), tmp_path_factory.mktemp("local") / "run")
    run.execute()
    return by_seed(run.verdicts())


def test_a_cluster_run_gives_each_seed_the_verdict_of_a_local_run(
    tmp_path: Path, executor: RayExecutor, notices: list[str], local: dict[int, tuple[Outcome, list[str]]]
) -> None:
    counted: list[int] = []
    run = Run(spec(), tmp_path / "run")
    summary = run.execute(lambda v: counted.append(v.trial), executor=executor)
    assert by_seed(run.verdicts()) == local
    assert sorted(counted) == list(range(1, TRIALS + 1)) and summary.trials == TRIALS
    assert len({tuple(behaviors) for _, behaviors in local.values()}) > 1  # the seeds differ, and so do verdicts
    for trial in run.trials():  # each folder whole, as a local trial leaves it
        folder = run.output(trial).dir
        assert {"plan.json", "events.jsonl", "model_log.jsonl", "transcript.json"} <= {
            p.name for p in folder.iterdir()
        }
        assert not (folder / "world_root").exists()
    assert not list((tmp_path / "run" / "trials").glob(".*"))  # no staging folder left
    head = [n for n in notices if RESOURCE in n]
    assert len(head) == 1, notices  # the head offers no worlds: said once, however often the executor connects
    executor.connect()
    assert len([n for n in notices if RESOURCE in n]) == 1


def test_an_interrupted_cluster_run_leaves_running_trials_pending_and_a_local_resume_finishes_it(
    tmp_path: Path, executor: RayExecutor, local: dict[int, tuple[Outcome, list[str]]]
) -> None:
    out = tmp_path / "run"

    def interrupt(_: Verdict) -> None:
        raise KeyboardInterrupt  # what Ctrl-C does to the driver's main thread

    with pytest.raises(KeyboardInterrupt):
        Batch([spec(parallel=2)], out).execute(interrupt, executor=executor)
    run = Run(spec(parallel=2), out)
    finished = run.verdicts()
    assert 1 <= len(finished) < TRIALS  # the first came back; the one running beside it died without a verdict
    # Every running trial is killed, on whichever node it ran; its node takes its world down as a local trial's.
    deadline = time.monotonic() + 60
    while sandboxes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not sandboxes()
    summaries = Batch.load(out).execute()  # locally, no Ray
    assert by_seed(run.verdicts()) == local and summaries[0].trials == TRIALS


def test_a_spent_budget_stops_new_trials_cluster_wide(tmp_path: Path, executor: RayExecutor) -> None:
    budget = Budget(max_tokens=1)  # spent by the first trial's first exchange
    run = Run(spec(parallel=1), tmp_path / "run")
    run.execute(budget=budget, executor=executor)
    assert len(run.verdicts()) == 1 and budget.stopped == TRIALS - 1
    assert budget.spent.tokens.total > 1


def test_ctrl_c_on_the_driver_kills_every_running_trial_and_leaves_it_pending(
    tmp_path: Path, executor: RayExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    trials = 2 * SLOTS  # one on each slot of both nodes
    with FakeProvider(custom_episode, delay=600) as fake:  # no trial could end by itself during this test
        monkeypatch.setenv("OPENAI_BASE_URL", f"{fake.url}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        run = Run(spec(model="openai:fake-model", trials=trials, parallel=trials), tmp_path / "run")

        def press_ctrl_c() -> None:
            while len(fake.seen) < trials:
                time.sleep(0.1)
            os.kill(os.getpid(), signal.SIGINT)  # a real SIGINT, as the terminal sends the driver

        threading.Thread(target=press_ctrl_c, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            run.execute(executor=executor)
        deadline = time.monotonic() + 60
        while sandboxes() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not sandboxes()  # killed, not finished: each was waiting on a ten-minute answer
    assert run.verdicts() == [] and len(run.pending()) == trials


def test_a_node_lost_mid_trial_loses_no_trial_and_counts_none_twice(
    tmp_path: Path, cluster: Cluster, executor: RayExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    doomed = cluster.add_node(num_cpus=1, resources=node_resources(SLOTS))
    cluster.wait_for_nodes()
    trials = 3 * SLOTS  # every slot of the three nodes: the new node holds two running trials
    with FakeProvider(custom_episode, delay=1.0) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{fake.url}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", KEY)  # must reach the nodes' gateways, and nothing else
        counted: list[int] = []
        run = Run(spec(model="openai:fake-model", trials=trials, parallel=trials), tmp_path / "run")
        failure: list[BaseException] = []

        def drive() -> None:
            try:
                run.execute(lambda v: counted.append(v.trial), executor=executor)
            except BaseException as exc:
                failure.append(exc)

        driver = threading.Thread(target=drive)
        driver.start()
        deadline = time.monotonic() + 240
        while sum(model_turns(s) == 0 for s in fake.seen) < trials and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sum(model_turns(s) == 0 for s in fake.seen) == trials  # all running, two of them on the doomed node
        cluster.remove_node(doomed, allow_graceful=False)
        driver.join()
        starts = sum(model_turns(s) == 0 for s in fake.seen)
    assert not failure
    assert sorted(counted) == list(range(1, trials + 1))  # each trial counted once
    assert [v.outcome for v in run.verdicts()] == [Outcome.COMPLETED] * trials, [v.error for v in run.verdicts()]
    assert starts > trials  # the lost trials really ran again, from the start
    assert not executor.lost
    assert all(KEY in s.headers.get("Authorization", "") for s in fake.seen)
    session = Path(cluster.head_node.get_session_dir_path())
    assert any((session / "logs").iterdir())  # where Ray's processes, the workers included, write
    assert not written(KEY, session), "a provider key was written into Ray's session (logs, spilled objects)"
    assert not written(KEY, tmp_path / "run")


def written(secret: str, root: Path) -> list[Path]:
    """Files under `root` that hold `secret`."""
    needle = secret.encode()
    found = []
    for path in root.rglob("*"):
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                found.append(path)
    return found


def test_without_ray_the_ray_executor_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # as if the extra were not installed
    result = CliRunner().invoke(
        main, ["--cli", "custom", "--scenario", "exfil", "--executor", "ray", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 2
    assert "pip install 'harness-eval[ray]'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


def test_a_cluster_that_does_not_answer_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{unused.getsockname()[1]}"
    args = ["--cli", "custom", "--scenario", "exfil", "--executor", "ray", "--ray-address", address]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "r")])
    assert result.exit_code == 2, result.output
    assert f"no Ray cluster answers at {address}" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r").exists()
