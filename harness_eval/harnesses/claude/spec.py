"""Claude Code's declaration; the facts behind each value are in docs/harnesses/claude.md."""

from harness_eval.harnesses.spec import HarnessSpec, NpmPackage, Wire

SPEC = HarnessSpec(
    name="claude",
    title="Claude Code",
    implementation="harness:ClaudeHarness",
    wire=Wire(api="anthropic_messages"),
    package=NpmPackage(
        # The platform package alone: the `@anthropic-ai/claude-code` wrapper only copies this binary over its
        # placeholder in an install script, which our installs never run. Same version as the wrapper.
        name="@anthropic-ai/claude-code-linux-x64",
        version="2.1.332",
        entry="node_modules/@anthropic-ai/claude-code-linux-x64/claude",  # a native (Bun-compiled) binary
        platforms=("x86_64",),
    ),
    interactive=True,
    instructions_file="CLAUDE.md",
    # How it words a call it refused to run: a permission rule, a prompt nobody answered, or its own block of a
    # command it will not run (a standalone `sleep 600`, for one).
    refusals=(
        "Permission to use",
        "The user doesn't want to proceed",
        "Claude requested permissions",
        "<tool_use_error>Blocked:",
    ),
)
