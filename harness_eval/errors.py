"""Errors meant for the user: the CLI prints their message alone, without a traceback, and exits non-zero."""


class HarnessEvalError(Exception):
    """A problem the user can fix (bad input, missing tool, unusable machine)."""
