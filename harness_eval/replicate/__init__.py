"""`harness-eval replicate`: the study's experiments by name, run as one batch, and a table of its published
figures beside ours."""

from harness_eval.replicate.preset import Preset, builtin_presets, load_preset, with_models
from harness_eval.replicate.table import Table, markdown, rows

__all__ = ["Preset", "Table", "builtin_presets", "load_preset", "markdown", "rows", "with_models"]
