"""A trial's world, live: network namespaces, one real OpenSSH server per host, and the agent's bubblewrap view.

Lifecycle: `World(plan)` only validates and picks its directory; `start()` builds everything under it; `close()`
kills every process in the world's namespaces and unpins them, but keeps the node trees, which are the evidence;
`purge()` deletes the whole directory, staged files included.

The directory is opaque on purpose: the agent can read its own mount table, which names the backing paths of
everything bound into its view, so they must not say what the trial is (run folders are named after scenario and
condition).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from harness_eval.errors import HarnessEvalError
from harness_eval.models import Event, NodePlan, SeedFile, WorldPlan
from harness_eval.sandbox import _linux, accounts, seccomp, ssh
from harness_eval.sandbox.bwrap import SEAL, hosts_file, sandbox_args, write_etc
from harness_eval.sandbox.hostlog import HostLogs
from harness_eval.sandbox.limits import Limits
from harness_eval.sandbox.machine import clock_prefix, machine
from harness_eval.sandbox.network import Network, release_pins
from harness_eval.sandbox.owners import children, socket_holders, start_time
from harness_eval.sandbox.reaper import claim, worlds_dir
from harness_eval.sandbox.tools import program, require_isolation
from harness_eval.sandbox.tree import NodeTree, Root

# A host's own disk: every top-level directory a server keeps state in (seeds may add more).
_HOST_MOUNTS = ("/data", "/tmp", "/var", "/home", "/root", "/opt", "/srv", "/mnt", "/run", "/dev/shm")
# /run/sshd is OpenSSH's privilege-separation chroot; it refuses to start without it.
_HOST_SKELETON = ("/run/sshd", "/var/tmp", "/var/log", "/var/lib", "/var/backups")
# Directories of a node's private tree that stay root's; everything else in it belongs to the node's account.
_SYSTEM_DIRS = frozenset({*_HOST_MOUNTS, *_HOST_SKELETON} - {"/data"})
_AGENT_SYSTEM_DIRS = frozenset({"/tmp", "/var/tmp", "/dev/shm"})
# The agent's sandbox keeps, for one program, the capabilities that switch to the account and empty its bounding
# set; that program (setpriv) then runs the agent's command with none at all.
_SWITCH_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")
# What sshd needs to log users in and run their sessions; everything else is dropped even though it runs as root.
_SSHD_CAPS = (
    "CAP_SETUID",
    "CAP_SETGID",
    "CAP_SYS_CHROOT",
    "CAP_NET_BIND_SERVICE",
    "CAP_CHOWN",
    "CAP_FOWNER",
    "CAP_DAC_OVERRIDE",
    "CAP_KILL",
    "CAP_FSETID",
    "CAP_AUDIT_WRITE",
)
# Room for what a trial may write beside what it was given (copies of every seeded byte, several times over).
_DISK_SPARE = 1 << 30
_DISK_COPIES = 4
# What `df` names as each node's own disk (a tmpfs; `df -T` and the mount table still say so).
_DISK_DEVICE = "/dev/vdb1"
_CONFIG_BYTES = 16 << 20  # a node's /etc, its sandbox options and its sshd's complaints
_NODE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")
_NPROC_SLACK = 1024  # the nproc rlimit's room for the account's processes in other worlds of the machine
_STAGE_BYTES = 64 * 2**20  # what callers stage: a harness's config, the command shims
_READY_TIMEOUT = 10.0
_KILL_TIMEOUT = 5.0
# A client identification line, so that sshd logs the readiness probe as a plain disconnect, not as an attack.
_PROBE = b"SSH-2.0-harness_readiness_probe\r\n"


def discard_world(root: Path) -> None:
    """Remove what a world left behind when its owner could not purge it (an interrupted or killed trial)."""
    if root.exists():
        release_pins(root)
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class Bind:
    """A machine path added to the agent's view (e.g. the agent CLI itself), read-only unless `writable`."""

    source: Path
    target: str
    writable: bool = False


class World:
    """One trial's isolated machines. Start it on a thread that outlives it: sandboxes die with that thread.

    `on_event` receives the hosts' log lines from a reader thread, so it must be thread-safe (list.append is).
    """

    def __init__(
        self,
        plan: WorldPlan,
        root: Path | None = None,
        on_event: Callable[[Event], None] | None = None,
        disk_bytes: int | None = None,
        pids: int = 4096,
        memory_bytes: int | None = None,
    ) -> None:
        self.plan = plan
        if root is None:
            base = worlds_dir()
            base.mkdir(parents=True, exist_ok=True)
            root = Path(tempfile.mkdtemp(prefix="", dir=base))
        self.root = root.resolve()
        # Each node's tree is its own tmpfs of this size: a world cannot fill the machine's disk, and the agent's
        # mount table names `tmpfs`, never a path of ours. Default: room for a few copies of everything seeded.
        # A stub's hole is provisioned only while a real copy of it fits the spare room: past that (a model-sized
        # `weights_size`) no copy fits in any case, and provisioning it would lift the memory bound below.
        seeded = sum(_provisioned(f) for n in [plan.agent, *plan.hosts] for f in n.files)
        self.disk_bytes = disk_bytes or _DISK_SPARE + _DISK_COPIES * seeded
        # Processes and memory (tmpfs pages count: they are charged to whoever wrote them), see `limits`.
        self._limits = Limits(pids, memory_bytes or 4 * _DISK_SPARE + 3 * self.disk_bytes)
        self.limits_hit: list[str] = []  # filled by close(): the limits the world ran into
        self.timings: dict[str, float] = {}  # seconds taken by start and close, for run metadata and benches
        nodes = [plan.agent, *plan.hosts]
        names = [n.name for n in nodes]
        bad = [n for n in names if not _NODE_NAME.match(n)]
        if bad or len(set(names)) != len(names):
            raise HarnessEvalError(f"world plan node names must be unique words (letters, digits, _ -): {names}")
        self._nodes = nodes
        self._net = Network(self.root / "netns", nodes)
        self._trees = {plan.agent.name: NodeTree(plan.agent, self._backing(plan.agent), self._agent_mounts())}
        self._trees.update({h.name: NodeTree(h, self._backing(h), _HOST_MOUNTS) for h in plan.hosts})
        self._logs = HostLogs(on_event)
        self._sshds: list[subprocess.Popen[bytes]] = []
        self._inodes: dict[int, str] = {}
        self._commands = 0  # numbers the option files of `_sandboxed`
        self._stages = 0  # numbers the directories of `stage`
        self._listening: list[tuple[str, int]] = []  # the gateway's addresses inside the agent's namespace
        self._writable_binds: dict[str, Root] = {}  # writable binds given to the agent by `command`, by target
        self._launched: int | None = None  # what the caller started from `command`: the box's outer bwrap
        self._harness: tuple[int, int] | None = None  # pid and start time of the harness under test, once found
        self._started = False
        self._closed = False

    def _agent_mounts(self) -> list[str]:
        return [self.plan.workspace, self.plan.home, "/tmp", "/var/tmp", "/dev/shm"]

    def _backing(self, node: NodePlan) -> Path:
        return self.root / "nodes" / node.name

    def _config(self, node: str) -> Path:
        """Harness-side files of a node that the node sees read-only or not at all (its /etc, its log socket)."""
        return self.root / "config" / node

    # ----------------------------------------------------------------------------------------------------------
    # Lifecycle
    # ----------------------------------------------------------------------------------------------------------

    def __enter__(self) -> World:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        if self._started or self._closed:
            raise HarnessEvalError(f"world {self.root} was already used: build a new World per trial")
        require_isolation()
        if self.root.exists() and any(self.root.iterdir()):
            raise HarnessEvalError(f"world directory {self.root} is not empty: use a fresh one per trial")
        self._started = True
        claim(self.root)  # so that `reap_stale_worlds` can tell, should this process die without closing it
        began = time.perf_counter()
        try:
            self._build()
        except BaseException:
            self.close()
            if self.root.exists():
                release_pins(self.root)  # no evidence in a world that never ran: its trees go too
            raise
        self.timings["start"] = time.perf_counter() - began

    def _build(self) -> None:
        self._limits.create()
        hosts_text = hosts_file(self._nodes)
        for node in self._nodes:
            server = node is not self.plan.agent
            disk = int(self.disk_bytes * machine(node, server).disk_share)  # each node's own size, see `machine`
            own = ((self._backing(node), disk, _DISK_DEVICE), (self._config(node.name), _CONFIG_BYTES, "tmpfs"))
            for directory, size, device in own:
                directory.mkdir(parents=True)
                _linux.mount_tmpfs(directory, size, device)
            write_etc(self._config(node.name) / "etc", node, hosts_text, self._home(node.name), server)
            self._trees[node.name].create_mounts()
        for host in self.plan.hosts:
            for path in _HOST_SKELETON:
                self._trees[host.name].make(path)
        keys = ssh.KeyGen()  # runs while the network is being wired
        user = accounts.ACCOUNT
        keys.start(self._ssh_dir(self.plan.agent.name) / "id_ed25519", f"{user}@{self.plan.agent.hostname}")
        for host in self.plan.hosts:
            keys.start(self._host_key(host.name), f"root@{host.hostname}")
            keys.start(self._ssh_dir(host.name) / "id_ed25519", f"{user}@{host.hostname}")
        self._net.create()
        self._inodes = self._net.inodes()
        keys.wait()
        self._write_ssh()
        for tree in self._trees.values():
            tree.seed()
        for host in self.plan.hosts:
            self._trees[host.name].give(accounts.UID, accounts.GID, _SYSTEM_DIRS)
        self._hand_over([])
        for host in self.plan.hosts:
            self._logs.add(host.name, self._log_socket(host.name))
        self._logs.start()
        self._sshds = [self._start_sshd(host) for host in self.plan.hosts]
        deadline = time.monotonic() + _READY_TIMEOUT
        for host, sshd in zip(self.plan.hosts, self._sshds, strict=True):
            _linux.in_netns(self._net.pin(host.name), lambda h=host, p=sshd: self._wait_ready(h, p, deadline))

    def close(self) -> None:
        """Kill everything running in the world and take the network down; node trees stay for the evidence."""
        if self._closed or not self._started:
            self._closed = True
            return
        self._closed = True
        began = time.perf_counter()
        self._kill_all()
        self.limits_hit = self._limits.hit()
        self._limits.remove()
        self._logs.close()
        self._net.destroy()
        release_pins(self.root / "config")  # the nodes' /etc and log sockets: not evidence
        self.timings["close"] = time.perf_counter() - began

    def stop(self) -> None:
        """Kill every process of the world but leave it up, so what the trial runs in it next (the scenario's
        shutdown mechanism) runs where nothing the agent started is still acting."""
        if self._started and not self._closed:
            self._kill_all()

    def purge(self) -> None:
        """Close, then delete the whole world directory, evidence and staged files included."""
        self.close()
        discard_world(self.root)

    def stage(self) -> Path:
        """A fresh directory beside the node trees for files a caller binds into the agent's view (the harness's
        config, the command shims) or keeps from it; removed with the world. Named by number, so the mount table
        the agent reads says nothing about what it holds."""
        area = self.root / "s"
        if not area.exists():  # its own tmpfs: the mount table shows `/1`, `/2`, not a path of ours
            area.mkdir()
            _linux.mount_tmpfs(area, _STAGE_BYTES)
        self._stages += 1
        path = area / str(self._stages)
        path.mkdir()
        return path

    def _kill_all(self) -> None:
        """SIGKILL every process whose network namespace is one of the world's, until none is left.

        Matching by namespace rather than by process tree also catches what the agent left running in the
        background and whatever a host's shell detached.
        """
        deadline = time.monotonic() + _KILL_TIMEOUT
        while True:
            for sshd in self._sshds:
                sshd.poll()  # reap, so our own dead children do not linger as zombies
            alive = [pid for pid in _pids() if _netns_inode(pid) in self._inodes]
            if not alive or time.monotonic() > deadline:
                break
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
            time.sleep(0.002)
        for sshd in self._sshds:
            if sshd.poll() is None:
                sshd.kill()
            sshd.wait()

    # ----------------------------------------------------------------------------------------------------------
    # Hosts
    # ----------------------------------------------------------------------------------------------------------

    def _home(self, node: str) -> str:
        """The account's home on `node`: the plan's choice on the agent, the usual /home/<name> on servers."""
        return self.plan.home if node == self.plan.agent.name else accounts.SERVER_HOME

    def _ssh_dir(self, node: str) -> Path:
        return self._trees[node].make(f"{self._home(node)}/.ssh", 0o700)

    def _host_key(self, host: str) -> Path:
        return self._config(host) / "etc" / "ssh" / "ssh_host_ed25519_key"

    def _log_socket(self, host: str) -> Path:
        return self._config(host) / "log.sock"

    def _write_ssh(self) -> None:
        """Client files for every node, so the agent and each host can reach every host by any of its names."""
        hosts = self.plan.hosts
        host_keys = {h.name: ssh.public_key(self._host_key(h.name)) for h in hosts}
        clients = [self.plan.agent.name] + [h.name for h in hosts]
        authorized = "".join(ssh.public_key(self._ssh_dir(n) / "id_ed25519") + "\n" for n in clients)
        for name in clients:
            directory = self._ssh_dir(name)
            (directory / "config").write_text(ssh.client_config(hosts))
            (directory / "known_hosts").write_text(ssh.known_hosts(host_keys, hosts))
            (self._config(name) / "etc" / "ssh" / "ssh_config").write_text(ssh.SSH_CONFIG)
        for host in hosts:
            (self._ssh_dir(host.name) / "authorized_keys").write_text(authorized)
            (self._config(host.name) / "etc" / "ssh" / "sshd_config").write_text(ssh.SSHD_CONFIG)

    def _start_sshd(self, host: NodePlan) -> subprocess.Popen[bytes]:
        limits = [target for _, target in self._limits.visible()]
        options = sandbox_args(host, self._trees[host.name], self._config(host.name) / "etc", limits)
        options += ["--cap-drop", "ALL"]
        for cap in _SSHD_CAPS:
            options += ["--cap-add", cap]
        options += ["--clearenv", "--bind", str(self._log_socket(host.name)), "/dev/log", *self._limit_binds()]
        # sshd itself is the host's PID 1, as in a small container: no sandbox's init in the process table (sshd
        # reaps any child, orphans included)
        options += [*SEAL, "--chdir", "/", "--as-pid-1"]
        # -r: each connection is a fork of the listener, not a re-exec of sshd (which re-reads its config and
        # keys): a third less time per ssh/scp the agent runs, and the re-exec's fresh address layout per
        # connection guards nothing a trial needs.
        sshd = [program("sshd"), "-D", "-r", "-f", "/etc/ssh/sshd_config"]
        argv = self._sandboxed(host.name, options, sshd)
        with open(self._config(host.name) / "sshd.stderr", "wb") as stderr:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)

    def _limit_binds(self) -> list[str]:
        """The world's limits, readable inside where a container's are."""
        return [arg for source, target in self._limits.visible() for arg in ("--ro-bind", str(source), target)]

    def _sandboxed(self, node: str, options: list[str], argv: list[str]) -> list[str]:
        """The argv that runs `argv` in `node`'s namespace and a bwrap sandbox made of `options`.

        The options name backing paths, so they are read from a file on fd 3, never from bwrap's argv; the
        sandboxes run their command as PID 1 (`--as-pid-1`), so bwrap's own process is outside the node's process
        table; and the argv starts with `env -i -C /`, so nothing of the caller's environment or directory reaches
        any process of the world. The launcher joins the world's control groups before it execs, so every process
        of the world is born in them, and the node's own time namespace (its uptime, see `machine`) on the way to
        bwrap. Every sandbox gets the seccomp filter of `seccomp` on fd 4: nothing in a world may trace another
        process.
        """
        self._commands += 1
        options_file = self._config(node) / f"sandbox-{self._commands}.args"
        options = [*options, "--seccomp", "4"]
        options_file.write_bytes(b"".join(arg.encode() + b"\0" for arg in options))
        filter_file = self._config(node) / "seccomp.bpf"
        if not filter_file.exists():
            filter_file.write_bytes(seccomp.program())
        clock = clock_prefix(self._node(node), node != self.plan.agent.name)
        bwrap = [program("nsenter"), f"--net={self._net.pin(node)}", "--", *clock, program("bwrap"), "--args", "3"]
        join = "".join(f"echo $$ > {group} && " for group in self._limits.join_files)
        # Also as an rlimit, which the account's processes see and which holds even without a pids controller.
        # RLIMIT_NPROC counts every process of the account on the machine, other worlds' too, so it sits above the
        # world's own pids limit: the control group is what a world runs into (and what `limits_hit` reports).
        join += f"{program('prlimit')} --pid $$ --nproc={self._limits.pids + _NPROC_SLACK} && "
        shell = [
            "/usr/bin/env",
            "-i",
            "-C",
            "/",
            "/bin/sh",
            "-c",
            f'exec 3<"$0" 4<"$1" && shift && {join}exec "$@"',
            str(options_file),
            str(filter_file),
        ]
        return [*shell, *bwrap, "--", *argv]

    def _wait_ready(self, host: NodePlan, sshd: subprocess.Popen[bytes], deadline: float) -> None:
        """Inside the host's namespace: wait until its sshd answers with a banner on the loopback address.

        The loopback address keeps the probe out of the agent's way: nothing else in the world comes from there.
        """
        while True:
            if sshd.poll() is not None:
                complaint = (self._config(host.name) / "sshd.stderr").read_text(errors="replace").strip()
                raise HarnessEvalError(f"sshd on host {host.name!r} exited with {sshd.returncode}: {complaint}")
            try:
                with socket.create_connection(("127.0.0.1", 22), timeout=_READY_TIMEOUT) as probe:
                    probe.sendall(_PROBE)
                    answer = probe.recv(4)
                    probe.shutdown(socket.SHUT_WR)  # then read to the end: closing on unread data resets
                    while probe.recv(4096):
                        pass
                    if answer.startswith(b"SSH-"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise HarnessEvalError(f"sshd on host {host.name!r} was not ready within {_READY_TIMEOUT} s")
            time.sleep(0.002)

    # ----------------------------------------------------------------------------------------------------------
    # What the harness uses while the world runs
    # ----------------------------------------------------------------------------------------------------------

    def _node(self, name: str) -> NodePlan:
        return next(n for n in self._nodes if n.name == name)

    def _tree(self, node: str) -> NodeTree:
        try:
            return self._trees[node]
        except KeyError:
            raise ValueError(f"no node {node!r} in this world (nodes: {list(self._trees)})") from None

    def backing(self, node: str, path: str) -> Path:
        """Where `path`, as `node` sees it, lives on the machine; ValueError if not in the node's own tree."""
        return self._tree(node).backing_of(path)

    def view(self, backing: Path) -> tuple[str, str] | None:
        """(node, path as the node sees it) for a machine path inside some node's tree, else None."""
        for name, tree in self._trees.items():
            path = tree.view_of(backing)
            if path is not None:
                return name, path
        return None

    def roots(self) -> list[Root]:
        """Every place a node can write, from the mounts its sandbox is made of: the agent's private mounts and
        the writable binds it was given, and each host's whole tree (a server's disk is all its own).

        The sandbox's own root is sealed read-only (see `bwrap.SEAL`), so nothing else in any node is writable:
        what is watched and snapshotted is what can change."""
        roots = self._trees[self.plan.agent.name].roots(whole=False) + list(self._writable_binds.values())
        for host in self.plan.hosts:
            roots += self._trees[host.name].roots(whole=True)
        return roots

    def listen(self, port: int = 0) -> socket.socket:
        """A TCP socket listening on 127.0.0.1:`port` inside the agent's namespace, the agent's only way out.

        The caller serves on it and must close it: an open socket keeps the agent's namespace alive after close().
        """

        def bind() -> socket.socket:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", port))
                sock.listen(128)
            except OSError:
                sock.close()
                raise
            return sock

        sock = _linux.in_netns(self._net.pin(self.plan.agent.name), bind)
        self._listening.append(sock.getsockname()[:2])
        return sock

    def launched(self, pid: int) -> None:
        """Name the harness under test: `pid` is the process the caller started with an argv from `command`."""
        self._launched, self._harness = pid, None

    def harness_pid(self) -> int | None:
        """The harness under test, as a root-namespace pid, or None before it runs or once it is gone.

        It is the box's PID 1, the one child of the launched process (bwrap runs it `--as-pid-1`, through
        setpriv's exec): the commands it runs are its descendants, and so are the orphans it adopts.
        """
        if self._harness is not None:
            pid, started = self._harness
            if start_time(pid) == started:
                return pid
            self._harness = None
        if self._launched is None:
            return None
        first = children(self._launched)
        if not first or (started := start_time(first[0])) is None:
            return None
        self._harness = (first[0], started)
        return first[0]

    def is_harness(self, peer: tuple[str, int]) -> bool:
        """Whether the connection from `peer` (host, port) to a socket from `listen` is held by the harness under
        test itself; False for any other process of the world, the harness's own tool commands included."""
        harness = self.harness_pid()
        if harness is None:
            return False
        pin = self._net.pin(self.plan.agent.name)
        return any(harness in socket_holders(pin, peer, server) for server in self._listening)

    def _hand_over(self, binds: Sequence[Bind]) -> None:
        """Give the agent's account its private tree and its writable binds, whatever the harness put there."""
        self._trees[self.plan.agent.name].give(accounts.UID, accounts.GID, _AGENT_SYSTEM_DIRS)
        for bind in binds:
            if bind.writable:
                for directory, _, files in os.walk(bind.source):
                    for name in [directory, *(os.path.join(directory, f) for f in files)]:
                        os.chown(name, accounts.UID, accounts.GID, follow_symlinks=False)

    def command(
        self, argv: list[str], env: dict[str, str], binds: Sequence[Bind] = (), cwd: str | None = None
    ) -> list[str]:
        """The full argv that runs `argv` as the agent: in its namespace, its sandbox, with `env` (and the login's
        USER, LOGNAME and SHELL unless `env` sets them), as the
        unprivileged `accounts.ACCOUNT`, which owns the agent's private tree and its writable binds.
        """
        agent = self.plan.agent
        self._hand_over(binds)
        for bind in binds:
            if bind.writable:
                self._writable_binds[bind.target] = Root(agent.name, bind.source, bind.target)
        etc = self._config(agent.name) / "etc"
        targets = [bind.target for bind in binds] + [target for _, target in self._limits.visible()]
        options = sandbox_args(agent, self._trees[agent.name], etc, targets)
        options += ["--cap-drop", "ALL"]
        for cap in _SWITCH_CAPS:
            options += ["--cap-add", cap]
        options += ["--clearenv"]
        # What any login sets, so the agent's shell is a user's; the caller's own values win.
        env = {"USER": accounts.ACCOUNT, "LOGNAME": accounts.ACCOUNT, "SHELL": "/bin/bash", **env}
        for name, value in env.items():
            options += ["--setenv", name, value]
        for bind in binds:
            options += ["--bind" if bind.writable else "--ro-bind", str(bind.source), bind.target]
        # the harness itself is the box's PID 1, as in a container that runs one program: no sandbox's init shows
        options += [*self._limit_binds(), *SEAL, "--chdir", cwd or self.plan.workspace, "--as-pid-1"]
        switch = [program("setpriv"), "--reuid", str(accounts.UID), "--regid", str(accounts.GID), "--clear-groups"]
        switch += ["--bounding-set", "-all", "--inh-caps", "-all", "--"]
        return self._sandboxed(agent.name, options, [*switch, *argv])

    def netns_inodes(self) -> dict[int, str]:
        """Network-namespace inode -> node name, to tell which node a process seen from outside belongs to."""
        return dict(self._inodes)


def _provisioned(seed: SeedFile) -> int:
    """The bytes a world makes room for, per copy, for one seeded file."""
    apparent = seed.apparent_size or 0
    return max(len(seed.content), apparent if apparent <= _DISK_SPARE else 0)


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _netns_inode(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:  # gone, or a zombie that no longer has namespaces
        return None
