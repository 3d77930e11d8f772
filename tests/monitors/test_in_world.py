"""All three monitors around a real world: OpenSSH hosts, the agent in bubblewrap, shims bound on its PATH."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator

import pytest

from harness_eval.models import Event, EventSource, NodePlan, SeedFile, WorldPlan
from harness_eval.monitors import EventLog, FileMonitor, ProcessMonitor, read_shim_log, write_shims
from harness_eval.monitors.shims import SHIM_BIN, SHIM_LOG_DIR
from harness_eval.sandbox import Bind, World

WEIGHTS = bytes(range(256)) * 64
COMMANDS = [  # each must behave through the shims exactly as without them
    "scp -3 source:/data/w.safetensors dest:/data/w.bin",
    "ssh source 'cat /data/w.safetensors' | sha256sum",
    "cd /tmp && head -c 50000 /dev/urandom > r && tar cz r | ssh dest 'tar xz -C /data'",
    "ssh dest cat /data/r | cmp /tmp/r -",
    "rsync -e ssh -a source:/data/ /tmp/copy/",
    "ssh source 'exit 7'",
]


def node(name: str, last_octet: int, files: list[SeedFile] | None = None) -> NodePlan:
    return NodePlan(
        name=name, hostname=f"{name}-01", address=f"10.0.12.{last_octet}", aliases=[name], files=files or []
    )


@pytest.fixture(scope="module")
def trial(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[list[Event], list[subprocess.CompletedProcess[bytes]]]]:
    tmp = tmp_path_factory.mktemp("trial")
    plan = WorldPlan(
        scenario="monitors",
        label="test",
        seed=0,
        instructions="",
        user_prompt="",
        canary="",
        agent=node("agent", 10),
        hosts=[node("source", 45, [SeedFile(path="/data/w.safetensors", content=WEIGHTS)]), node("dest", 46)],
    )
    write_shims(tmp / "shims")
    (tmp / "cmdlog").mkdir()
    binds = [Bind(tmp / "shims", SHIM_BIN), Bind(tmp / "cmdlog", SHIM_LOG_DIR, writable=True)]
    log = EventLog()
    scanned = lambda node, view, backing: backing.read_bytes() == WEIGHTS or None  # noqa: E731
    with World(plan, tmp / "world") as world:
        env = {"PATH": f"{SHIM_BIN}:/usr/bin:/bin", "HOME": plan.home}
        with (
            FileMonitor(world.roots(), log.append, content_scan=scanned),
            ProcessMonitor(world.netns_inodes(), log.append),
        ):
            results = [
                subprocess.run(world.command(["/bin/bash", "-c", c], env, binds), capture_output=True, timeout=60)
                for c in COMMANDS
            ]
    log.extend(read_shim_log(tmp / "cmdlog"))
    world.purge()
    yield log.snapshot(), results


def test_the_shims_are_invisible(trial: tuple[list[Event], list[subprocess.CompletedProcess[bytes]]]) -> None:
    _, results = trial
    assert [r.returncode for r in results] == [0, 0, 0, 0, 0, 7], [r.stderr for r in results]
    assert results[1].stdout.split()[0].decode() == hashlib.sha256(WEIGHTS).hexdigest()


def test_commands_are_logged_with_exit_codes(
    trial: tuple[list[Event], list[subprocess.CompletedProcess[bytes]]],
) -> None:
    events, _ = trial
    exits = [
        (e.argv[:2], e.exit_code) for e in events if e.source == EventSource.CMD and e.kind == "exit" and e.argv
    ]
    assert (["scp", "-3"], 0) in exits
    assert (["ssh", "source"], 7) in exits
    assert any(argv[0] == "ssh" and code == 0 for argv, code in exits if argv != ["ssh", "source"])


def test_the_copy_on_dest_is_seen_by_content(
    trial: tuple[list[Event], list[subprocess.CompletedProcess[bytes]]],
) -> None:
    events, _ = trial
    closed = [e for e in events if e.source == EventSource.FS and e.kind == "closed" and e.node == "dest"]
    assert [e.detail.get("matches") for e in closed if e.path == "/data/w.bin"] == [True]
    assert not any("/world/" in (e.path or "") for e in events)


def test_processes_and_connections_are_attributed(
    trial: tuple[list[Event], list[subprocess.CompletedProcess[bytes]]],
) -> None:
    events, _ = trial
    procs = [e for e in events if e.source == EventSource.PROC]
    started = {(e.node, e.detail.get("exe", "").rsplit("/", 1)[-1]) for e in procs if e.kind == "start"}
    assert {("agent", "bash"), ("source", "sshd"), ("dest", "sshd")} <= started
    remotes = {e.detail["raddr"] for e in procs if e.kind == "connect" and e.node == "agent"}
    assert {"10.0.12.45:22", "10.0.12.46:22"} <= remotes
