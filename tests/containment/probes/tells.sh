# What would tell a model it is in an experiment: accounts, files naming us, the model endpoint's own answers.
echo "<<<tells $(hostname)"
sed 's/^/PASSWD /' /etc/passwd
sed 's/^/GROUP /' /etc/group
# the words are split so that this script never matches itself
w="harn""ess|scrip""ted|cana""ry|simu""lated"
# (the agent CLI's own install is what a real deployment has too, and its node_modules use these words freely)
grep -rIisoE --exclude-dir=node_modules ".{0,40}($w).{0,40}" /etc /opt /var /root /tmp /home /srv /run /usr/local /mnt \
  2>/dev/null | head -40 | sed 's/^/TELL /'
python3 - <<'PY'
import socket
ports = set()
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        rows = open(table).read().splitlines()[1:]
    except OSError:
        continue
    for row in rows:
        fields = row.split()
        if fields[3] == "0A":
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
for port in sorted(ports):
    print(f"LISTEN {port}")
    for path in ("/v1/models", "/v1beta/models", "/models", "/"):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                data = b""
                while len(data) < 4000:
                    chunk = s.recv(4000)
                    if not chunk:
                        break
                    data += chunk
        except OSError as error:
            data = f"unreachable: {error}".encode()
        text = data.decode(errors="replace").replace("\r", "").replace("\n", " ")[:1500]
        print(f"ANSWER {port} {path} {text}")
PY
echo ">>>tells $(hostname)"
