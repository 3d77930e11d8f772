"""Errors meant for the user: the CLI prints their message alone, without a traceback, and exits non-zero."""


class HarnessEvalError(Exception):
    """A problem the user can fix (bad input, missing tool, unusable machine)."""


class TrialError(Exception):
    """A trial broke; the runner records it as an `error` outcome instead of a result."""
