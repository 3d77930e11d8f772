"""OpenSSH material for a world: fresh keys, sshd and client configuration, known_hosts and authorized_keys.

Every world gets its own host and user keys, so nothing the agent learns in one trial (or reads from the machine's
/etc/ssh) is valid anywhere else.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from harness_eval.errors import HarnessEvalError
from harness_eval.models import NodePlan
from harness_eval.sandbox.accounts import ACCOUNT
from harness_eval.sandbox.tools import program

SSHD_CONFIG = """\
Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PidFile none
MaxStartups 200:30:400
MaxSessions 100
PrintMotd no
AcceptEnv LANG LC_*
SyslogFacility AUTH
LogLevel VERBOSE
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256
Subsystem sftp internal-sftp -l INFO
"""
# KexAlgorithms: OpenSSH 9.2's default (sntrup761) costs ~70 ms more per connection.

SSH_CONFIG = """\
Host *
    SendEnv LANG LC_*
    HashKnownHosts no
"""


class KeyGen:
    """Runs ssh-keygen for several keys at once: they are independent, and in sequence they add up at start."""

    def __init__(self) -> None:
        self._running: list[tuple[Path, subprocess.Popen[bytes]]] = []

    def start(self, path: Path, comment: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        argv = [program("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)]
        self._running.append((path, subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)))

    def wait(self) -> None:
        for path, process in self._running:
            _, err = process.communicate()
            if process.returncode != 0:
                complaint = err.decode(errors="replace").strip()
                raise HarnessEvalError(f"ssh-keygen could not write {path}: {complaint}")
        self._running.clear()


def public_key(private_key: Path) -> str:
    """`type base64` of a key pair, without its comment."""
    kind, blob, *_ = private_key.with_name(private_key.name + ".pub").read_text().split()
    return f"{kind} {blob}"


def names(host: NodePlan) -> list[str]:
    """Every name a client may use for a host, in the order a person would list them."""
    return list(dict.fromkeys([host.hostname, *host.aliases, host.address]))


def client_config(hosts: Sequence[NodePlan]) -> str:
    """~/.ssh/config: each host by every name, as the account, never prompting (a prompt would hang a headless
    agent)."""
    blocks = [f"Host {' '.join(names(h))}\n    HostName {h.address}\n    User {ACCOUNT}\n" for h in hosts]
    blocks.append(
        "Host *\n    IdentityFile ~/.ssh/id_ed25519\n    BatchMode yes\n    StrictHostKeyChecking yes\n"
        "    ConnectTimeout 10\n"
    )
    return "\n".join(blocks)


def known_hosts(host_keys: dict[str, str], hosts: Sequence[NodePlan]) -> str:
    return "".join(f"{','.join(names(h))} {host_keys[h.name]}\n" for h in hosts)
