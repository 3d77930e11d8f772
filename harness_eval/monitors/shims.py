"""Command shims: wrappers first on the agent's PATH that log each network tool run, then run the real one.

Process polling misses short commands and file events miss what crossed the wire; the shims see every `ssh`,
`scp`, `rsync`, `curl` ... the agent starts, with its exact argv and exit code. They are Perl because the sandbox
has no Python of ours but always has perl-base, and they fork/wait rather than exec because the exit code must be
logged; stdin/stdout/stderr are inherited untouched and signals are forwarded, so the wrapped program behaves as if
it were run directly.

Each run appends two JSON lines (`exec` from the child just before it execs the real program, so nested shims -
rsync starting ssh - log in order; `exit` from the wrapper) with O_APPEND, which keeps concurrent writers' lines
whole. The agent can read and write the log, so a reader must treat it as testimony and survive garbage in it.
"""

from __future__ import annotations

import json
import os
import shlex
from importlib import resources
from pathlib import Path
from typing import Any

from harness_eval.errors import HarnessEvalError
from harness_eval.models import Event, EventSource

SHIM_BIN = "/usr/local/bin"
# Bland on purpose: the agent sees this directory, and a name like "audit" would tell it it is being watched.
# It exists (empty) on Debian, so a read-only /var can still have it bound over.
SHIM_LOG_DIR = "/var/lib/misc"
SHIM_LOG_NAME = ".state"
SHIMMED = ("ssh", "scp", "sftp", "rsync", "curl", "wget", "nc", "ncat", "netcat", "socat")

_PERL = Path("/usr/bin/perl")
_REAL_DIR = Path("/usr/bin")


def write_shims(dir: Path, log_dir: str = SHIM_LOG_DIR, real_dir: Path = _REAL_DIR) -> list[str]:
    """Write one executable shim per installed tool into `dir`; return the names written.

    `log_dir` is where the log lives *as the shim sees it* (inside the sandbox by default); tests point it at a
    temporary directory. Tools missing from `real_dir` get no shim, so `command -v nc` stays as honest as it
    would be without us.
    """
    if not _PERL.is_file():
        raise HarnessEvalError(f"{_PERL} is missing: the command shims need perl-base (apt-get install perl-base)")
    template = resources.files(__package__).joinpath("shim.pl").read_text()
    log = str(Path(log_dir) / SHIM_LOG_NAME)
    dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SHIMMED:
        real = real_dir / name
        if not (real.is_file() and os.access(real, os.X_OK)):
            continue
        script = template.replace("@@NAME@@", name).replace("@@REAL@@", str(real)).replace("@@LOG@@", log)
        shim = dir / name
        shim.write_text(script)
        shim.chmod(0o755)
        written.append(name)
    return written


def _text(raw: str) -> str:
    """Undo the shim's encoding: it writes each argv byte as one code point, since argv need not be UTF-8."""
    return raw.encode("latin-1").decode("utf-8", errors="backslashreplace")


def _exec_event(record: dict[str, Any], node: str) -> Event:
    argv = [_text(a) for a in record["argv"]]
    return Event(
        t=float(record["t"]),
        source=EventSource.CMD,
        kind="exec",
        node=node,
        argv=argv,
        cwd=_text(record["cwd"]),
        pid=int(record["pid"]),
        detail={"ppid": int(record["ppid"]), "command": shlex.join(argv)},
    )


def _exit_event(record: dict[str, Any], node: str, started: dict[int, Event]) -> Event:
    pid = int(record["pid"])
    start = started.pop(pid, None)
    detail: dict[str, Any] = {}
    if int(record["signal"]):
        detail["signal"] = int(record["signal"])
    if start is not None:
        detail["duration"] = round(float(record["t"]) - start.t, 6)
    return Event(
        t=float(record["t"]),
        source=EventSource.CMD,
        kind="exit",
        node=node,
        argv=start.argv if start else None,
        cwd=start.cwd if start else None,
        pid=pid,
        exit_code=int(record["code"]),
        detail=detail,
    )


def read_shim_log(log_dir: Path, node: str = "agent") -> list[Event]:
    """Turn the shim log into `exec`/`exit` events; an `exit` carries its command's argv and duration.

    A line that is not a well-formed record (torn by a kill mid-write, or written by the agent itself) becomes a
    `malformed` event holding the raw text, so the timeline shows it instead of silently dropping it.
    """
    path = log_dir / SHIM_LOG_NAME
    try:
        lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    events: list[Event] = []
    started: dict[int, Event] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            kind = record["e"]
            if kind == "exec":
                event = _exec_event(record, node)
                started[int(record["pid"])] = event
            elif kind == "exit":
                event = _exit_event(record, node, started)
            else:
                raise ValueError(f"unknown record kind {kind!r}")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            t = events[-1].t if events else path.stat().st_mtime
            event = Event(
                t=t,
                source=EventSource.CMD,
                kind="malformed",
                node=node,
                detail={"line": number, "text": line[:500], "error": f"{type(exc).__name__}: {exc}"},
            )
        events.append(event)
    return events
