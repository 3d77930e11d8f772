"""The harness registry: every sub-package of this one is a harness, found by looking, not by a list.

A harness is a folder `harnesses/<name>/` whose `spec.py` exports `SPEC` (see spec.py). Only the spec is read to
list harnesses; the harness's code is imported when it is asked for, so `--cli custom` never pays for a CLI's
parser or TUI driver. Adding a harness is adding a folder.
"""

from __future__ import annotations

import pkgutil
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING

from harness_eval.errors import HarnessEvalError
from harness_eval.harnesses.spec import HarnessSpec

if TYPE_CHECKING:
    from harness_eval.harnesses.base import Harness


@cache
def names() -> tuple[str, ...]:
    """Every harness, by `--cli` name."""
    return tuple(sorted(info.name for info in pkgutil.iter_modules(__path__) if info.ispkg))


def spec(name: str) -> HarnessSpec:
    if name not in names():
        raise HarnessEvalError(f"unknown harness {name!r} (known: {', '.join(names())})")
    found = import_module(f"{__name__}.{name}.spec").SPEC
    if not isinstance(found, HarnessSpec) or found.name != name:
        raise HarnessEvalError(f"harnesses/{name}/spec.py must export SPEC, a HarnessSpec named {name!r}")
    return found


def pinned(name: str) -> str | None:
    """The version a harness runs unless told otherwise, as each run records it (so a run names the CLI it
    measured after the pin moves on); None for a harness that ships with harness-eval."""
    package = spec(name).package
    return package.version if package else None


def specs() -> list[HarnessSpec]:
    return [spec(name) for name in names()]


def get_harness(name: str) -> Harness:
    declared = spec(name)
    module, _, cls = declared.implementation.partition(":")
    harness: type[Harness] = getattr(import_module(f"{__name__}.{name}.{module}"), cls)
    if harness.spec is not declared:
        raise HarnessEvalError(f"{harness.__name__} does not carry the SPEC of harnesses/{name}/spec.py")
    return harness()
