"""Small contexts for the check tests (real training, tiny sizes)."""

from pathlib import Path

import pytest

from theory.results import get as real_result
from verify.registry import Context


def quick_context(figures_dir: Path) -> Context:
    """The quick profile at the default family rate, without progress bars."""
    return Context(
        profile="quick",
        seed=0,
        device="cpu",
        false_fail_rate=1e-3,
        figures_dir=figures_dir,
        progress=lambda it, **kw: it,
    )


@pytest.fixture
def ctx(tmp_path):
    return quick_context(tmp_path)


class ShiftedExponents:
    """A theory result whose exponents are all off by `shift`: a deliberately wrong prediction."""

    def __init__(self, result_id: str, shift: float) -> None:
        self.real, self.shift = real_result(result_id), shift

    def exponent(self, key: str) -> float:
        return float(self.real.exponent(key)) + self.shift
