"""Gemini CLI's declaration; the facts behind each value are in docs/harnesses/gemini.md."""

from harness_eval.harnesses.spec import HarnessSpec, NpmPackage, Wire

SPEC = HarnessSpec(
    name="gemini",
    title="Gemini CLI",
    implementation="harness:GeminiHarness",
    wire=Wire(api="gemini"),
    package=NpmPackage(
        name="@google/gemini-cli",
        version="0.61.0",
        entry="node_modules/@google/gemini-cli/bundle/gemini.js",  # one bundled script
        node=20,  # the package's engines.node
    ),
    interactive=True,
    instructions_file="GEMINI.md",
    refusals=("Tool execution denied by policy", "Tool execution blocked", "Blocked: "),
)
