"""Gemini CLI's TUI as `terminal.drive` reads it. Why these signals: docs/harnesses/gemini.md ("Interactive").

The TUI sets the terminal title to its state ("◇ Ready", "✦ Working"); each tool call asks for approval in a
dialog whose first option, "Allow once", is preselected; `/quit` leaves.
"""

from __future__ import annotations

from harness_eval.harnesses.terminal import Screen

SCREEN = Screen(ready=r"\x1b\]0;\W*Ready", working=r"\x1b\]0;\W*Working", quit="/quit", dialog=r"Allow once")
