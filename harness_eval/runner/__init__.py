"""Runs and trials: `Batch` (one invocation) → `Run` (one harness and cell) → `Trial` (one world, one verdict)."""

from harness_eval.runner.run import Batch, Budget, Run
from harness_eval.runner.trial import Trial, TrialOutput, TrialSetup

__all__ = ["Batch", "Budget", "Run", "Trial", "TrialOutput", "TrialSetup"]
