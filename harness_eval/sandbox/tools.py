"""The machine's programs a world is built from, and whether this machine can build one at all."""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess
from collections.abc import Sequence

from harness_eval.errors import HarnessEvalError

# program -> Debian package that ships it
_PROGRAMS = {
    "bwrap": "bubblewrap",
    "sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
    "ip": "iproute2",
    "nsenter": "util-linux",
    "setpriv": "util-linux",
    "prlimit": "util-linux",
    "unshare": "util-linux",
}
# sbin is often missing from PATH (sudo, cron, CI), yet that is where sshd and ip live.
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin"])


def program(name: str) -> str:
    """Absolute path of one of the programs above, so sandboxes never depend on the caller's PATH."""
    found = shutil.which(name, path=_SEARCH_PATH)
    if found is None:
        raise HarnessEvalError(f"{name} is not installed (apt-get install {_PROGRAMS[name]})")
    return found


def run(argv: Sequence[str], what: str, stdin: str | None = None, pass_fds: Sequence[int] = ()) -> None:
    """Run a setup step to completion; a failure names the step and carries the program's own complaint."""
    done = subprocess.run(
        list(argv), input=stdin, capture_output=True, text=True, pass_fds=tuple(pass_fds), check=False
    )
    if done.returncode != 0:
        complaint = done.stderr.strip() or done.stdout.strip()
        raise HarnessEvalError(f"{what} failed (exit {done.returncode}): {complaint}")


def check_isolation() -> list[str]:
    """Problems that stop this machine from building worlds; empty when it can (for `doctor` and `World.start`)."""
    problems: list[str] = []
    if os.geteuid() != 0:
        problems.append("not running as root: network namespaces, veth links and per-host sshd need root")
    for name, package in _PROGRAMS.items():
        if shutil.which(name, path=_SEARCH_PATH) is None:
            problems.append(f"{name} is not installed (apt-get install {package})")
    try:
        pwd.getpwnam("sshd")
    except KeyError:
        problems.append("there is no 'sshd' user for privilege separation (reinstall openssh-server)")
    if problems:
        return problems
    # Only the system's programs, not all of /: a recursive bind of / also takes in the mounts of the worlds
    # other processes are building or taking down at that moment (trials of another worker), and fails with them.
    probe = [program("unshare"), "--net", "--", program("bwrap"), "--ro-bind", "/usr", "/usr"]
    probe += [arg for path in ("/bin", "/lib", "/lib64") for arg in ("--ro-bind-try", path, path)]
    probe += ["--unshare-pid", "--unshare-uts", "--unshare-ipc", "--unshare-cgroup", "--cap-drop", "ALL"]
    probe += ["--", "/bin/true"]
    done = subprocess.run(probe, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        problems.append(f"cannot run bubblewrap in a new network namespace: {done.stderr.strip()}")
    return problems


@functools.cache
def require_isolation() -> None:
    """Raise, with every problem listed, if worlds cannot be built; cached as the machine does not change."""
    problems = check_isolation()
    if problems:
        raise HarnessEvalError("this machine cannot isolate trials: " + "; ".join(problems))
