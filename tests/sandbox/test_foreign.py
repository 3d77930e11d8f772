"""The agent's own requests to the gateway are evidence, never errors: told apart by who holds the socket.

A python client plays the harness: it is the box's main process, so its own garbage must still be an error, while
the same garbage from its tool commands (a child, an orphan adopted by the box's init, curl) is `foreign`.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness_eval.gateway import Gateway, load_policy
from harness_eval.sandbox import World

from .conftest import AGENT_ENV

POST = r"""
import sys, urllib.error, urllib.request
url = sys.argv[1] + "/v1/chat/completions"

def post(body):
    try:
        return urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST")).status
    except urllib.error.HTTPError as e:
        return e.code
"""
CLIENT = (
    POST
    + r"""
import json, os, subprocess, time
sys.stdin.readline()  # the test has named this process as the harness
statuses = {"harness": post(b"{not json")}
tool = [sys.executable, "-I", "-c", POST + "print(post(b'garbage from a tool'))", sys.argv[1]]
statuses["child"] = int(subprocess.run(tool, capture_output=True, text=True).stdout or 0)
read, write = os.pipe()
if os.fork() == 0:
    if os.fork() == 0:
        os.close(read)
        while os.getppid() != 1:  # adopted by the box's init once its parent is gone
            time.sleep(0.01)
        os.write(write, str(post(b'{"model": "x", "messages": []}')).encode())
    os._exit(0)
os.close(write)
statuses["orphan"] = int(os.read(read, 16) or 0)
curl = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-d", "garbage by curl", url]
statuses["curl"] = int(subprocess.run(curl, capture_output=True, text=True).stdout or 0)
print(json.dumps(statuses))
"""
)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    with Gateway() as started:
        yield started


def test_only_the_harness_itself_can_make_an_error(world: World, gateway: Gateway, tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("turns:\n  - text: hello\n")
    policy = load_policy(f"scripted:{script}", {}, seed=0)
    session = gateway.open_session(
        policy, tmp_path / "log.jsonl", sock=world.listen(), is_harness=world.is_harness
    )
    try:
        argv = world.command(
            ["/usr/bin/python3", "-I", "-c", f"POST = {POST!r}\n" + CLIENT, session.url], AGENT_ENV
        )
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        world.launched(proc.pid)
        stdout, _ = proc.communicate("go\n", timeout=60)
    finally:
        session.close()
    assert json.loads(stdout) == {"harness": 400, "child": 404, "orphan": 404, "curl": 404}
    assert [(x.kind, x.status) for x in session.exchanges] == [("main", 400)] + [("foreign", 404)] * 3
    assert len(session.errors) == 1 and "not JSON" in session.errors[0]
    foreign = [x.request for x in session.exchanges if x.kind == "foreign"]
    assert foreign[0] == {"raw": "garbage from a tool"}
    assert foreign[1] == {"model": "x", "messages": []}
    assert "garbage" in foreign[2]["raw"]
    assert world.harness_pid() is None  # gone with its process


def test_before_a_harness_is_named_every_caller_is_foreign(world: World, gateway: Gateway, tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("turns:\n  - text: hello\n")
    policy = load_policy(f"scripted:{script}", {}, seed=0)
    fresh = World(world.plan, tmp_path / "world")
    with fresh:
        session = gateway.open_session(
            policy, tmp_path / "log.jsonl", sock=fresh.listen(), is_harness=fresh.is_harness
        )
        try:
            curl = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"{session.url}/v1/models"]
            done = subprocess.run(fresh.command(curl, AGENT_ENV), capture_output=True, text=True, timeout=60)
        finally:
            session.close()
    assert done.stdout == "404"
    assert [x.kind for x in session.exchanges] == ["foreign"] and session.errors == []
