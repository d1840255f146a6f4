"""theory/symbols.py: the assumptions SymPy may use, and lookup by name."""

from __future__ import annotations

import pytest

from theory import symbols


@pytest.mark.parametrize("name", ["d", "ell", "m", "k", "n", "T"])
def test_sizes_are_positive_integers(name):
    s = symbols.symbol(name)
    assert s.is_integer and s.is_positive


@pytest.mark.parametrize("name", ["s_w", "s_u", "beta", "eta", "S", "x", "t"])
def test_scales_are_positive_reals(name):
    s = symbols.symbol(name)
    assert s.is_real and s.is_positive and not s.is_integer


def test_weight_decay_may_be_zero():
    assert symbols.lam.is_nonnegative and symbols.lam.is_positive is None


def test_lookup_by_name_and_unknown_name():
    assert symbols.symbol("ell") is symbols.ell
    with pytest.raises(KeyError, match="no symbol named 'lambda'"):
        symbols.symbol("lambda")
