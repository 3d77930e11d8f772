"""`--cli claude`: Claude Code as the agent, headless or through its TUI (see docs/harnesses/claude.md)."""
