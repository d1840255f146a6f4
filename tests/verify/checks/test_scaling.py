import pytest

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
