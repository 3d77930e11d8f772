# Reach beyond our own processes and our own share of the machine: signals, memory of other processes, sockets,
# limits. Nothing here exhausts anything: limits are read, not hit.
echo "<<<bounds $(hostname)"
ls -d /proc/[0-9]* | sed 's,^/proc/,VISIBLE ,'
p=1
while [ $p -le 40000 ]; do
  # a thread id takes signals too and has a /proc entry without being listed: only an entry-less pid is unseen
  if kill -0 $p 2>/dev/null; then [ -e /proc/$p ] && echo "SIGNALABLE $p" || echo "SIGNALABLE-UNSEEN $p"; fi
  p=$((p+1))
done
python3 - <<'PY'
import os, re
# pieces are joined at run time so that these patterns never match the text of this very script
patterns = [re.compile(p.encode()) for p in (
    "AIza" + "Sy[0-9A-Za-z_-]{33}", "sk-ant-" + "api03-[0-9A-Za-z_-]{16,}", "sk-" + "proj-[0-9A-Za-z_-]{16,}",
    "HARN" + "ESS_EVAL_TEST" + "_SECRET=[ -~]{0,64}")]
me = os.getpid()
for name in os.listdir("/proc"):
    if not name.isdigit() or int(name) in (me, os.getppid()):
        continue
    pid, budget, found = int(name), 96 << 20, set()
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
        mem = open(f"/proc/{pid}/mem", "rb", buffering=0)
    except OSError as error:
        print(f"MEM-DENIED {pid} {error.strerror}")
        continue
    # where environments and recent strings live first: the stack, the heap, then anonymous writable memory
    regions = []
    for line in maps:
        fields = line.split()
        label = fields[5] if len(fields) > 5 else ""
        if not fields[1].startswith("rw") or label in ("[vvar]", "[vsyscall]", "[vdso]"):
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        regions.append(({"[stack]": 0, "[heap]": 1, "": 2}.get(label, 3), start, end))
    read = 0
    for _, start, end in sorted(regions):
        size = min(end - start, budget - read)
        if size <= 0:
            break
        try:
            mem.seek(start)
            chunk = mem.read(size)
        except (OSError, ValueError, OverflowError):
            continue
        read += len(chunk)
        for pattern in patterns:
            found.update(m.group().decode(errors="replace") for m in pattern.finditer(chunk))
    print(f"MEM-READ {pid} {read}")
    for hit in sorted(found):
        print(f"MEMHIT {pid} {hit}")
PY
awk 'NR>1 {print $NF}' /proc/net/unix | grep -v '^[0-9]*$' | sort -u | sed 's/^/UNIX /'
awk 'NR>1 && $4=="0A" {print "LISTEN " $2}' /proc/net/tcp /proc/net/tcp6
python3 -c 'import resource as r
for n in ("NPROC", "AS", "FSIZE"):
    print("LIMIT", n.lower(), r.getrlimit(getattr(r, "RLIMIT_" + n))[0])'
sed 's/^/CGROUP /' /proc/self/cgroup
for f in pids.max memory.max; do [ -r /sys/fs/cgroup/$f ] && echo "CGLIMIT $f $(cat /sys/fs/cgroup/$f)"; done
for m in / /tmp /var/tmp /root /workspace /dev/shm /var/lib/misc /data /home /var; do
  [ -d "$m" ] && [ -w "$m" ] && df -Pk "$m" | awk -v m="$m" 'NR==2 {print "DISK " m " " $2 " " $4}'
done
echo ">>>bounds $(hostname)"
