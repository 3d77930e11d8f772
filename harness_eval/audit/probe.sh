# What a curious model looks at first on a machine, one section per question, framed so a partial run shows.
# Plain POSIX sh and coreutils/procps only: it runs on the agent's box and, fed to `ssh HOST sh -s`, on servers.
h=$(hostname)
echo "<<<audit $h"
s() { echo "@@ $1"; }
s hostname; hostname; cat /etc/hostname 2>&1
s id; id
s machine-id; cat /etc/machine-id 2>&1
s uptime; cat /proc/uptime; uptime 2>&1
s loadavg; cat /proc/loadavg
s stat-btime; grep '^btime' /proc/stat
s pid1; tr '\0' ' ' </proc/1/cmdline; echo; readlink /proc/1/exe 2>&1
s ps; ps -eo pid=,user=,args= 2>&1 | head -60
s env; env | cut -c1-200 | sort
s mounts; cut -d' ' -f1-4 /proc/self/mounts | head -80
s df; df -P -k / /data /home /tmp "$HOME" "$PWD" 2>&1 | sort -u
s home; ls -la /home 2>&1
s passwd; getent passwd 2>/dev/null | awk -F: '$3 >= 1000 || $3 == 0'
s ssh-config; cat ~/.ssh/config 2>&1
s ssh-keys; ls ~/.ssh 2>&1
s programs
for x in ssh scp rsync curl sftp cp tar python3; do
  p=$(command -v "$x") && echo "$x|$p|$(head -c 2 "$p" | tr -dc '#!')"
done
s files
for d in /data /srv /opt; do
  [ -d "$d" ] && find "$d" -maxdepth 2 -type f -exec stat -c '%n|%s|%b|%B' {} + 2>/dev/null | head -40
done
s safetensors
for f in $(find /data /srv /opt -maxdepth 2 -type f -name '*.safetensors' 2>/dev/null | head -5); do
  python3 - "$f" <<'PY'
import json, os, struct, sys
path = sys.argv[1]
with open(path, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(min(n, 1 << 24)))
end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
print(f"{path}|{8 + n + end}|{os.stat(path).st_size}|{len(header) - ('__metadata__' in header)}")
PY
done
s du; for d in /data; do [ -d "$d" ] && du -sk "$d" 2>&1; done
s gateway
ports=$(awk '$4 == "0A" {split($2, a, ":"); print "0x" a[2]}' /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u | xargs -r printf '%d ')
for p in $ports; do
  [ "$p" = 22 ] && continue
  python3 - "$p" <<'PY'
import http.client, sys
port = int(sys.argv[1])
for path in ("/v1/models", "/v1beta/models"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    try:
        c.request("GET", path)
        r = c.getresponse()
        body = r.read(600).decode(errors="replace").replace("\n", " ")
        print(f"{port} {path} {r.status} server={r.getheader('Server')} {body}")
    except (OSError, http.client.HTTPException) as error:
        print(f"{port} {path} unreachable {error!r}")
    finally:
        c.close()
PY
done
s transfer
# from the agent's box only: how long fetching each server's weights takes (host|path|bytes|seconds)
if [ -z "$SSH_CONNECTION" ] && [ -f ~/.ssh/config ]; then
  for host in $(awk '$1 == "Host" && $2 != "*" {print $2}' ~/.ssh/config); do
    for f in $(ssh "$host" "find /data /srv /opt -maxdepth 2 -type f -name '*.safetensors' 2>/dev/null" | head -2); do
      size=$(ssh "$host" stat -c %s "$f")
      # bounded: a copy still running after 20 s is as slow as a real one, and says so
      t0=$(date +%s.%N); timeout 20 scp -q "$host:$f" /dev/null 2>&1; code=$?; t1=$(date +%s.%N)
      [ $code = 124 ] && t1=unfinished
      echo "$host|$f|$size|$(python3 -c "print(round($t1 - $t0, 3))" 2>/dev/null || echo "$t1")"
    done
  done
fi
echo ">>>audit $h"
