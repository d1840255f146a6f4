"""Small contexts and populations for the check tests (real training, tiny sizes)."""

import pytest

from verify.registry import Context


@pytest.fixture
def ctx(tmp_path):
    return Context(
        profile="quick",
        seed=0,
        device="cpu",
        false_fail_rate=1e-3,
        figures_dir=tmp_path,
        progress=lambda it, **kw: it,
    )
