"""`--cli codex`: OpenAI's Codex CLI as the agent, headless or through its TUI (see docs/harnesses/codex.md)."""
