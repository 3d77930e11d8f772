"""The isolated trial world: private network, SSH hosts and the agent's sandbox, built from a `WorldPlan`."""

from harness_eval.sandbox.network import release_pins
from harness_eval.sandbox.reaper import claim, reap_stale_worlds, worlds_dir
from harness_eval.sandbox.tools import check_isolation
from harness_eval.sandbox.tree import Root
from harness_eval.sandbox.world import Bind, World, discard_world

__all__ = [
    "Bind",
    "Root",
    "World",
    "check_isolation",
    "claim",
    "discard_world",
    "reap_stale_worlds",
    "release_pins",
    "worlds_dir",
]
