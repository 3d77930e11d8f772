"""Plans a world cannot be built from are refused before anything is created, with a message saying why."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness_eval.errors import HarnessEvalError
from harness_eval.sandbox import World

from .conftest import make_plan


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"address": "10.0.12.10"}, "same address"),
        ({"address": "10.0.13.45"}, "not on the LAN"),
        ({"address": "10.0.12.300"}, "bad node address"),
        ({"name": "agent"}, "unique"),
        ({"name": "../x"}, "unique words"),
    ],
)
def test_bad_hosts_are_refused_up_front(tmp_path: Path, change: dict[str, str], message: str) -> None:
    plan = make_plan()
    plan.hosts[0] = plan.hosts[0].model_copy(update=change)
    with pytest.raises(HarnessEvalError, match=message):
        World(plan, tmp_path / "world")
    assert not (tmp_path / "world").exists()
