"""Policies: what answers a harness's model requests.

A policy is anything that, given the normalized conversation and the declared tools, returns the next assistant
turn. Scripted policies play a YAML script of abstract calls (the public format below); the proxy to a real
provider (upstream.py) is another `Policy` with the same `respond`, which is why it is a coroutine.

    turns:
      - text: "optional assistant text"
        calls:                        # optional; the first turn without calls ends the episode
          - shell: "ls -la docs"
          - read: docs/company_server_maintenance.txt
          - write: {path: notes.txt, content: "hello"}
          - edit: {path: config/x.yaml, old: "a: 1", new: "a: 2"}

`{{name}}` anywhere in a value is replaced by the scenario's fact of that name when the policy is loaded.
"""

from __future__ import annotations

import json
import random
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, model_validator

from harness_eval.errors import HarnessEvalError
from harness_eval.fileio import load_yaml
from harness_eval.gateway.conversation import Conversation, Policy, Reply
from harness_eval.gateway.providers import parse_model
from harness_eval.gateway.schema import minimal_value
from harness_eval.gateway.tools import UnmappedCall, native_call
from harness_eval.gateway.upstream import UpstreamPolicy
from harness_eval.models import Strict, ToolCall

FACT = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

# The answer to auxiliary requests that want free text (session titles, subagents): short and inert.
AUXILIARY_TEXT = "Server maintenance"


# ---------------------------------------------------------------------------------------------------------------
# The script format.
# ---------------------------------------------------------------------------------------------------------------


class WriteCall(Strict):
    path: str
    content: str


class EditCall(Strict):
    path: str
    old: str
    new: str


class ScriptCall(Strict):
    """Exactly one of the abstract call kinds."""

    shell: str | None = None
    read: str | None = None
    write: WriteCall | None = None
    edit: EditCall | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ScriptCall:
        if len(self._kinds()) != 1:
            raise ValueError("a call must have exactly one of shell, read, write, edit")
        return self

    def _kinds(self) -> list[str]:
        return [kind for kind in ("shell", "read", "write", "edit") if getattr(self, kind) is not None]

    @property
    def kind(self) -> str:
        return self._kinds()[0]

    @property
    def arguments(self) -> dict[str, str]:
        value = getattr(self, self.kind)
        if isinstance(value, str):
            return {"command" if self.kind == "shell" else "path": value}
        return value.model_dump()


class ScriptTurn(Strict):
    text: str = ""
    calls: list[ScriptCall] = Field(default_factory=list)

    @model_validator(mode="after")
    def _says_something(self) -> ScriptTurn:
        # A harness may treat an empty answer as a broken stream and retry it forever.
        if not self.calls and not self.text.strip():
            raise ValueError("a turn without calls ends the episode and needs a non-empty text")
        return self


class Script(Strict):
    turns: list[ScriptTurn] = Field(min_length=1)

    @model_validator(mode="after")
    def _ends_once(self) -> Script:
        ends = [index for index, turn in enumerate(self.turns) if not turn.calls]
        if not ends:
            raise ValueError("the last turn must have no calls: it ends the episode")
        if ends[0] != len(self.turns) - 1:
            raise ValueError(f"turn {ends[0]} has no calls and ends the episode, so the turns after it never play")
        return self


# ---------------------------------------------------------------------------------------------------------------
# Playing a script.
# ---------------------------------------------------------------------------------------------------------------


class ScriptedPolicy(Policy):
    """Plays a script turn by turn; the turn is the number of answers already in the history, never a counter."""

    def __init__(self, name: str, script: Script, *, simulated: bool = False):
        self.name = name
        self.script = script
        self.simulated = simulated

    async def respond(self, conversation: Conversation) -> Reply:
        if conversation.auxiliary:
            return Reply(text=self._auxiliary_text(conversation), model_version=self.name)
        index = min(conversation.assistant_turns, len(self.script.turns) - 1)
        turn = self.script.turns[index]
        try:
            calls = [self._native(conversation, call, f"call_{index}_{n}") for n, call in enumerate(turn.calls)]
        except UnmappedCall as problem:
            message = f"scripted turn {index} of {self.name} cannot be played: {problem}"
            return Reply(
                text="The request could not be completed.", model_version=self.name, turn=index, error=message
            )
        if not calls and conversation.tool("end_task"):
            calls = [ToolCall(id=f"call_{index}_0", name="end_task", arguments={})]
        return Reply(text=turn.text, calls=calls, model_version=self.name, turn=index)

    def _native(self, conversation: Conversation, call: ScriptCall, call_id: str) -> ToolCall:
        name, arguments = native_call(call.kind, call.arguments, conversation.tools, conversation.workspace)
        return ToolCall(id=call_id, name=name, arguments=arguments)

    @staticmethod
    def _auxiliary_text(conversation: Conversation) -> str:
        if conversation.response_schema is None:
            return AUXILIARY_TEXT
        return json.dumps(minimal_value(conversation.response_schema or {"type": "object"}))


# ---------------------------------------------------------------------------------------------------------------
# Loading.
# ---------------------------------------------------------------------------------------------------------------


def builtin_names() -> list[str]:
    return sorted(
        p.name.removesuffix(".yaml") for p in resources.files(__package__).joinpath("policies").iterdir()
    )


def load_policy(model: str, facts: dict[str, str], seed: int, mixture: dict[str, int] | None = None) -> Policy:
    """The policy for a `--model` value: `scripted:PATH`, `scripted:NAME` (a built-in), `simulated`, or a real
    model (`provider:model` or a bare id; see providers.py), whose key must then be in the environment.

    `simulated` plays one built-in per seed, drawn from `mixture` (built-in name -> weight), which the scenario
    provides: only it knows which scripts are meaningful in its world."""
    upstream = parse_model(model)
    if upstream is not None:
        return UpstreamPolicy.from_env(upstream)
    if model == "simulated":
        if not mixture:
            raise HarnessEvalError("this scenario defines no `simulated` mixture; use --model scripted:NAME")
        names = list(mixture)
        name = random.Random(seed).choices(names, weights=[mixture[n] for n in names])[0]
        script = _builtin_script(name, facts)
        return ScriptedPolicy(f"simulated:{name}", script, simulated=True)
    target = model.removeprefix("scripted:")
    if not target:
        raise HarnessEvalError(
            f"model {model!r} names no script: use 'scripted:NAME' (built-ins: {', '.join(builtin_names())}) "
            "or 'scripted:PATH' to a YAML script"
        )
    if "/" in target or target.endswith((".yaml", ".yml")):
        path = Path(target)
        if not path.is_file():
            raise HarnessEvalError(f"policy file {target} does not exist")
        script = parse_script(path.read_text(encoding="utf-8"), facts, origin=str(path))
    else:
        script = _builtin_script(target, facts)
    return ScriptedPolicy(model, script)


def _builtin_script(name: str, facts: dict[str, str]) -> Script:
    if name not in builtin_names():
        raise HarnessEvalError(
            f"unknown built-in policy {name!r}; built-ins: {', '.join(builtin_names())} "
            "(or give a path to a YAML script)"
        )
    text = resources.files(__package__).joinpath("policies", f"{name}.yaml").read_text(encoding="utf-8")
    return parse_script(text, facts, origin=f"built-in policy {name}")


def parse_script(text: str, facts: dict[str, str], *, origin: str) -> Script:
    """Parse and check a script, naming `origin` and the place in it for every mistake."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(problem, "problem", None) or str(problem)
        raise HarnessEvalError(f"{origin}: invalid YAML{where}: {reason}") from None
    data = _substitute(data, facts, origin, "")
    try:
        return Script.model_validate(data)
    except ValidationError as problem:
        raise HarnessEvalError(f"{origin}: {_describe(problem)}") from None


def _substitute(value: Any, facts: dict[str, str], origin: str, where: str) -> Any:
    if isinstance(value, dict):
        return {
            key: _substitute(item, facts, origin, f"{where}.{key}" if where else str(key))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_substitute(item, facts, origin, f"{where}[{n}]") for n, item in enumerate(value)]
    if not isinstance(value, str):
        return value

    def fact(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in facts:
            known = ", ".join(sorted(facts)) or "none"
            raise HarnessEvalError(f"{origin}: {where}: unknown fact {{{{{name}}}}}; known facts: {known}")
        return facts[name]

    return FACT.sub(fact, value)


def _describe(problem: ValidationError) -> str:
    """The first mistake, located like `turns[2].calls[0].write`: one clear message beats pydantic's dump."""
    error = problem.errors()[0]
    where = ""
    for part in error["loc"]:
        where += f"[{part}]" if isinstance(part, int) else f".{part}" if where else str(part)
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "missing"
    else:
        message = error["msg"].removeprefix("Value error, ")
    more = len(problem.errors()) - 1
    return f"{where or 'top level'}: {message}" + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")
