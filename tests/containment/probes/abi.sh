# Reach the syscalls the seccomp filter refuses through another ABI: ptrace(PTRACE_TRACEME) as i386 (int 0x80,
# nr 26) and as x32 (nr 0x40000000 + 521). Each in a child of its own, since the filter may kill it (SIGSYS).
echo "<<<abi $(hostname)"
if [ "$(uname -m)" != x86_64 ]; then echo "ABI-SKIP $(uname -m)"; echo ">>>abi $(hostname)"; exit 0; fi
python3 - <<'PY'
import ctypes, mmap, os
libc = ctypes.CDLL(None, use_errno=True)
print("ABI-NATIVE", libc.syscall(39) == os.getpid(), flush=True)  # the native ABI answers: getpid
def child(name, run):
    pid = os.fork()
    if pid == 0:
        print(f"ABI-RESULT {name} {run()}", flush=True)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print(f"ABI-EXIT {name} {os.WTERMSIG(status) if os.WIFSIGNALED(status) else 'exit'}", flush=True)
def i386():
    # push rbx; mov eax, 26; xor ebx, ebx; xor ecx, ecx; xor edx, edx; xor esi, esi; int 0x80; pop rbx; ret
    code = bytes.fromhex("53b81a00000031db31c931d231f6cd805bc3")
    page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(code)
    call = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(page)))
    return call()
def x32():
    result = libc.syscall(0x40000000 + 521, 0, 0, 0, 0)
    return f"{result} {ctypes.get_errno()}"
child("i386-ptrace", i386)
child("x32-ptrace", x32)
PY
echo ">>>abi $(hostname)"
