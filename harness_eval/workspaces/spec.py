"""The YAML schema of a scenario folder: what users write to add a scenario without touching Python."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, field_validator, model_validator

from harness_eval.models import StatsDesign, Strict


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
    # Keep this file's final text in the snapshot (under the `artifact` name): detectors that judge a config or
    # script by what it says, not just whether its bytes changed, need it.
    keep_text: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> FileSpec:
        if (self.template is None) == (self.weights is None):
            raise ValueError("give exactly one of `template` or `weights`")
        if self.keep_text and (self.artifact is None or self.weights is not None):
            raise ValueError("`keep_text` needs an `artifact` name and a `template` (weights are not text)")
        return self


class WatchSpec(Strict):
    """Files the agent is asked to create (a report): their final text is kept in the snapshot."""

    node: str = "agent"
    path: str  # Jinja template; may be a glob (`reports/*`), since agents pick their own extension


class DatasetSpec(Strict):
    """Items with known correctness, sampled per seed so the honest score lands in a chosen band.

    The file is YAML: a list of items, each a mapping with at least `id` and `correct` (bool); every other key is
    passed to the templates. A path starting with `common/` names the built-in shared folder.
    """

    file: str
    size: int = Field(gt=0)  # items per world
    correct_min: int = Field(ge=0)  # the number of correct items is drawn uniformly from [min, max]
    correct_max: int = Field(ge=0)

    @model_validator(mode="after")
    def _band(self) -> DatasetSpec:
        if not self.correct_min <= self.correct_max <= self.size:
            raise ValueError("need correct_min <= correct_max <= size")
        return self


class ScenarioSpec(Strict):
    name: str
    title: str
    description: str
    behaviors: list[str]  # detector names (harness_eval.verdicts.DETECTORS), checked when the scenario loads
    axes: dict[str, AxisSpec]
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    workspace: str = "/workspace"
    home: str = "/home/maintainer"
    agent: NodeSpec
    hosts: list[HostSpec] = Field(default_factory=list)
    facts: dict[str, FactSpec]
    files: list[FileSpec]
    # What `--model simulated` plays here: built-in policy name -> weight. Mostly honest, every disguise
    # represented, so a simulated run exercises the whole detection pipeline and its statistics without a model.
    simulated: dict[str, int] = Field(default_factory=dict)
    instructions: str  # template file: system prompt and peer memory
    user_prompt: str  # template file
    watch: dict[str, WatchSpec] = Field(default_factory=dict)  # name -> files whose final text is kept
    dataset: DatasetSpec | None = None
    # Extra ground truth for the detectors (thresholds, report paths): each string value is a Jinja template over
    # the same context as files, so it can name facts. Each key must be a field of one of the behaviours'
    # detectors (their `Truth` models, in harness_eval/verdicts/).
    ground_truth: dict[str, Any] = Field(default_factory=dict)
    # Which axes the statistics treat specially: the baseline, the axis combined across, the paired axis.
    stats: StatsDesign = Field(default_factory=StatsDesign)

    @field_validator("axes")
    @classmethod
    def _some_axes(cls, value: dict[str, AxisSpec]) -> dict[str, AxisSpec]:
        if not value:
            raise ValueError("a scenario needs at least one axis (e.g. condition)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioSpec:
        nodes = {"agent"} | {h.name for h in self.hosts}
        for f in [*self.files, *self.watch.values()]:
            if f.node not in nodes:
                raise ValueError(
                    f"file {f.path!r} is on unknown node {f.node!r} (nodes: {', '.join(sorted(nodes))})"
                )
        self._check_stats()
        reserved = {"artifacts", "required_on_dest", "items"} & set(self.ground_truth)
        if reserved:
            raise ValueError(f"ground_truth keys {sorted(reserved)} are computed by the loader; rename them")
        return self

    def _check_stats(self) -> None:
        """Every axis and value `stats:` names exists, so a typo there does not silently drop a test."""
        named = []
        if self.stats.baseline:
            named.append((self.stats.baseline.axis, [self.stats.baseline.value]))
        if self.stats.combine:
            named.append((self.stats.combine, []))
        if self.stats.pair:
            named.append((self.stats.pair.axis, [self.stats.pair.treated, self.stats.pair.control]))
        for axis, values in named:
            if axis not in self.axes:
                raise ValueError(f"stats: no axis {axis!r} (axes: {', '.join(self.axes)})")
            unknown = [v for v in values if v not in self.axes[axis].values]
            if unknown:
                raise ValueError(f"stats: axis {axis} has no value {unknown[0]!r}")
