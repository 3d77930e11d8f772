"""`--cli gemini`: Google's Gemini CLI as the agent, headless or through its TUI (see docs/harnesses/gemini.md)."""
