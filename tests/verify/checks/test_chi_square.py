import pytest

from numerics.model import InitConfig
from numerics.train import TrainConfig
from verify.checks import chi_square
from verify.population import trained_population


@pytest.fixture(scope="module")
def population():
    return trained_population(
        seed=3, runs=200, d=24, ell=12, n=20, init=InitConfig(m=16), config=TrainConfig(lr=0.2, steps=60)
    )


def test_q_is_chi_square_with_ell_degrees(population):
    ks, mean = chi_square.law_tests(chi_square.q_sample(population), 12, 1e-3)
    assert ks.passed and mean.passed, (ks.summary(), mean.summary())


@pytest.mark.parametrize("wrong_ell", [8, 16])
def test_wrong_degrees_of_freedom_fail(population, wrong_ell):
    ks, mean = chi_square.law_tests(chi_square.q_sample(population), wrong_ell, 1e-3)
    assert not ks.passed and not mean.passed


def test_check_runs_and_draws_histogram(ctx, monkeypatch):
    monkeypatch.setitem(chi_square.CONFIGS, "quick", [(20, 10, 12)])
    monkeypatch.setitem(chi_square.RUNS, "quick", 120)
    monkeypatch.setitem(chi_square.STEPS, "quick", 40)
    out = chi_square.chi_square_fixed(ctx)
    assert out.passed, out.statistic
    assert (ctx.figures_dir / out.figures[0]).exists()
