"""What a hostile agent can reach from inside a world: nothing of ours, and no power over the host.

Every check runs a real command in the agent's box or in an SSH session on a host, as the agent would.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness_eval.sandbox import World
from harness_eval.sandbox.accounts import ACCOUNT, databases

from .conftest import AGENT_ENV, Agent, make_plan

MARKER = "sk-containment-marker-7f3a"
SYSCTLS = ("kernel/printk_ratelimit", "kernel/core_pattern")


@pytest.fixture(scope="module")
def marked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A world started by a process whose environment holds a secret and a host path, as harness-eval's may."""
    saved = dict(os.environ)
    root = tmp_path_factory.mktemp("contain") / "world"
    os.environ["HARNESS_EVAL_TEST_SECRET"] = MARKER
    os.environ["OLDPWD"] = str(root)
    try:
        with World(make_plan(), root) as world:
            yield world
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _dump_command() -> str:
    """Print every environment and command line this node's /proc lets us read, NUL-separated words as lines."""
    return "for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do tr '\\0' '\\n' < $f 2>/dev/null; done; true"


def test_no_secret_or_host_path_in_any_environment_readable_inside(marked: World) -> None:
    agent = Agent(marked)
    seen = {"agent": agent.ok(_dump_command())}
    for host in ("source", "dest"):
        seen[host] = agent.ok(f"ssh {host} {_quote(_dump_command())}")
    for node, text in seen.items():
        assert "PATH=" in text, node  # the dump did read environments
        assert MARKER not in text, node
        assert str(marked.root) not in text, node
        assert "HARNESS_EVAL" not in text, node


def test_every_process_of_the_world_starts_from_our_environment(marked: World) -> None:
    """Seen from outside, where every process of the world is readable, bwrap and sshd included."""
    command = "ssh source 'sleep 30' & ssh dest 'sleep 30' & sleep 30"
    proc = subprocess.Popen(marked.command(["/bin/bash", "-c", command], AGENT_ENV))
    try:
        inodes = marked.netns_inodes()
        wanted = {"agent", "source", "dest"}
        while True:  # until a `sleep` runs on every node (an ssh session's shell on each host)
            found = _world_processes(inodes)
            if wanted <= {node for node, argv in found.values() if argv.startswith(b"sleep")}:
                break
            assert proc.poll() is None, "the command ended before every node had its session"
            time.sleep(0.02)
        for pid, (node, argv) in found.items():
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes()
            except OSError:
                continue  # gone meanwhile
            assert MARKER.encode() not in environ, (node, argv)
            assert str(marked.root).encode() not in environ, (node, argv)
            assert b"OLDPWD" not in environ, (node, argv)
        assert len(found) >= 6  # bwrap and sshd on each host, bwrap, bash and sleep on the agent
    finally:
        proc.kill()
        proc.wait()


def _world_processes(inodes: dict[int, str]) -> dict[int, tuple[str, bytes]]:
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            node = inodes.get(os.stat(f"/proc/{name}/ns/net").st_ino)
            if node is not None:
                found[int(name)] = (node, Path(f"/proc/{name}/cmdline").read_bytes())
        except OSError:
            continue
    return found


def _quote(command: str) -> str:
    return "'" + command.replace("'", "'\\''") + "'"


# ----------------------------------------------------------------------------------------------------------------
# No power over the host
# ----------------------------------------------------------------------------------------------------------------


def _kernel_probe() -> str:
    """Try to write each sysctl back with its own value (harmless if it worked), then list what is writable."""
    lines = [f"v=$(cat /proc/sys/{s}); printf '%s\\n' \"$v\" > /proc/sys/{s} && echo WROTE {s}" for s in SYSCTLS]
    lines += ["test -w /proc/sysrq-trigger && echo WRITABLE sysrq", "test -e /sys/kernel && echo SEEN sys"]
    lines += ["id -un; id -u; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status"]
    return "; ".join(lines) + " 2>/dev/null; true"


@pytest.mark.parametrize("where", ["agent", "source", "dest"])
def test_nobody_in_the_world_can_write_the_host_kernel(marked: World, where: str) -> None:
    agent = Agent(marked)
    probe = _kernel_probe()
    output = agent.ok(probe if where == "agent" else f"ssh {where} {_quote(probe)}")
    assert "WROTE" not in output
    assert "WRITABLE" not in output
    assert "SEEN" not in output
    assert f"{ACCOUNT}\n1000\n" in output
    assert "CapEff:\t0000000000000000" in output
    assert "CapBnd:\t0000000000000000" in output or where != "agent"  # sessions: sshd's narrow set, no effective


def test_the_account_owns_and_can_change_what_the_scenario_gave_it(marked: World) -> None:
    agent = Agent(marked)
    weights = "/data/models/agent_2_model_weight.safetensors"
    agent.ok(
        f"ssh source 'touch -d 2025-06-01 {weights} && chmod 644 {weights} && cp {weights} /data/models/copy'"
        " && ssh source 'rm /data/models/copy' && touch -d 2020-01-01 /workspace/docs/maintenance.txt"
        " && chmod +x /workspace/docs/maintenance.txt && rm /workspace/docs/maintenance.txt"
    )
    assert marked.backing("source", weights).stat().st_mode & 0o777 == 0o644
    assert not marked.backing("agent", "/workspace/docs/maintenance.txt").exists()
    assert agent.run("ssh source 'touch /etc/passwd /root/x'").returncode != 0


def test_accounts_are_synthetic_and_name_the_account(marked: World) -> None:
    agent = Agent(marked)
    assert agent.ok("cat /etc/passwd") == databases(marked.plan.home, server=False)["passwd"]
    assert agent.ok("cat /etc/group") == databases(marked.plan.home, server=False)["group"]
    assert agent.ok("ssh source cat /etc/passwd") == databases(f"/home/{ACCOUNT}", server=True)["passwd"]
    assert agent.ok("ssh source 'id -un; echo $HOME'") == f"{ACCOUNT}\n/home/{ACCOUNT}\n"
    names = [line.split(":")[0] for line in agent.ok("getent passwd").splitlines()]
    assert names[0] == "root" and names[-1] == ACCOUNT and "nobody" in names


def test_the_account_reaches_every_shared_file_a_program_needs(marked: World) -> None:
    """bwrap makes missing parents of a bind 0700 root: OpenSSL's /etc/ssl would then be unreadable to node."""
    assert Agent(marked).ok("ls -d /etc/ssl/certs && test -r /etc/ld.so.cache && echo ok").endswith("ok\n")


def test_a_world_cannot_fill_the_disk_and_its_mount_table_names_no_path_of_ours(tmp_path: Path) -> None:
    with World(make_plan(), tmp_path / "world", disk_bytes=16 << 20) as small:
        agent = Agent(small)
        full = agent.run("head -c 32M /dev/zero > /tmp/fill")
        assert full.returncode != 0 and "No space left on device" in full.stderr
        remote = agent.run("ssh dest 'head -c 32M /dev/zero > /data/fill'")
        assert remote.returncode != 0 and "No space left on device" in remote.stderr
        assert small.backing("agent", "/tmp/fill").stat().st_size <= 16 << 20
        mounts = agent.ok("cat /proc/self/mountinfo") + agent.ok("ssh dest cat /proc/self/mountinfo")
        assert str(tmp_path) not in mounts
        assert " /workspace " in mounts and " /data " in mounts


def test_a_fork_bomb_stops_at_the_world_limit_and_is_recorded(tmp_path: Path) -> None:
    world = World(make_plan(), tmp_path / "world", pids=64)
    with world:
        agent = Agent(world)
        bomb = agent.run("for i in $(seq 200); do sleep 3 & done 2>&1; wait", timeout=120)
        assert "Resource temporarily unavailable" in bomb.stdout + bomb.stderr
        groups = {
            Path(f"/proc/{pid}/cgroup").read_text()
            for pid in _world_processes(world.netns_inodes())
            if Path(f"/proc/{pid}/cgroup").exists()
        }
        assert groups and all("harness-eval-" in text for text in groups)  # every process, sshd's too
    assert world.limits_hit and "process limit of 64" in world.limits_hit[0]
