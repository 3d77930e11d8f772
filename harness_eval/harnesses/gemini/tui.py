"""Playing the person at Gemini CLI's TUI through a pty: type the prompt, approve each dialog, quit when done.

Why these signals and timings: docs/harnesses/gemini.md ("Interactive").
"""

from __future__ import annotations

import re
from typing import Any

import pexpect

# The TUI sets the terminal title to its state; it is the one signal that does not depend on screen layout.
_TITLE_READY = r"\x1b\]0;\W*Ready"
_TITLE_WORKING = r"\x1b\]0;\W*Working"
_APPROVAL = r"Allow once"
_SETTLE_SECONDS = 0.5  # screen silence that means the TUI has finished a redraw
_SUBMIT_TRIES, _SUBMIT_WAIT = 5, 5.0  # the Working title follows a taken return at once, even on a busy machine


def drive(child: pexpect.spawn, prompt: str) -> None:
    """Be the person at the TUI: type the prompt, approve every dialog, quit once the model has finished.

    The runner owns the timeout: it kills the child, and the EOF that follows ends this function.
    """
    child.setwinsize(50, 160)
    ready, working, approval = (_pattern(child, p) for p in (_TITLE_READY, _TITLE_WORKING, _APPROVAL))
    if child.expect([ready, pexpect.EOF], timeout=None) == 1 or not _settle(child):
        return
    # The TUI treats text and a return that arrive together as a paste, so the return goes separately, and
    # a return sent while it is still setting up its input is lost: resend it until the model is working.
    child.send(prompt)
    if not _settle(child):
        return
    for _ in range(_SUBMIT_TRIES):
        child.send("\r")
        seen = child.expect([working, pexpect.EOF, pexpect.TIMEOUT], timeout=_SUBMIT_WAIT)
        if seen == 1:
            return
        if seen == 0:
            break
    else:
        child.expect([pexpect.EOF], timeout=None)  # never started: leave it to the runner's timeout
        return
    while True:
        seen = child.expect([approval, ready, pexpect.EOF], timeout=None)
        if seen == 0:
            child.send("\r")  # the first option, "Allow once", is preselected
        elif seen == 1:
            break
        else:
            return
    child.send("/quit")
    if _settle(child):
        child.send("\r")
        child.expect([pexpect.EOF], timeout=None)


def _settle(child: pexpect.spawn) -> bool:
    """Wait until the TUI stops drawing (keys sent mid-redraw can be lost); False if it exited instead."""
    try:
        while True:
            child.read_nonblocking(65536, timeout=_SETTLE_SECONDS)
    except pexpect.TIMEOUT:
        return True
    except pexpect.EOF:
        return False


def _pattern(child: pexpect.spawn, regex: str) -> re.Pattern[Any]:
    """Compile for the child's stream type: the runner may spawn in bytes or text mode."""
    return re.compile(regex.encode() if child.string_type is bytes else regex)
