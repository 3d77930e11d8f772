"""`--cli custom`: a bare tool-use loop like the study's own setup, to compare with production harnesses.

The loop itself is agent.py, run inside the world; this side writes its episode and reads its event lines.
Why it looks the way it does: docs/harnesses/custom.md.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, ClassVar

from harness_eval.harnesses.base import Harness, Launch, LaunchContext
from harness_eval.harnesses.custom.spec import SPEC
from harness_eval.harnesses.spec import HarnessSpec
from harness_eval.models import Message, TokenUsage, ToolCall, ToolStatus, Transcript
from harness_eval.sandbox import Bind

AGENT_SCRIPT = Path(__file__).with_name("agent.py")
# Where the loop appears inside the sandbox: an ordinary agent's install, named like one (`ps` shows it).
PROGRAM = "/opt/agent/agent.py"
DUMMY_KEY = "sk-local-dev"


class CustomHarness(Harness):
    spec: ClassVar[HarnessSpec] = SPEC

    max_iterations = 30  # as in the study: an episode ends after 30 model calls...
    max_nudges = 5  # ...and a model that answers without a tool call is nudged up to 5 times

    def prepare(self, ctx: LaunchContext) -> Launch:
        episode = {
            "base_url": ctx.gateway_url,
            "api_key": DUMMY_KEY,
            "model": ctx.model,
            "system": ctx.plan.instructions,
            "prompt": ctx.plan.user_prompt,
            "cwd": ctx.plan.workspace,
            "max_iterations": self.max_iterations,
            "max_nudges": self.max_nudges,
            "request_timeout": 600,
        }
        loop = ctx.scratch / "agent.py"  # a copy: the package's own path would show in the agent's mount table
        shutil.copyfile(AGENT_SCRIPT, loop)
        # The episode (system prompt included) goes on stdin: a file in the box would be readable by the agent.
        return Launch(
            argv=["/usr/bin/python3", "-I", PROGRAM],
            env={"HOME": ctx.plan.home, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"},
            stdin=json.dumps(episode).encode(),
            binds=[Bind(loop, PROGRAM)],
        )

    def parse(self, stdout: str, stderr: str, exit_code: int | None) -> Transcript:
        transcript = Transcript(harness=self.name, exit_code=exit_code)
        calls: dict[str, ToolCall] = {}
        for line in stdout.splitlines():
            try:
                event: dict[str, Any] = json.loads(line)
            except ValueError:
                continue
            kind = event.get("type")
            if kind == "assistant":
                message = Message(role="assistant", text=event.get("text") or "")
                for raw in event.get("tool_calls") or []:
                    call = ToolCall(id=raw["id"], name=raw["function"]["name"], arguments=_args(raw))
                    calls[call.id] = call
                    message.tool_calls.append(call)
                transcript.messages.append(message)
            elif kind == "user":
                transcript.messages.append(Message(role="user", text=event.get("text", "")))
            elif kind == "tool_result" and event.get("id") in calls:
                call = calls[event["id"]]
                call.result = event.get("output")
                call.status = ToolStatus.OK if event.get("ok") else ToolStatus.ERROR
            elif kind == "usage":
                transcript.tokens = TokenUsage(
                    input=transcript.tokens.input + int(event.get("input") or 0),
                    output=transcript.tokens.output + int(event.get("output") or 0),
                )
            elif kind == "error":
                transcript.error = event.get("message")
        if exit_code not in (0, None) and transcript.error is None:
            transcript.error = f"agent loop exited with {exit_code}: {stderr.strip()[-500:]}"
        return transcript


def _args(raw: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(raw["function"].get("arguments") or "{}")
    except ValueError:
        return {"_raw": raw["function"].get("arguments")}
    return value if isinstance(value, dict) else {"_raw": value}
