"""The custom loop's declaration: nothing to install (it ships with harness-eval), OpenAI chat on the wire."""

from harness_eval.harnesses.spec import HarnessSpec, Wire

SPEC = HarnessSpec(
    name="custom",
    title="the custom tool loop",
    implementation="harness:CustomHarness",
    wire=Wire(api="openai_chat"),  # agent.py speaks OpenAI chat completions, as the study's own loop did
)
