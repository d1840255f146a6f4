import pytest

from tests.verify.checks.conftest import ShiftedExponents
from verify.checks import scaling


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setitem(scaling.SIZES, "quick", dict(runs=150, steps=40, d=40, m=16))


def test_ell_exponent_passes(ctx, small):
    out = scaling.ell_exponent(ctx)
    assert out.passed, out.statistic


def test_wrong_exponent_fails(ctx, small):
    d = 40
    sweep = scaling.Sweep(
        "ell",
        "ell/d",
        [0.25, 0.5, 0.875],
        lambda c, x: scaling._population(c, "ell", x, d=d, ell=round(x * d), init=scaling.InitConfig(m=16)),
        scaling._g2_over_S,
        "||g||^2 / S",
    )
    pops = scaling.sweep_populations(ctx, sweep)
    assert scaling.exponent_outcome(ctx, sweep, pops, 0.5).passed
    assert not scaling.exponent_outcome(ctx, sweep, pops, 0.75).passed
    assert not scaling.exponent_outcome(ctx, sweep, pops, 0.25).passed


@pytest.mark.parametrize("check", [scaling.width_sqrt, scaling.width_mean_field])
def test_width_checks_pass_on_the_theory_and_fail_half_an_exponent_off(ctx, monkeypatch, check):
    assert check(ctx).passed
    for shift in (-0.5, 0.5):
        monkeypatch.setattr(scaling, "result", lambda rid, s=shift: ShiftedExponents(rid, s))
        assert not check(ctx).passed
