"""Shared fixtures of the theory tests: every test starts, and must end, at mpmath's default precision."""

from __future__ import annotations

import mpmath
import pytest

DEFAULT_DPS = 15


@pytest.fixture(autouse=True)
def mpmath_precision():
    """Reset mpmath to 15 digits, and fail a test whose code leaves the global precision changed."""
    mpmath.mp.dps = DEFAULT_DPS
    yield
    leaked = mpmath.mp.dps
    mpmath.mp.dps = DEFAULT_DPS
    assert leaked == DEFAULT_DPS, f"mpmath precision leaked: dps={leaked} after the test"
