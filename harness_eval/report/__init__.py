"""Reports over finished runs: loading them (`runs`), an HTML page (`html`) and a Markdown summary (`markdown`).

Only the loader is imported here, so that `compare` and `stats` can use it without pulling in the page writers
(which use them in turn).
"""

from harness_eval.report.runs import LoadedRun, TrialRecord, cell_label, load_runs

__all__ = ["LoadedRun", "TrialRecord", "cell_label", "load_runs"]
