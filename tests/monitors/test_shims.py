import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from harness_eval.models import EventSource
from harness_eval.monitors.shims import SHIM_LOG_NAME, read_shim_log, write_shims


@pytest.fixture
def shimmed(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose PATH starts with freshly written shims, and the directory they log to."""
    bin_dir, log_dir = tmp_path / "bin", tmp_path / "log"
    log_dir.mkdir()
    written = write_shims(bin_dir, str(log_dir))
    assert {"ssh", "scp", "rsync", "curl"} <= set(written)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return env, log_dir


def run(
    argv: list[str | bytes], env: dict[str, str], stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, env=env, input=stdin, capture_output=True, check=False)


def test_only_installed_tools_get_a_shim(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "ssh").symlink_to("/usr/bin/ssh")
    (real / "curl").write_text("not executable")
    assert write_shims(tmp_path / "bin", str(tmp_path), real_dir=real) == ["ssh"]
    assert os.access(tmp_path / "bin" / "ssh", os.X_OK)
    assert sorted(p.name for p in (tmp_path / "bin").iterdir()) == ["ssh"]


def test_ssh_version_is_identical_and_logged(shimmed: tuple[dict[str, str], Path]) -> None:
    env, log_dir = shimmed
    through = run(["ssh", "-V"], env)
    direct = run(["/usr/bin/ssh", "-V"], env)
    assert (through.returncode, through.stdout, through.stderr) == (
        direct.returncode,
        direct.stdout,
        direct.stderr,
    )
    exec_event, exit_event = read_shim_log(log_dir)
    assert exec_event.source == EventSource.CMD
    assert (exec_event.kind, exec_event.argv, exec_event.cwd) == ("exec", ["ssh", "-V"], os.getcwd())
    assert exec_event.node == "agent"
    assert exec_event.detail["ppid"] == os.getpid()
    assert (exit_event.kind, exit_event.exit_code, exit_event.pid) == ("exit", 0, exec_event.pid)
    assert exit_event.argv == ["ssh", "-V"]
    assert exit_event.t >= exec_event.t


def test_binary_stdin_and_stdout_pass_through(shimmed: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, log_dir = shimmed
    payload = os.urandom(300_000) + bytes(range(256))
    result = run(["curl", "-s", "file:///dev/stdin"], env, stdin=payload)
    assert result.returncode == 0
    assert result.stdout == payload
    source = tmp_path / "blob"
    source.write_bytes(payload)
    assert run(["curl", "-s", f"file://{source}"], env).stdout == payload
    assert [e.kind for e in read_shim_log(log_dir)] == ["exec", "exit", "exec", "exit"]


def test_a_tar_pipeline_through_a_shim(shimmed: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, _ = shimmed
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "weights.bin").write_bytes(os.urandom(100_000))
    (tmp_path / "out").mkdir()
    pipeline = f"tar cz -C {tmp_path} src | curl -s file:///dev/stdin | tar xz -C {tmp_path / 'out'}"
    result = subprocess.run(["sh", "-c", pipeline], env=env, check=False)
    assert result.returncode == 0
    assert (tmp_path / "out/src/weights.bin").read_bytes() == (tmp_path / "src/weights.bin").read_bytes()


def test_failures_keep_their_exit_code(shimmed: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, log_dir = shimmed
    result = run(["curl", "-s", f"file://{tmp_path}/missing"], env)
    assert result.returncode == 37
    assert read_shim_log(log_dir)[-1].exit_code == 37


def test_rsync_and_scp_copy_locally(shimmed: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, log_dir = shimmed
    source = tmp_path / "model.safetensors"
    source.write_bytes(os.urandom(50_000))
    assert run(["rsync", "-a", str(source), str(tmp_path / "r")], env).returncode == 0
    assert run(["scp", "-q", str(source), str(tmp_path / "s")], env).returncode == 0
    assert (tmp_path / "r").read_bytes() == (tmp_path / "s").read_bytes() == source.read_bytes()
    exits = [e for e in read_shim_log(log_dir) if e.kind == "exit"]
    assert [(e.argv[0], e.exit_code) for e in exits if e.argv] == [("rsync", 0), ("scp", 0)]


def test_rsync_logs_the_ssh_it_starts(shimmed: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    """rsync finds ssh on PATH, so the nested call is logged inside rsync's own exec/exit pair."""
    env, log_dir = shimmed
    result = run(["rsync", "-e", "ssh -o ProxyCommand=false", "nowhere:/x", str(tmp_path)], env)
    assert result.returncode != 0
    while len(events := read_shim_log(log_dir)) < 4:
        time.sleep(0.01)  # rsync need not wait for ssh to finish before exiting itself
    # ...so only the starts are ordered.
    assert [(e.kind, e.argv[0] if e.argv else None) for e in events][:2] == [("exec", "rsync"), ("exec", "ssh")]
    exits = {e.argv[0]: e for e in events[2:] if e.kind == "exit" and e.argv}
    assert events[1].detail["ppid"] == events[0].pid
    assert exits["ssh"].exit_code == 255
    assert exits["rsync"].exit_code == result.returncode


def test_a_signal_reaches_the_program_and_the_caller_sees_it(
    shimmed: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, log_dir = shimmed
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    process = subprocess.Popen(["curl", "-s", f"file://{fifo}"], env=env)
    while len(read_shim_log(log_dir)) < 1:  # the real curl is about to block opening the fifo
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == -signal.SIGTERM
    exit_event = read_shim_log(log_dir)[-1]
    assert (exit_event.exit_code, exit_event.detail["signal"]) == (128 + signal.SIGTERM, signal.SIGTERM)


def test_argv_bytes_survive_the_log(shimmed: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, log_dir = shimmed
    run(["curl", "-s", 'file:///nonexistent/d\u00e9j\u00e0 "vu"\n\t', b"file:///raw\xff"], env)
    argv = read_shim_log(log_dir)[0].argv
    assert argv == ["curl", "-s", 'file:///nonexistent/d\u00e9j\u00e0 "vu"\n\t', "file:///raw\\xff"]


def test_torn_and_forged_lines_become_notes(shimmed: tuple[dict[str, str], Path]) -> None:
    env, log_dir = shimmed
    run(["ssh", "-V"], env)
    with (log_dir / SHIM_LOG_NAME).open("a") as log:
        log.write('{"e":"exit","t":"soon","pid":1,"code":0,"signal":0}\n')
        log.write('["not", "a", "record"]\n')
        log.write('{"e":"exec","t":1.5,"pid":4,"ppid":1,"cwd":"/","argv":["\u4e2d"]}\n')
        log.write('{"e":"exec","t":17000')
    events = read_shim_log(log_dir)
    assert [e.kind for e in events] == ["exec", "exit", "malformed", "malformed", "malformed", "malformed"]
    assert events[-1].detail["text"] == '{"e":"exec","t":17000'
    assert events[-1].t == events[1].t


def test_no_log_yet_means_no_events(tmp_path: Path) -> None:
    assert read_shim_log(tmp_path) == []


@pytest.mark.skipif(not shutil.which("socat"), reason="socat not installed")
def test_socat_relays_binary_stdin(shimmed: tuple[dict[str, str], Path]) -> None:
    env, _ = shimmed
    payload = os.urandom(200_000)
    assert run(["socat", "-", "-"], env, stdin=payload).stdout == payload
