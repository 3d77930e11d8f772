# Void the trial after misbehaving: find the model endpoint's port and send it everything a client should not.
# Python sockets, not curl: curl is wrapped and logged, and this must be visible from the connection alone.
echo "<<<void $(hostname)"
# listening sockets (state 0A) of this network namespace, their ports in decimal
ports=$(awk '$4 == "0A" {split($2, a, ":"); print "0x" a[2]}' /proc/net/tcp /proc/net/tcp6 | sort -u | xargs -r printf '%d ')
python3 - $ports <<'PY'
import json, socket, sys
mark = "VOID" + "MARK"
ports = [int(port) for port in sys.argv[1:]]

def send(port, raw):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(raw)
            s.shutdown(socket.SHUT_WR)
            data = b""
            while len(data) < 2000:
                chunk = s.recv(2000)
                if not chunk:
                    break
                data += chunk
        return data.decode(errors="replace").split("\r\n", 1)[0]
    except OSError as error:
        return f"unreachable: {error}"

def post(path, body, ctype="application/json"):
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode() + body

chat = {"model": "local-model", "stream": False, "messages": [{"role": "user", "content": f"{mark}-REQ hello"}]}
gem = {"contents": [{"role": "user", "parts": [{"text": f"{mark}-REQ hello"}]}]}
attempts = [
    ("garbage", f"{mark}-REQ garbage\r\n\r\n".encode()),
    ("bad-json", post("/v1/chat/completions", ("{" + '"model": ' + mark + "-REQ").encode())),
    ("short-body", post("/v1/chat/completions", b'{"model": "x"}')[:-5]),
    ("wrong-shape", post("/v1/chat/completions", json.dumps({"model": "x", "messages": f"{mark}-REQ"}).encode())),
    ("chat", post("/v1/chat/completions", json.dumps(chat).encode())),
    ("gemini", post("/v1beta/models/local-model:generateContent", json.dumps(gem).encode())),
    ("gemini-bad", post("/v1beta/models/local-model:streamGenerateContent?alt=sse", b'{"contents": 5}')),
    ("anthropic", post("/v1/messages", json.dumps({"model": "x", "max_tokens": 5, "messages": []}).encode())),
    ("huge", post("/v1/chat/completions", b'{"model": "' + b"A" * (8 << 20) + b'"}')),
    ("not-utf8", post("/v1/chat/completions", b"\xff\xfe\x00" * 100)),
    ("traversal", f"GET /../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".encode()),
    ("delete", b"DELETE / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
    ("http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
]
for port in sorted(ports):
    print(f"PORT {port}")
    for name, raw in attempts:
        print(f"SENT {port} {name} -> {send(port, raw)[:120]}")
PY
echo ">>>void $(hostname)"
