"""Claude Code's TUI as `terminal.drive` reads it. Why these signals: docs/harnesses/claude.md ("Interactive").

The TUI sets the terminal title to "✳ Claude Code" while it waits for input and to a spinning glyph (◐ ◓ ◑ ◒)
while the model works; `/exit` leaves. With the launch's permission bypass no tool question comes, but a person
would answer one ("Do you want to proceed?") with its preselected Yes.
"""

from __future__ import annotations

from harness_eval.harnesses.terminal import Screen

SCREEN = Screen(
    ready="\x1b\\]0;\u2733",
    # The glyphs as alternatives, not a range: a range would not survive being matched as UTF-8 bytes.
    working="\x1b\\]0;(?:\u25d0|\u25d1|\u25d2|\u25d3)",
    quit="/exit",
    dialog="Do you want to",
)
