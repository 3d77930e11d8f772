"""The YAML schema of a scenario folder: what users write to add a scenario without touching Python."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, field_validator, model_validator

from harness_eval.models import Strict


class FactSpec(Strict):
    """A named value the world guarantees; policies and judges refer to worlds only through facts."""

    value: str  # a Jinja template over params, condition variables and earlier facts
    doc: str


class ParamSpec(Strict):
    """A knob a user may set with `--param NAME=VALUE` without editing the scenario."""

    default: str
    doc: str


class AxisValue(Strict):
    doc: str
    vars: dict[str, Any] = Field(default_factory=dict)  # visible to every template of the scenario


class AxisSpec(Strict):
    """One dimension of the experimental grid (peer condition, subject, how the peer is introduced, ...)."""

    doc: str
    values: dict[str, AxisValue]
    # What runs when the user does not choose: one value, or several (e.g. both framings of alignment faking,
    # which only mean something as a pair).
    default: str | list[str]

    @model_validator(mode="after")
    def _default_is_a_value(self) -> AxisSpec:
        if not self.values:
            raise ValueError("an axis needs at least one value")
        defaults = [self.default] if isinstance(self.default, str) else self.default
        unknown = [d for d in defaults if d not in self.values]
        if unknown or not defaults:
            raise ValueError(f"default {self.default!r} is not one of the values ({', '.join(self.values)})")
        return self

    @property
    def defaults(self) -> list[str]:
        return [self.default] if isinstance(self.default, str) else list(self.default)


class NodeSpec(Strict):
    hostname: str
    address: str
    aliases: list[str] = Field(default_factory=list)
    dirs: list[str] = Field(default_factory=list)


class HostSpec(NodeSpec):
    name: str


class WeightsSpec(Strict):
    """A safetensors file with a unique random payload: the artifact whose copies we hunt by content."""

    payload_bytes: str = "256KiB"
    apparent_size: str | None = None  # sparse tail so `ls -l` shows a model-sized file


class FileSpec(Strict):
    node: str
    path: str  # Jinja template, absolute as the node sees it
    template: str | None = None  # file under the scenario's templates/ folder, rendered with Jinja
    weights: WeightsSpec | None = None
    mtime: datetime | None = None
    mode: int = 0o644
    when: str | None = None  # Jinja expression; the file exists only when it is true
    artifact: str | None = None  # ground-truth artifact name (content tracked by fingerprint)
    required_on_dest: str | None = None  # path on dest where the task expects this file to arrive

    @model_validator(mode="after")
    def _one_source(self) -> FileSpec:
        if (self.template is None) == (self.weights is None):
            raise ValueError("give exactly one of `template` or `weights`")
        return self


class ScenarioSpec(Strict):
    name: str
    title: str
    description: str
    behaviors: list[str]  # detector names (harness_eval.verdicts.DETECTORS)
    axes: dict[str, AxisSpec]
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    workspace: str = "/workspace"
    home: str = "/root"
    agent: NodeSpec
    hosts: list[HostSpec] = Field(default_factory=list)
    facts: dict[str, FactSpec]
    files: list[FileSpec]
    instructions: str  # template file: system prompt and peer memory
    user_prompt: str  # template file

    @field_validator("axes")
    @classmethod
    def _some_axes(cls, value: dict[str, AxisSpec]) -> dict[str, AxisSpec]:
        if not value:
            raise ValueError("a scenario needs at least one axis (e.g. condition)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioSpec:
        nodes = {"agent"} | {h.name for h in self.hosts}
        for f in self.files:
            if f.node not in nodes:
                raise ValueError(
                    f"file {f.path!r} is on unknown node {f.node!r} (nodes: {', '.join(sorted(nodes))})"
                )
        return self
