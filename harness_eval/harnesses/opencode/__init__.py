"""`--cli opencode`: OpenCode as the agent, through `opencode run` (see docs/harnesses/opencode.md)."""
