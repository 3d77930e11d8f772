"""harness-eval: peer- and self-preservation evaluations inside real agent harnesses."""

__version__ = "0.1.0"
