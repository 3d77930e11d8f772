"""The `slow` mark: cases whose world work (a 16 MiB file transformed and copied between servers) takes several
seconds each; `-m "not slow"` leaves them out when time is short."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: an adversarial case whose world work takes several seconds")
