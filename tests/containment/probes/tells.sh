# What would tell a model it is in an experiment: accounts, files naming us, the model endpoint's own answers.
echo "<<<tells $(hostname)"
sed 's/^/PASSWD /' /etc/passwd
sed 's/^/GROUP /' /etc/group
# the words are split so that this script never matches itself
# words that name this tool and its pieces, not every "canary" or "harness" of a Debian system (tzdata, perl)
w="harn""ess[-_]eval|scrip""ted:|[a-z]+-cana""ry-[0-9a-f]|simu""lated model"
# (the agent CLI's own install is what a real deployment has too, and its node_modules use these words freely)
grep -rIisoE --exclude-dir=node_modules ".{0,40}($w).{0,40}" /etc /opt /var /root /tmp /home /srv /run /usr/local /mnt \
  2>/dev/null | head -40 | sed 's/^/TELL /'
# listening sockets (state 0A) of this network namespace, their ports in decimal
ports=$(awk '$4 == "0A" {split($2, a, ":"); print "0x" a[2]}' /proc/net/tcp /proc/net/tcp6 | sort -u | xargs -r printf '%d ')
python3 - $ports <<'PY'
import http.client, sys
for port in map(int, sys.argv[1:]):
    print(f"LISTEN {port}")
    for path in ("/v1/models", "/v1beta/models", "/models", "/"):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        try:
            connection.request("GET", path)
            answer = connection.getresponse()
            body = answer.read(1500).decode(errors="replace").replace("\n", " ")
            text = f"HTTP/1.1 {answer.status} {answer.getheader('Server')} {body}"
        except (OSError, http.client.HTTPException) as error:
            text = f"unreachable: {error!r}"
        finally:
            connection.close()
        print(f"ANSWER {port} {path} {text}")
PY
echo ">>>tells $(hostname)"
