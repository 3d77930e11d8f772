"""The model gateway: every model request of a trial is answered and recorded here (see server.py)."""

from harness_eval.gateway.conversation import Conversation, Reply, ToolSpec
from harness_eval.gateway.policy import Policy, ScriptedPolicy, builtin_names, load_policy
from harness_eval.gateway.server import Gateway, Session

__all__ = [
    "Conversation",
    "Gateway",
    "Policy",
    "Reply",
    "ScriptedPolicy",
    "Session",
    "ToolSpec",
    "builtin_names",
    "load_policy",
]
