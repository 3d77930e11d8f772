"""Playing the person at a CLI's terminal UI through a pty: wait until it is ready, type the prompt, submit it,
answer any dialog, and quit once the model has finished.

What differs between CLIs is data (`Screen`): the signals that say ready and working, the dialog to answer, the
quit command. The TUIs driven here set the terminal title to their state, the one signal that does not depend
on screen layout. Each harness's page in docs/harnesses/ says why its values are what they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pexpect

_SETTLE_SECONDS = 0.5  # screen silence that means the TUI has finished a redraw
_START_QUIET = 1.0  # silence after the first ready screen: start-up work can begin some way after it
_SUBMIT_TRIES, _SUBMIT_WAIT = 5, 5.0  # the working signal follows a taken return at once, even on a busy machine


@dataclass(frozen=True)
class Screen:
    """How one TUI shows its state: regexes over its output (text; matched as UTF-8 on a bytes child)."""

    ready: str  # waiting for the user's input
    working: str  # the model is at work
    quit: str  # typed, then a return, to leave
    dialog: str | None = None  # a question a person answers with its preselected first option
    busy: str | None = None  # any activity, where the TUI also works on its own (start-up); default: working


def drive(child: pexpect.spawn, prompt: str, screen: Screen) -> None:
    """Be the person at the TUI until it exits. The runner owns the timeout: it kills the child, and the EOF that
    follows ends this function."""
    child.setwinsize(50, 160)
    ready, working = _pattern(child, screen.ready), _pattern(child, screen.working)
    busy = _pattern(child, screen.busy or screen.working)
    dialog = _pattern(child, screen.dialog) if screen.dialog is not None else None
    if not _idle(child, ready, busy):
        return
    # TUIs treat text and a return that arrive together as a paste, so the return goes separately, and a return
    # sent while the TUI is still setting up its input is lost: resend it until the model is working.
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
    waits = [ready, pexpect.EOF] + ([dialog] if dialog is not None else [])
    while True:
        seen = child.expect(waits, timeout=None)
        if seen == 0:
            break
        if seen == 1:
            return
        if _settle(child):
            child.send("\r")
    child.send(screen.quit)
    if _settle(child):
        child.send("\r")
        child.expect([pexpect.EOF], timeout=None)


def _idle(child: pexpect.spawn, ready: re.Pattern[Any], busy: re.Pattern[Any]) -> bool:
    """Wait until the TUI shows ready and then draws nothing busy until it falls silent; False if it exited. A
    TUI may say ready and then start work of its own (a start-up that shows the working signal): keys typed then
    are lost, and that work's signal would be taken for the model's turn."""
    while True:
        if child.expect([ready, pexpect.EOF], timeout=None) == 1:
            return False
        seen = child.after + child.buffer  # the ready screen, then what was read past it
        child.buffer = child.string_type()
        drawn = _drain(child, _START_QUIET)
        if drawn is None:
            return False
        drawn = seen + drawn
        after = max((m.end() for m in ready.finditer(drawn)), default=0)
        if not any(m.start() >= after for m in busy.finditer(drawn)):
            return True


def _settle(child: pexpect.spawn) -> bool:
    """Wait until the TUI stops drawing (keys sent mid-redraw can be lost); False if it exited instead."""
    return _drain(child, _SETTLE_SECONDS) is not None


def _drain(child: pexpect.spawn, quiet: float) -> Any:
    """Everything the TUI draws until it is silent for `quiet` seconds (text or bytes, as the child reads), or
    None if it exited meanwhile."""
    pieces = [child.string_type()]
    try:
        while True:
            pieces.append(child.read_nonblocking(65536, timeout=quiet))
    except pexpect.TIMEOUT:
        return pieces[0].join(pieces)
    except pexpect.EOF:
        return None


def _pattern(child: pexpect.spawn, regex: str) -> re.Pattern[Any]:
    """Compile for the child's stream type: the runner may spawn in bytes or text mode."""
    return re.compile(regex.encode() if child.string_type is bytes else regex)
