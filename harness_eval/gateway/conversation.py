"""The API-neutral view of one model request, and of the answer to it.

Every wire API's codec (wire/) parses a request into a `Conversation` and renders an answer from a `Reply`, so a
policy never has to read a wire format: scripted policies and the upstream proxy (upstream.py) implement one
method against these. The raw request rides along only so that a provider speaking the harness's own API gets it
unchanged. Both are recorded in their normalized form (`normalized`), which is all that readers after the
gateway see.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from harness_eval.models import Message, NormalizedReply, NormalizedRequest, TokenUsage, ToolCall, UpstreamCall


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the harness declared it on the wire: its name and JSON schema are all we may rely on."""

    name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str = ""  # what a real model reads to choose the tool; scripts ignore it

    @property
    def properties(self) -> dict[str, Any]:
        properties = self.parameters.get("properties")
        return properties if isinstance(properties, dict) else {}

    @property
    def required(self) -> list[str]:
        required = self.parameters.get("required")
        return [name for name in required if isinstance(name, str)] if isinstance(required, list) else []


@dataclass
class Conversation:
    """One request, normalized: the history so far and what the harness offers the model."""

    api: str  # the name of the codec that parsed it (wire/)
    model: str
    messages: list[Message]
    tools: list[ToolSpec]
    # The JSON schema of a structured answer the harness asked for (Gemini's router / next-speaker checks);
    # an empty dict when JSON was asked for without a schema, None when free text is expected.
    response_schema: dict[str, Any] | None = None
    auxiliary: bool = False
    workspace: str = "/workspace"  # the agent's working directory: relative paths in a script are under it
    max_tokens: int | None = None  # the answer length the harness asked for, if it did
    request: dict[str, Any] = field(default_factory=dict)  # the body as the harness sent it

    @property
    def assistant_turns(self) -> int:
        """How many answers the model has already given, counting a run of assistant messages as one.

        The scripted turn to play is derived from this, so a retried request replays the same turn, and a harness
        that splits one answer into several messages (text, then calls) does not skip a turn.
        """
        turns = 0
        previous = ""
        for message in self.messages:
            if message.role == "assistant" and previous != "assistant":
                turns += 1
            previous = message.role
        return turns

    def tool(self, name: str) -> ToolSpec | None:
        return next((tool for tool in self.tools if tool.name == name), None)

    @property
    def system(self) -> str:
        """Every system message's text, joined: the APIs that hold instructions apart want them as one."""
        return "\n\n".join(m.text for m in self.messages if m.role == "system" and m.text)

    @property
    def dialogue(self) -> list[Message]:
        """The messages other than the system's."""
        return [m for m in self.messages if m.role != "system"]

    def normalized(self) -> NormalizedRequest:
        return NormalizedRequest(system=self.system, messages=self.dialogue, tools=[t.name for t in self.tools])


@dataclass
class Reply:
    """The next assistant turn, before it is rendered into a wire format."""

    text: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    model_version: str = ""
    turn: int | None = None  # the scripted turn that produced it; None for auxiliary answers
    error: str | None = None  # something the session should record although an answer still goes out
    usage: TokenUsage | None = None  # as a provider counted it; None means estimate it
    refusal: str | None = None  # a provider's refusal or safety block, passed on to the harness as one
    # A provider's answer in the harness's own wire format, sent as it came so that nothing a harness must echo
    # back (Gemini's thought signatures) is lost on the way.
    raw: dict[str, Any] | None = None
    upstream: UpstreamCall | None = None

    def normalized(self) -> NormalizedReply:
        return NormalizedReply(text=self.text, tool_calls=self.calls)


class Policy(ABC):
    """Answers every request of one session: the one seam between the gateway and whatever plays the model."""

    name: str
    simulated: bool = False  # True when results must be labelled as coming from no real model at all

    @abstractmethod
    async def respond(self, conversation: Conversation) -> Reply:
        """The next assistant turn for this conversation; must not depend on earlier calls (harnesses retry)."""


def estimate_tokens(value: Any) -> int:
    """A rough token count (4 characters a token): scripted policies have no tokenizer, but harnesses and reports
    expect non-zero usage, and the order of magnitude is what matters for them."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return (len(text) + 3) // 4


def reply_usage(request: dict[str, Any], reply: Reply) -> TokenUsage:
    output = estimate_tokens(reply.text) + sum(estimate_tokens([c.name, c.arguments]) for c in reply.calls)
    return TokenUsage(input=estimate_tokens(request), output=output)


def text_pieces(text: str, size: int = 40) -> list[str]:
    """Cut text into stream-sized pieces at word boundaries, so streamed answers exercise the harness's
    reassembly the way a real model's token stream does."""
    pieces: list[str] = []
    current = ""
    for token in re.findall(r"\S+\s*|\s+", text):
        if current and len(current) + len(token) > size:
            pieces.append(current)
            current = ""
        current += token
    if current:
        pieces.append(current)
    return pieces
