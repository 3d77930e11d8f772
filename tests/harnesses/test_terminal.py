"""The shared TUI driver against a TUI that works on its own after its first ready screen and drops what is typed
meanwhile, as one real CLI does at start-up: the prompt must still arrive, once, and the session end cleanly."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pexpect
import pytest

from harness_eval.harnesses.terminal import Screen, drive

PROMPT = "tidy the notes"
# A TUI in a raw pty: titles are its state; "*" in front means it is at work, " | " marks a turn on the prompt.
_FAKE = textwrap.dedent(
    """
    import os, sys, termios, time, tty
    tty.setraw(0)
    def title(text):
        sys.stdout.write(f"\\x1b]0;{text}\\x07"); sys.stdout.flush()
    def line():
        got = b""
        while not got.endswith(b"\\r"):
            got += os.read(0, 1)
        return got[:-1].decode()
    title("w")
    time.sleep(float(sys.argv[1]))
    title("* w")  # its own start-up work: keys typed now are thrown away
    time.sleep(0.8)
    termios.tcflush(0, termios.TCIFLUSH)
    title("w")
    prompt = line()
    while not prompt:  # a return on an empty input does nothing, as in the real TUIs
        prompt = line()
    open(sys.argv[2], "w").write(prompt)
    title(f"* {prompt} | w")
    time.sleep(0.3)
    title(f"{prompt} | w")
    sys.exit(0 if line() == "/quit" else 4)
    """
)
SCREEN = Screen(
    ready=r"\x1b\]0;(?!\*)[^\x07]+\x07", working=r"\x1b\]0;\* [^\x07]* \| ", quit="/quit", busy=r"\x1b\]0;\*"
)


@pytest.mark.parametrize("late", [0.1, 0.6], ids=["work-at-once", "work-after-a-pause"])
def test_prompt_waits_for_the_tuis_own_start_up_work(tmp_path: Path, late: float) -> None:
    script, seen = tmp_path / "tui.py", tmp_path / "prompt.txt"
    script.write_text(_FAKE)
    child = pexpect.spawn(sys.executable, [str(script), str(late), str(seen)], encoding="utf-8", timeout=30)
    try:
        drive(child, PROMPT, SCREEN)
    finally:
        child.close(force=True)
    assert seen.read_text() == PROMPT
    assert child.exitstatus == 0
