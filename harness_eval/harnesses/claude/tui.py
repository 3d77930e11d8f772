"""Playing the person at Claude Code's TUI through a pty: type the prompt, answer any dialog, quit when done.

Why these signals and timings: docs/harnesses/claude.md ("Interactive").
"""

from __future__ import annotations

import re
from typing import Any

import pexpect

# The TUI sets the terminal title to "✳ Claude Code" when it waits for input and to a spinning glyph (◐ ◓ ◑ ◒)
# while the model works: the one signal that does not depend on screen layout.
_TITLE_READY = "\x1b\\]0;\u2733"
_TITLE_WORKING = "\x1b\\]0;(?:\u25d0|\u25d1|\u25d2|\u25d3)"  # alternatives, not a range: also as bytes
# A tool-permission question ("Do you want to proceed?" over "1. Yes"); the launch's permission bypass
# should leave none, but a person would answer one with its preselected first option.
_QUESTION = "Do you want to"
_SETTLE_SECONDS = 0.5  # screen silence that means the TUI has finished a redraw
_SUBMIT_TRIES, _SUBMIT_WAIT = 5, 5.0  # the working title follows a taken return at once, even on a busy machine


def drive(child: pexpect.spawn, prompt: str) -> None:
    """Be the person at the TUI: type the prompt, answer every dialog, quit once the model has finished.

    The runner owns the timeout: it kills the child, and the EOF that follows ends this function.
    """
    child.setwinsize(50, 160)
    ready, working, question = (_pattern(child, p) for p in (_TITLE_READY, _TITLE_WORKING, _QUESTION))
    if child.expect([ready, pexpect.EOF], timeout=None) == 1 or not _settle(child):
        return
    # Text and a return arriving together read as a paste (the return becomes a newline), so the return goes
    # on its own once the text is drawn, and again if the TUI was not yet taking input.
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
        seen = child.expect([question, ready, pexpect.EOF], timeout=None)
        if seen == 0:
            if _settle(child):
                child.send("\r")  # the first option, "Yes", is preselected
        elif seen == 1:
            break
        else:
            return
    child.send("/exit")
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
