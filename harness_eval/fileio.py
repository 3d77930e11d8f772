"""Files in and out: atomic writes, since a run can be killed at any instant and a half-written verdict must never
look like a result; and YAML read through libyaml where PyYAML has it (scenarios, policies and prices load several
times faster than with the pure-Python parser, and a run loads them before its first trial)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp's 0600 would hide results from the rest of a research group
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_model(path: Path, model: BaseModel) -> None:
    write_atomic(path, model.model_dump_json(indent=2) + "\n")


def write_jsonl(path: Path, models: Iterable[BaseModel]) -> None:
    write_atomic(path, "".join(m.model_dump_json() + "\n" for m in models))


def load_yaml(text: str) -> Any:
    """`yaml.safe_load`, faster: the same safe subset of YAML, the same `yaml.YAMLError` on bad input."""
    return yaml.load(text, Loader=_YAML_LOADER)
