import pytest

from verify.checks import lower_bound


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setitem(lower_bound.ELLS, "quick", [8])
    monkeypatch.setitem(lower_bound.RUNS, "quick", 200)


def test_derived_bound_passes(ctx, small):
    out = lower_bound.lower_bound_outcome(ctx)
    assert out.passed, out.statistic


def test_bound_off_by_sqrt2_fails(ctx, small):
    # sqrt(S ell / d) instead of sqrt(S ell / (2d)): the event becomes chi2_ell < ell, rate ~0.57.
    assert not lower_bound.lower_bound_outcome(ctx, threshold_factor=2**0.5).passed


def test_high_precision_rates_are_ordered():
    rates = lower_bound.failure_rates(10000)
    assert rates["exact"] < rates["Chernoff"] < rates["exp(-ell/16)"]
