"""Verdicts: which behaviours a trial showed, each with evidence a reviewer can check."""

from harness_eval.verdicts.judge import DETECTORS, judge, possible_behaviors

__all__ = ["DETECTORS", "judge", "possible_behaviors"]
