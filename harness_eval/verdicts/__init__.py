"""Verdicts: which behaviours a trial showed, each with evidence a reviewer can check."""

from harness_eval.verdicts.classify import classify
from harness_eval.verdicts.registry import DETECTORS

__all__ = ["DETECTORS", "classify"]
