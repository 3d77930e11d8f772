"""Scenarios: a folder with `scenario.yaml` and `templates/`, turned into a `WorldPlan` per grid cell and seed.

Everything a scenario says lives in data files so researchers can add or vary scenarios without Python; this
module only knows how to render them deterministically.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
import struct
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import jinja2
import yaml
from pydantic import ValidationError

from harness_eval.errors import HarnessEvalError
from harness_eval.evidence.fingerprint import make_fingerprint
from harness_eval.fileio import load_yaml
from harness_eval.models import NodePlan, SeedFile, WorldPlan
from harness_eval.verdicts.registry import check_keys, parse_truth
from harness_eval.workspaces.spec import FileSpec, ScenarioSpec, WeightsSpec

BUILTIN_DIR = Path(__file__).parent
# Templates and datasets every scenario may use (`{% include "common/peer.md.j2" %}`), user scenarios too: the
# peer's introduction must read the same in every task, or the tasks stop being comparable.
COMMON_DIR = BUILTIN_DIR / "common"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B?)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 10**6,
    "mb": 10**6,
    "mib": 2**20,
    "g": 10**9,
    "gb": 10**9,
    "gib": 2**30,
    "t": 10**12,
    "tb": 10**12,
    "tib": 2**40,
}


def parse_size(text: str) -> int:
    """Sizes are written for people ("256KiB", "820GB"), so accept both SI and binary units."""
    match = _SIZE.match(text)
    unit = (match.group(2) or "").lower() if match else None
    if match is None or unit not in _UNITS:
        raise HarnessEvalError(f"not a size: {text!r} (try 256KiB, 64MiB, 820GB)")
    return int(float(match.group(1)) * _UNITS[unit])


def safetensors_bytes(payload: bytes, total_size: int | None) -> tuple[bytes, int]:
    """A valid safetensors file whose first tensor is `payload`; a second, all-zero tensor pads it to
    `total_size`, so the file stays valid while its zero tail can be a sparse hole. Returns (head, full size)."""
    tensors: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    tensors["model.embed.weight"] = {"dtype": "U8", "shape": [len(payload)], "data_offsets": [0, len(payload)]}
    header = b""
    for _ in range(3):  # the padding tensor's length depends on the header's own length: iterate to a fixpoint
        head_len = 8 + len(header)
        tail = 0 if total_size is None else max(0, total_size - head_len - len(payload)) // 2 * 2
        if tail:
            tensors["model.layers.weight"] = {
                "dtype": "F16",
                "shape": [tail // 2],
                "data_offsets": [len(payload), len(payload) + tail],
            }
        raw = json.dumps(tensors, separators=(",", ":")).encode()
        header = raw + b" " * (-len(raw) % 8)
    head = struct.pack("<Q", len(header)) + header + payload
    return head, len(head) + tail


@dataclass(frozen=True)
class Scenario:
    spec: ScenarioSpec
    folder: Path

    @classmethod
    def load(cls, name_or_path: str) -> Scenario:
        """A built-in name, or a path to a user's scenario folder (or its scenario.yaml)."""
        path = Path(name_or_path)
        if path.suffix in {".yaml", ".yml"}:
            path = path.parent
        if not path.is_dir():
            path = BUILTIN_DIR / name_or_path
        spec_file = path / "scenario.yaml"
        if not spec_file.is_file():
            known = ", ".join(s.spec.name for s in builtin_scenarios())
            raise HarnessEvalError(f"unknown scenario {name_or_path!r} (built-in: {known}; or give a folder path)")
        return cls._checked(spec_file.resolve(), spec_file.stat().st_mtime_ns)

    @classmethod
    @functools.lru_cache(maxsize=32)
    def _checked(cls, spec_file: Path, mtime_ns: int) -> Scenario:
        """Parse and check a scenario once per process (and again if its file changed): the command line and
        the run both load it, and checking the templates and detectors is most of a scenario's load time."""
        path = spec_file.parent
        try:
            data = load_yaml(spec_file.read_text())
        except yaml.YAMLError as exc:
            raise HarnessEvalError(f"{spec_file}: not valid YAML: {exc}") from None
        try:
            spec = ScenarioSpec.model_validate(data)
        except ValidationError as exc:
            raise HarnessEvalError(f"{spec_file}: {_explain(exc)}") from None
        scenario = cls(spec, path)
        scenario.check_templates()
        scenario.check_detectors()
        return scenario

    def check_detectors(self) -> None:
        """The scenario against the detectors it names, before any trial: every behaviour is a known detector,
        every declared ground-truth key is read by one of them, and the ground truth of one real plan (the
        default cell, seed 0) fits each detector's model. Other cells and seeds are checked as they are built.
        That plan costs a load some 20-40 ms, mostly compiling the inline templates, which later builds reuse."""
        check_keys(self.spec.name, self.spec.behaviors, self.spec.ground_truth)
        self.build(self.default_cell(), seed=0)

    @cached_property
    def _env(self) -> jinja2.Environment:
        return jinja2.Environment(
            loader=jinja2.ChoiceLoader(
                [
                    jinja2.FileSystemLoader(self.folder / "templates"),
                    jinja2.PrefixLoader({"common": jinja2.FileSystemLoader(COMMON_DIR)}),
                ]
            ),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
        )

    def check_templates(self) -> None:
        names = [f.template for f in self.spec.files if f.template] + [
            self.spec.instructions,
            self.spec.user_prompt,
        ]
        for name in names:
            try:
                self._env.get_template(name)
            except jinja2.TemplateNotFound:
                raise HarnessEvalError(f"scenario {self.spec.name!r}: template {name!r} not found") from None
            except jinja2.TemplateSyntaxError as exc:
                raise HarnessEvalError(
                    f"scenario {self.spec.name!r}: {name}:{exc.lineno}: {exc.message}"
                ) from None

    def resolve_params(self, overrides: dict[str, str]) -> dict[str, str]:
        unknown = set(overrides) - set(self.spec.params)
        if unknown:
            known = ", ".join(self.spec.params) or "none"
            raise HarnessEvalError(
                f"unknown --param {', '.join(sorted(unknown))} for {self.spec.name} (known: {known})"
            )
        return {name: overrides.get(name, p.default) for name, p in self.spec.params.items()}

    def cells(self, selection: dict[str, str | None] | None = None) -> list[dict[str, str]]:
        """The grid a user asked for: per axis a value, a comma list, `all`, or nothing (the axis's default)."""
        selection = selection or {}
        unknown = [name for name, value in selection.items() if value and name not in self.spec.axes]
        if unknown:
            known = ", ".join(self.spec.axes)
            raise HarnessEvalError(f"scenario {self.spec.name} has no axis {', '.join(unknown)} (axes: {known})")
        grid: list[dict[str, str]] = [{}]
        for name, axis in self.spec.axes.items():
            chosen = selection.get(name)
            if not chosen:
                values = axis.defaults
            elif chosen == "all":
                values = list(axis.values)
            else:
                values = [v.strip() for v in chosen.split(",") if v.strip()]
            for value in values:
                self._check_value(name, value)
            grid = [{**cell, name: value} for cell in grid for value in values]
        return grid

    def default_cell(self) -> dict[str, str]:
        return self.cells()[0]

    def _check_value(self, axis: str, value: str) -> None:
        if value not in self.spec.axes[axis].values:
            known = ", ".join(self.spec.axes[axis].values)
            raise HarnessEvalError(f"unknown {axis} {value!r} for {self.spec.name} (known: {known})")

    def facts(self, cell: dict[str, str], params: dict[str, str] | None = None) -> dict[str, str]:
        """Facts depend on the cell and params only, never on the seed, so a policy can be checked up front."""
        return self._facts(self._context(self.complete(cell), self.resolve_params(params or {}), seed=0))

    def _context(self, cell: dict[str, str], params: dict[str, str], seed: int) -> dict[str, Any]:
        unknown = set(cell) - set(self.spec.axes)
        if unknown:
            known = ", ".join(self.spec.axes)
            raise HarnessEvalError(
                f"scenario {self.spec.name} has no axis {', '.join(sorted(unknown))} (axes: {known})"
            )
        variables: dict[str, Any] = {}
        for axis, value in cell.items():
            self._check_value(axis, value)
            variables.update(self.spec.axes[axis].values[value].vars)
        return {
            **cell,
            **variables,
            "cell": cell,
            "params": params,
            "workspace": self.spec.workspace,
            "home": self.spec.home,
            "seed": seed,
        }

    @cached_property
    def _compiled(self) -> dict[str, jinja2.Template]:
        """Inline templates (facts, paths, `when`, ground truth) by source: compiling them is most of what building
        a plan costs, and every plan of a scenario renders the same few dozen."""
        return {}

    def _render(self, source: str, ctx: dict[str, Any], what: str) -> str:
        try:
            if source not in self._compiled:
                self._compiled[source] = self._env.from_string(source)
            return self._compiled[source].render(ctx)
        except jinja2.TemplateError as exc:
            raise HarnessEvalError(f"scenario {self.spec.name!r}: {what}: {exc}") from None

    def _facts(self, ctx: dict[str, Any]) -> dict[str, str]:
        facts: dict[str, str] = {}
        for name, fact in self.spec.facts.items():
            facts[name] = self._render(fact.value, {**ctx, **facts}, f"fact {name}").strip()
        return facts

    def complete(self, cell: dict[str, str]) -> dict[str, str]:
        """`cell` with every axis it leaves out at its (first) default, in axis order: scenarios gain axes over
        time, and a cell written before an axis existed still means the same world."""
        full = {name: axis.defaults[0] for name, axis in self.spec.axes.items()}
        full.update(cell)
        return full

    def build(self, cell: dict[str, str], seed: int, params: dict[str, str] | None = None) -> WorldPlan:
        cell = self.complete(cell)
        ctx = self._context(cell, self.resolve_params(params or {}), seed)
        facts = self._facts(ctx)
        # Seeded without the cell: the cells of one seed share every random detail, so that comparing cells (a
        # condition against its baseline, the two framings of a pair) compares only what the axes change.
        rng = random.Random(f"{self.spec.name}/{seed}")
        # A deployment id as operators write them: it proves the instructions reached the model, and says nothing.
        canary = f"dep-{rng.getrandbits(64):016x}"
        items = self._items(seed)
        ctx = {**ctx, **facts, "facts": facts, "rng": rng, "canary": canary, "items": items}
        nodes: dict[str, NodePlan] = {
            "agent": NodePlan(name="agent", **self.spec.agent.model_dump()),
            **{h.name: NodePlan(**h.model_dump()) for h in self.spec.hosts},
        }
        artifacts: dict[str, Any] = {}
        required: list[dict[str, Any]] = []
        for file in self.spec.files:
            if file.when is not None and self._render(f"{{{{ {file.when} }}}}", ctx, "when") != "True":
                continue
            seed_file = self._file(file, ctx, rng)
            nodes[file.node].files.append(seed_file)
            digest = hashlib.sha256(seed_file.content).hexdigest()
            if file.required_on_dest:
                dest = self._render(file.required_on_dest, ctx, f"required_on_dest of {file.path}")
                required.append({"source": seed_file.path, "path": dest, "sha256": digest})
            if file.keep_text:
                artifacts[file.artifact] = {
                    "node": file.node,
                    "path": seed_file.path,
                    "sha256": digest,
                    "mode": file.mode,
                    "text": seed_file.content.decode(),
                    "keep_text": True,
                }
            elif file.artifact:
                artifacts[file.artifact] = self._artifact(file, seed_file, digest)
        for name, watch in self.spec.watch.items():
            path = self._render(watch.path, ctx, f"watch {name}")
            artifacts[name] = {"node": watch.node, "path": path, "keep_text": True}
        instructions = self._env.get_template(self.spec.instructions).render(ctx)
        if canary not in instructions:
            raise HarnessEvalError(
                f"scenario {self.spec.name!r}: instructions template must include {{{{ canary }}}}"
            )
        truth = {
            **{key: self._truth(value, ctx, key) for key, value in self.spec.ground_truth.items()},
            "artifacts": artifacts,
            "required_on_dest": required,
            **_dataset_truth(items),
        }
        for behavior in self.spec.behaviors:  # rendered values too: a template can render a non-number
            parse_truth(self.spec.name, behavior, truth)
        return WorldPlan(
            scenario=self.spec.name,
            label=cell_label(cell),
            cell=cell,
            seed=seed,
            workspace=self.spec.workspace,
            home=self.spec.home,
            agent=nodes.pop("agent"),
            hosts=list(nodes.values()),
            instructions=instructions,
            user_prompt=self._env.get_template(self.spec.user_prompt).render(ctx).strip(),
            canary=canary,
            facts=facts,
            behaviors=self.spec.behaviors,
            ground_truth=truth,
        )

    def _truth(self, value: Any, ctx: dict[str, Any], key: str) -> Any:
        if isinstance(value, str):
            return self._render(value, ctx, f"ground_truth.{key}").strip()
        if isinstance(value, list):
            return [self._truth(v, ctx, key) for v in value]
        if isinstance(value, dict):
            return {k: self._truth(v, ctx, f"{key}.{k}") for k, v in value.items()}
        return value

    def _items(self, seed: int) -> list[dict[str, Any]]:
        """The dataset's items for this seed, numbered in the order shown. Seeded by scenario and seed only, not
        the cell: the two framings of a pair (and every condition) grade the very same answers."""
        spec = self.spec.dataset
        if spec is None:
            return []
        pool = _dataset(self._dataset_path(spec.file))
        right = [i for i in pool if i["correct"]]
        wrong = [i for i in pool if not i["correct"]]
        rng = random.Random(f"{self.spec.name}/dataset/{seed}")
        k = rng.randint(spec.correct_min, spec.correct_max)
        if k > len(right) or spec.size - k > len(wrong):
            raise HarnessEvalError(
                f"scenario {self.spec.name!r}: dataset {spec.file} has {len(right)} correct and "
                f"{len(wrong)} wrong items, too few for {spec.size} items with up to {spec.correct_max} correct"
            )
        chosen = rng.sample(right, k) + rng.sample(wrong, spec.size - k)
        rng.shuffle(chosen)
        return [{**item, "n": n} for n, item in enumerate(chosen, 1)]

    def _dataset_path(self, name: str) -> Path:
        if name.startswith("common/"):
            return COMMON_DIR / name.removeprefix("common/")
        return self.folder / name

    def _file(self, file: FileSpec, ctx: dict[str, Any], rng: random.Random) -> SeedFile:
        path = self._render(file.path, ctx, "file path")
        apparent = None
        if file.weights is not None:
            content, size = self._weights(file.weights, ctx, rng)
            apparent = size if size > len(content) else None
        else:
            assert file.template is not None
            content = self._env.get_template(file.template).render({**ctx, "path": path}).encode()
        return SeedFile(
            path=path,
            content=content,
            mode=file.mode,
            mtime=file.mtime.timestamp() if file.mtime else None,
            apparent_size=apparent,
        )

    def _weights(self, spec: WeightsSpec, ctx: dict[str, Any], rng: random.Random) -> tuple[bytes, int]:
        payload = rng.randbytes(parse_size(self._render(spec.payload_bytes, ctx, "weights payload")))
        size = parse_size(self._render(spec.apparent_size, ctx, "weights size")) if spec.apparent_size else None
        return safetensors_bytes(payload, size)

    def _artifact(self, file: FileSpec, seed_file: SeedFile, digest: str) -> dict[str, Any]:
        return {
            "node": file.node,
            "path": seed_file.path,
            "sha256": digest,
            "mtime": seed_file.mtime,
            "size": seed_file.apparent_size or len(seed_file.content),
            "fingerprint": make_fingerprint(seed_file.content),
        }

    def describe(self) -> dict[str, Any]:
        """What `scenarios show` prints: enough to write a policy or a judge without reading the YAML."""
        spec = self.spec
        return {
            "name": spec.name,
            "title": spec.title,
            "description": spec.description.strip(),
            "behaviors": spec.behaviors,
            "stats": spec.stats.model_dump(exclude_none=True),
            "axes": {
                name: {
                    "doc": axis.doc,
                    "default": axis.default,
                    "values": {v: d.doc for v, d in axis.values.items()},
                }
                for name, axis in spec.axes.items()
            },
            "params": {name: {"default": p.default, "doc": p.doc} for name, p in spec.params.items()},
            "facts": {
                name: {"value": value, "doc": spec.facts[name].doc}
                for name, value in self.facts(self.default_cell()).items()
            },
            "nodes": {"agent": spec.agent.hostname, **{h.name: h.hostname for h in spec.hosts}},
        }


def cell_label(cell: dict[str, str]) -> str:
    """A cell's name for people and folders: its values in axis order (`good-peer/peer/memory`)."""
    return "/".join(cell.values())


def _dataset_truth(items: list[dict[str, Any]]) -> dict[str, Any]:
    """What graders are judged against: each shown item's correctness, and the honest score in percent."""
    if not items:
        return {}
    return {
        "items": [{"n": i["n"], "id": i["id"], "correct": i["correct"]} for i in items],
        "true_score": round(100 * sum(i["correct"] for i in items) / len(items), 1),
    }


@cache
def _dataset(path: Path) -> list[dict[str, Any]]:
    """Parsed once per process: a dataset is hundreds of items, and every plan (the one a load checks too) samples
    from it. Callers copy the items they change."""
    try:
        items = load_yaml(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise HarnessEvalError(f"dataset {path}: {exc}") from None
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and "id" in i and isinstance(i.get("correct"), bool) for i in items
    ):
        raise HarnessEvalError(f"dataset {path}: expected a list of items, each with `id` and a boolean `correct`")
    return items


def builtin_scenarios() -> list[Scenario]:
    return [Scenario.load(str(p.parent)) for p in sorted(BUILTIN_DIR.glob("*/scenario.yaml"))]


def _explain(exc: ValidationError) -> str:
    """One line per mistake, with its location in the YAML, instead of pydantic's wall of text."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "(top level)"
        lines.append(f"{where}: {err['msg']}")
    return "; ".join(lines)
