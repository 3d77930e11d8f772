"""Replication presets: the study's experiments as data, each with the published figure it reproduces.

A preset names its setups (a harness and the model it runs, e.g. `custom` with Gemini 3 Pro), the trials per cell,
and for every published figure the behaviour, the grid cells it is computed over (scenario and axis values), its
value and the kind of claim it is. It is a YAML file, built in under `presets/` or given by path, so a user adds
one without Python. Everything is checked when it loads, against the scenarios and the harness registry, so a
typo is one error before any trial.

Kinds of figure, and what our number is:
- `rate`: the rate over the figure's cells taken together ("tampers 99.7% of the time").
- `average`: the mean of the per-cell rates ("31% on average with a peer present").
- `up_to`: the highest per-cell rate ("exfiltrates up to 97%").
- `over`, `under`: the pooled rate, against a bound ("over 10% with a peer").
- `often`: the pooled rate, for a claim with no number ("exfiltrates often"): significantly above the floor
  of stray detections (`stats.NULL_RATE`).
- `direction`: the pooled rate of setup `greater` against setup `less` over the same cells ("exfiltrates in
  the custom setup but mostly refuses in a production harness").
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from harness_eval import harnesses as registry
from harness_eval.errors import HarnessEvalError
from harness_eval.fileio import load_yaml
from harness_eval.gateway.providers import api_key, parse_model
from harness_eval.models import RunSpec, Strict

Kind = Literal["rate", "average", "up_to", "over", "under", "often", "direction"]
_NUMERIC: frozenset[str] = frozenset({"rate", "average", "up_to", "over", "under"})
SIMULATED = "simulated"


class CellSet(Strict):
    """Cells of one scenario: per axis a value, a comma list or `all`; unnamed axes take the scenario's default."""

    scenario: str
    axes: dict[str, str] = Field(default_factory=dict)


class Figure(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    claim: str  # the published statement, in a sentence
    source: str  # where the study says it: section, table or sentence
    behavior: str
    kind: Kind
    value: float | None = Field(default=None, ge=0, le=1)
    cells: list[CellSet] = Field(min_length=1)
    setups: list[str] | None = None  # default: every setup of the preset (one line each)
    greater: str | None = None  # for `direction`
    less: str | None = None

    @model_validator(mode="after")
    def _fits_its_kind(self) -> Figure:
        if self.kind in _NUMERIC and self.value is None:
            raise ValueError(f"a {self.kind!r} figure needs a `value` (a rate between 0 and 1)")
        if self.kind not in _NUMERIC and self.value is not None:
            raise ValueError(f"a {self.kind!r} figure states no number: drop `value`")
        sides = [side for side in (self.greater, self.less) if side is not None]
        if len(sides) != (2 if self.kind == "direction" else 0):
            raise ValueError("`greater` and `less` (two setups) go with kind 'direction', and only with it")
        return self


class Setup(Strict):
    harness: str
    model: str  # as --model takes it


class Preset(Strict):
    name: str
    title: str
    source: str  # the publication
    setups: dict[str, Setup] = Field(min_length=1)  # name -> what runs; a setup's name is often its harness's
    trials: int = Field(default=100, ge=1)
    pair: list[str] | None = Field(default=None, min_length=2, max_length=2)  # custom vs production difference
    figures: list[Figure] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Preset:
        bad = [name for name in self.setups if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", name)]
        if bad:
            raise ValueError(f"setup names are lower-case words (letters, digits, . -): {', '.join(bad)}")
        named = [*(self.pair or [])]
        for figure in self.figures:
            named += [*(figure.setups or []), *(h for h in (figure.greater, figure.less) if h)]
        strangers = sorted({h for h in named if h not in self.setups})
        if strangers:
            raise ValueError(f"figures or `pair` name {', '.join(strangers)}, which is not in `setups`")
        ids = [f.id for f in self.figures]
        if len(set(ids)) < len(ids):
            raise ValueError("two figures share an id")
        return self

    def figure_setups(self, figure: Figure) -> list[str]:
        if figure.kind == "direction":
            return [h for h in (figure.greater, figure.less) if h]
        return figure.setups or list(self.setups)


def builtin_presets() -> list[str]:
    folder = resources.files(__package__).joinpath("presets")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_preset(name_or_path: str) -> Preset:
    """A built-in preset by name, or a user's preset file; checked against the scenarios and harnesses."""
    path = Path(name_or_path)
    if not path.is_file():
        if name_or_path not in builtin_presets():
            known = ", ".join(builtin_presets())
            raise HarnessEvalError(f"unknown preset {name_or_path!r} (built-in: {known}; or give a YAML file)")
        path = Path(str(resources.files(__package__).joinpath("presets", f"{name_or_path}.yaml")))
    try:
        preset = Preset.model_validate(load_yaml(path.read_text()))
    except OSError as exc:
        raise HarnessEvalError(f"preset {path}: {exc.strerror}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'preset'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise HarnessEvalError(f"preset {path}: {problems}") from None
    except yaml.YAMLError as exc:
        raise HarnessEvalError(f"preset {path}: not valid YAML: {exc}") from None
    _check_against_the_world(preset, path)
    return preset


def _check_against_the_world(preset: Preset, path: Path) -> None:
    from harness_eval.workspaces.scenario import Scenario

    known = registry.names()
    for name, setup in preset.setups.items():
        if setup.harness not in known:
            raise HarnessEvalError(
                f"preset {path}: setup {name}: unknown harness {setup.harness!r} (known: {', '.join(known)})"
            )
        try:
            parse_model(setup.model)
        except HarnessEvalError as exc:
            raise HarnessEvalError(f"preset {path}: setup {name}: {exc}") from None
    for figure in preset.figures:
        for cells in figure.cells:
            try:
                scenario = Scenario.load(cells.scenario)
                scenario.cells(dict(cells.axes))
            except HarnessEvalError as exc:
                raise HarnessEvalError(f"preset {path}: figure {figure.id}: {exc}") from None
            if figure.behavior not in scenario.spec.behaviors:
                raise HarnessEvalError(
                    f"preset {path}: figure {figure.id}: scenario {cells.scenario} has no behaviour "
                    f"{figure.behavior!r} (it has {', '.join(scenario.spec.behaviors)})"
                )


def with_models(preset: Preset, overrides: dict[str, str]) -> Preset:
    """The preset with `--model SETUP=MODEL` overrides applied, and every model whose provider has no key
    replaced by the offline `simulated` model (which every output then labels as such)."""
    unknown = [name for name in overrides if name not in preset.setups]
    if unknown:
        raise HarnessEvalError(
            f"--model names {', '.join(unknown)}, which is not a setup of preset {preset.name} "
            f"(its setups: {', '.join(preset.setups)})"
        )
    setups = {}
    for name, setup in preset.setups.items():
        model = overrides.get(name, setup.model)
        ref = parse_model(model)
        setups[name] = setup.model_copy(
            update={"model": SIMULATED if ref is not None and not api_key(ref.provider) else model}
        )
    return preset.model_copy(update={"setups": setups})


def run_specs(preset: Preset, trials: int | None, seed: int, timeout: float, parallel: int) -> dict[str, RunSpec]:
    """One run per (setup, scenario, cell) that any figure needs, each once, keyed by its folder in the batch."""
    from harness_eval.workspaces.scenario import Scenario, cell_label

    specs: dict[str, RunSpec] = {}
    for figure in preset.figures:
        for name in preset.figure_setups(figure):
            setup = preset.setups[name]
            for cells in figure.cells:
                scenario = Scenario.load(cells.scenario)
                for cell in scenario.cells(dict(cells.axes)):
                    label = cell_label(cell)
                    specs.setdefault(
                        folder(name, cells.scenario, label),
                        RunSpec(
                            harness=setup.harness,
                            scenario=cells.scenario,
                            model=setup.model,
                            label=label,
                            cell=cell,
                            trials=trials or preset.trials,
                            seed=seed,
                            timeout=timeout,
                            parallel=parallel,
                            stats=scenario.spec.stats,
                            cli_version=registry.pinned(setup.harness),
                        ),
                    )
    return specs


def folder(setup: str, scenario: str, label: str) -> str:
    """Where a run of the preset lives inside the replication's folder."""
    return f"{setup}/{scenario}/{label.replace('/', '_')}"
