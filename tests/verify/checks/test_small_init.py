"""R7 checks at the quick size: each passes on the theory's prediction and fails on a wrong one."""

import pytest

from tests.verify.checks.conftest import ShiftedExponents
from verify.checks import small_init


def test_checks_pass_on_the_theory(ctx):
    for check in (small_init.chi_square_every_beta, small_init.beta_exponent, small_init.radius_grows):
        out = check(ctx)
        assert out.passed, out.statistic


def test_chi_square_fails_on_wrong_degrees_of_freedom(ctx, monkeypatch):
    law_tests = small_init.law_tests
    monkeypatch.setattr(small_init, "law_tests", lambda q, ell, alpha: law_tests(q, ell + 4, alpha))
    assert not small_init.chi_square_every_beta(ctx).passed


@pytest.mark.parametrize("shift", [-0.25, 0.25])
def test_exponent_fails_on_a_wrong_exponent(ctx, monkeypatch, shift):
    monkeypatch.setattr(small_init, "result", lambda rid: ShiftedExponents(rid, shift))
    assert not small_init.beta_exponent(ctx).passed


def test_radius_fails_on_the_reversed_ordering(ctx, monkeypatch):
    greater = small_init.mann_whitney_greater
    monkeypatch.setattr(small_init, "mann_whitney_greater", lambda a, b, alpha: greater(b, a, alpha=alpha))
    assert not small_init.radius_grows(ctx).passed
