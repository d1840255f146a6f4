import pytest

from verify.checks import flip


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setitem(flip.SIZES, "quick", dict(runs=120, r=6, ells=[6, 24], m=24, steps=60))
    flip._radii.cache_clear()
    yield
    flip._radii.cache_clear()


def test_flip_passes_and_fails_on_a_wrong_bound(ctx, small):
    assert flip.flip(ctx).passed
    # A bound half as large is exceeded far more often than exp(-ell/16) allows.
    assert not flip.flip_outcome(ctx, bound_factor=0.5).passed


def test_sandwich_holds(ctx, small):
    assert flip.sandwich(ctx).passed


def test_radii_trend_has_the_predicted_sign_only(ctx, small):
    assert flip.radii_outcome(ctx).passed
    assert not flip.radii_outcome(ctx, expect_decrease=False).passed
