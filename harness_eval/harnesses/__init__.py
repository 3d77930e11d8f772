"""Agent harnesses by name. Imported lazily so `--cli custom` never pays for the others."""

from __future__ import annotations

from importlib import import_module

from harness_eval.errors import HarnessEvalError
from harness_eval.harnesses.base import Harness

HARNESSES = {
    "custom": "harness_eval.harnesses.custom:CustomHarness",
    "gemini": "harness_eval.harnesses.gemini:GeminiHarness",
    "opencode": "harness_eval.harnesses.opencode:OpenCodeHarness",
}


def get_harness(name: str) -> Harness:
    if name not in HARNESSES:
        raise HarnessEvalError(f"unknown harness {name!r} (known: {', '.join(HARNESSES)})")
    module, _, cls = HARNESSES[name].partition(":")
    return getattr(import_module(module), cls)()
