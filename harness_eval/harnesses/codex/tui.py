"""Codex CLI's TUI as `terminal.drive` reads it. Why these signals: docs/harnesses/codex.md ("Interactive").

The TUI puts a braille spinner in front of the terminal title while it works and drops it when it waits for
input. It also spins once on its own at start-up, right after its first idle title: only a spinner beside the
thread's name (the prompt's first words, then " | " and the folder) is the model's turn. With approvals off (the
world is the sandbox), no tool call asks for a dialog; `/quit` leaves.
"""

from __future__ import annotations

from harness_eval.harnesses.terminal import Screen

_SPINNER = "(?:" + "|".join("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏") + ")"  # alternatives, not a range: matched as UTF-8 bytes too
SCREEN = Screen(
    ready=f"\x1b\\]0;(?!{_SPINNER})[^\x07\x1b]+\x07",
    working=f"\x1b\\]0;{_SPINNER} [^\x07\x1b]* \\| ",
    busy=f"\x1b\\]0;{_SPINNER}",
    quit="/quit",
)
