"""The seccomp filter of every sandbox: no process in a world may trace or write into another process.

The agent's account owns the harness and the command shims it starts, so without this filter it could
PTRACE_TRACEME and then exec a shim, steering it before the shim makes itself undumpable, and so forge a command
record that passes every check made from outside (see `monitors/shims.py`). Nothing a world runs needs ptrace
(no debugger is part of any scenario), so the calls are refused outright: `ptrace`, and `process_vm_readv` /
`process_vm_writev`, which read and write another process's memory under the same rules.

Only the machine's own architecture is allowed: a syscall made through another ABI (i386's `int 0x80`, x32 on
x86_64) has other numbers, which this list would not catch, so such a process is killed. The program is classic
BPF, written by hand because it is a dozen instructions and libseccomp is one more system dependency; bubblewrap
installs it (`--seccomp FD`) right before it execs the sandbox's first command, after setting no_new_privs.
"""

from __future__ import annotations

import errno
import platform
import struct

from harness_eval.errors import HarnessEvalError

# (audit architecture, the syscalls refused) per machine; numbers from the kernel's unistd tables.
_ARCHES = {
    "x86_64": (0xC000003E, {"ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311}),
    "aarch64": (0xC00000B7, {"ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271}),
}
_X32_BIT = 0x40000000  # x86_64 syscalls with this bit set are the x32 ABI's

_LD_ABS_W = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET = 0x06  # BPF_RET | BPF_K
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000
_KILL_PROCESS = 0x80000000
# Offsets in struct seccomp_data: int nr; __u32 arch; ...
_NR, _ARCH = 0, 4


def refused() -> list[str]:
    """The names of the syscalls the filter refuses on this machine (for documentation and tests)."""
    return sorted(_arch()[1])


def program() -> bytes:
    """The filter as bubblewrap reads it: an array of `struct sock_filter` in the machine's byte order."""
    arch, calls = _arch()
    numbers = sorted(calls.values())
    # Layout: check arch, load nr, one jump per refused call (and the x32 range), allow, refuse, kill.
    checks = [(_JGE, _X32_BIT)] if platform.machine() == "x86_64" else []
    checks += [(_JEQ, number) for number in numbers]
    allow_at = 3 + len(checks)
    refuse_at, kill_at = allow_at + 1, allow_at + 2
    # Jumps count from the next instruction.
    code = [(_LD_ABS_W, 0, 0, _ARCH), (_JEQ, 0, kill_at - 2, arch), (_LD_ABS_W, 0, 0, _NR)]
    for op, k in checks:
        code.append((op, refuse_at - len(code) - 1, 0, k))
    code += [(_RET, 0, 0, _ALLOW), (_RET, 0, 0, _ERRNO | errno.EPERM), (_RET, 0, 0, _KILL_PROCESS)]
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in code)


def _arch() -> tuple[int, dict[str, int]]:
    machine = platform.machine()
    try:
        return _ARCHES[machine]
    except KeyError:
        raise HarnessEvalError(f"the sandbox's seccomp filter knows no syscall numbers for {machine}") from None
