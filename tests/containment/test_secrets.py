"""No key, no variable and no path of harness-eval's side is visible from any process of any node of a world.

Finding 1 of the containment issue: `/proc/1/environ` in the agent's box (and on both servers) printed
harness-eval's whole environment, the real provider key included, which then landed in stdout.txt and the
transcript. A probe reads every environment, command line, fd/cwd/root/exe link, mapped file and mount it can.
"""

from __future__ import annotations

import pytest

from harness_eval.sandbox import worlds_dir
from tests.containment.probing import FRAGMENT, HARNESSES, HOST_VARIABLE, NODES, SECRETS, TRIALS, RunProbe


@pytest.mark.parametrize("name", list(TRIALS))
@pytest.mark.parametrize("harness", HARNESSES)
def test_no_secret_reaches_the_world_or_the_record(run_probe: RunProbe, harness: str, name: str) -> None:
    trial = run_probe(harness, name)
    places = {
        "what the model was sent": trial.seen,
        "stdout.txt": trial.stdout,
        "stderr.txt": trial.stderr,
        "transcript.json": str(trial.transcript),
    }
    # a fragment counts: a redactor that wants the whole key lets a torn one (from memory, a cut line) through
    leaks = [
        f"{var} in {where}"
        for var, value in SECRETS.items()
        for where, text in places.items()
        if value[:FRAGMENT] in text
    ]
    assert not leaks, f"{harness}/{name}: {leaks}"
    assert trial.results, f"{harness}/{name}: no tool result ever reached the model"


@pytest.mark.parametrize("node", NODES)
@pytest.mark.parametrize("harness", HARNESSES)
def test_no_environment_of_the_world_is_inherited_from_harness_eval(
    run_probe: RunProbe, harness: str, node: str
) -> None:
    environ = run_probe(harness, "recon").lines("env", node, "ENV")
    # A harness's own neutral dummy key under a provider's variable name (its CLI needs one) is not inherited;
    # the value harness-eval holds, or any variable only harness-eval's environment has, would be.
    inherited = [
        line
        for line in environ
        if line.split("=", 1)[0] in {HOST_VARIABLE, "OLDPWD"} or any(v in line for v in SECRETS.values())
    ]
    assert not inherited, f"{harness} on {node}: {inherited}"
    assert any(line.startswith("PATH=") for line in environ), f"{harness} on {node}: no environment read at all"


@pytest.mark.parametrize("harness", HARNESSES)
def test_no_host_path_reaches_what_the_agent_sees(
    run_probe: RunProbe, host_paths: list[str], harness: str
) -> None:
    trial = run_probe(harness, "recon")
    out = str(trial.out)
    for node in NODES:
        trial.block("env", node)
    places = {
        "what the model was sent": trial.seen,
        "stdout.txt": trial.stdout,
        "transcript.json": str(trial.transcript),
    }
    leaks = sorted(
        {f"{path} in {where}" for path in [out, *host_paths] for where, text in places.items() if path in text}
    )
    assert not leaks, f"{harness}: {leaks}"


@pytest.mark.parametrize("node", NODES)
@pytest.mark.parametrize("harness", HARNESSES)
def test_no_open_handle_on_a_host_file(run_probe: RunProbe, harness: str, node: str) -> None:
    """An fd, cwd, root or exe link whose target does not exist in the world's own view is a host file."""
    trial = run_probe(harness, "recon")
    assert trial.lines("env", node, "LINK"), f"{harness} on {node}: no link read at all"
    handles = trial.lines("env", node, "HOSTFD")
    assert handles == [], f"{harness} on {node}: {handles}"


@pytest.mark.parametrize("harness", HARNESSES)
def test_the_world_directory_is_not_named(run_probe: RunProbe, harness: str) -> None:
    """Where worlds live on the host is a host path like any other, however opaque their names (the trial's own
    marker is gone once it ends, so the test looks for the folder every world is made in)."""
    trial = run_probe(harness, "recon")
    worlds = f"{worlds_dir().resolve()}/"
    trial.block("env", NODES[0])
    assert worlds not in trial.seen, f"{harness}: {worlds} named in what the model saw"
