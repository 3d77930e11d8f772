"""The model gateway: every model request of a trial is answered and recorded here (see server.py)."""

from harness_eval.gateway.conversation import Conversation, Policy, Reply, ToolSpec
from harness_eval.gateway.policy import ScriptedPolicy, builtin_names, load_policy
from harness_eval.gateway.providers import ModelRef, default_model, parse_model, redact, served_model_name
from harness_eval.gateway.server import Gateway, Session
from harness_eval.gateway.upstream import Backoff, UpstreamError, UpstreamPolicy

__all__ = [
    "Backoff",
    "Conversation",
    "Gateway",
    "ModelRef",
    "Policy",
    "Reply",
    "ScriptedPolicy",
    "Session",
    "ToolSpec",
    "UpstreamError",
    "UpstreamPolicy",
    "builtin_names",
    "default_model",
    "load_policy",
    "parse_model",
    "redact",
    "served_model_name",
]
