"""`harness-eval audit`: look at a fresh world the way a curious model would, and list what gives it away.

The probe (`probe.sh`) runs as a scripted model's tool calls through the real harness, in an ordinary trial of
the scenario: on the agent's box, and through ssh on every server. What it printed is read back from the trial's
transcript, which is rebuilt from the gateway's record: exactly what the model would have seen. The checks
(`checks.py`) turn that into tells, and `accepted.yaml` says which of them are known and why they stay, so a
researcher sees before a study what a model could notice, and the tests fail on any tell nobody has documented.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness_eval.audit.checks import Tell, find_tells, parse
from harness_eval.errors import HarnessEvalError
from harness_eval.models import RunSpec, Transcript, Verdict, WorldPlan

_HERE = Path(__file__).parent
PROBE = _HERE / "probe.sh"
ACCEPTED = _HERE / "accepted.yaml"
# Where the scripted model writes the probe: inside the workspace, which every harness's write tool accepts.
_PROBE_NAME = ".probe.sh"


@dataclass(frozen=True)
class Documented:
    """A tell we know of: `accepted` stays by design, `open` is known and not yet removed; both say why."""

    id: str
    status: str
    reason: str


@dataclass(frozen=True)
class Finding:
    tell: Tell
    documented: Documented | None


def accepted(path: Path = ACCEPTED) -> dict[str, Documented]:
    """The documented tells by id; a malformed file is one clear error."""
    try:
        entries = yaml.safe_load(path.read_text()) or []
        found = {e["id"]: Documented(e["id"], e["status"], " ".join(e["reason"].split())) for e in entries}
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise HarnessEvalError(f"cannot read the documented tells in {path}: {exc}") from exc
    bad = [d.id for d in found.values() if d.status not in ("accepted", "open")]
    if bad:
        raise HarnessEvalError(f"{path}: status must be 'accepted' or 'open' for {bad}")
    return found


def policy(plan: WorldPlan) -> dict[str, object]:
    """A scripted model that writes the probe, runs it on the agent's box, then on each server through ssh."""
    path = f"{plan.workspace}/{_PROBE_NAME}"
    calls = [{"shell": f"sh {path}"}]
    calls += [{"shell": f"ssh {host.hostname} sh -s < {path}"} for host in plan.hosts]
    turns: list[dict[str, object]] = [{"calls": [{"write": {"path": path, "content": PROBE.read_text()}}]}]
    turns += [{"calls": [call]} for call in calls]
    turns.append({"text": "Done."})
    return {"turns": turns}


def audit(spec: RunSpec, keep: Path | None = None) -> list[Finding]:
    """Run the probe in one fresh world of `spec` (its harness, scenario, cell, parameters and first seed) and
    return every tell, each with its documentation if it has any.

    The trial's folder is kept under `keep` if given (to look at what the probe saw), else thrown away.
    """
    from harness_eval.runner import Run
    from harness_eval.workspaces.scenario import Scenario

    scenario = Scenario.load(spec.scenario)
    cell = spec.cell or scenario.default_cell()
    plan = scenario.build(cell, spec.seed + 1, spec.params)
    documented = accepted()
    with tempfile.TemporaryDirectory(prefix="audit-") as scratch:
        out = keep or Path(scratch)
        script = out / "probe-policy.yaml"
        out.mkdir(parents=True, exist_ok=True)
        script.write_text(yaml.safe_dump(policy(plan), sort_keys=False, width=200))
        probe_spec = spec.model_copy(update={"model": f"scripted:{script}", "trials": 1, "judge": None})
        run = Run(probe_spec, out / "run")
        run.execute()
        folder = run.output(run.trials()[0]).dir
        verdict = Verdict.model_validate_json((folder / "verdict.json").read_text())
        transcript_file = folder / "transcript.json"
        if not transcript_file.is_file():
            raise HarnessEvalError(f"the probe trial ended in {verdict.outcome.value}: {verdict.error}")
        transcript = Transcript.model_validate_json(transcript_file.read_text())
        seen_plan = WorldPlan.model_validate(json.loads((folder / "plan.json").read_text()))
    results = [call.result or "" for call in transcript.tool_calls]
    nodes = {}
    for node in [seen_plan.agent, *seen_plan.hosts]:
        sections = next((s for r in results if (s := parse(r, node.hostname)) is not None), None)
        if sections is None:
            raise HarnessEvalError(
                f"the probe did not run to its end on {node.hostname} (trial {verdict.outcome.value}"
                f"{': ' + verdict.error if verdict.error else ''}); is shell access through --cli {spec.harness}"
                " allowed?"
            )
        nodes[node.hostname] = sections
    return [Finding(t, documented.get(t.id)) for t in find_tells(nodes, seen_plan)]
