"""theory/chi_square.py against scipy (where float64 suffices) and against a second mpmath route."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp
from scipy import stats

from theory import chi_square
from theory.chi_square import (
    chi_square_law,
    half_mean_tail_series,
    half_mean_tails,
    laurent_massart_thresholds,
)
from theory.parameters import ParameterError
from theory.precision import evaluate

# scipy's chi2 cdf/sf/pdf (cephes igam/igamc) are accurate to a few float64 ulps away from underflow;
# 1e-12 relative leaves room for that and still catches any wrong formula (off by far more).
SCIPY_RTOL = 1e-12
# scipy's ppf inverts numerically and is only good to ~1e-12 relative in the upper tail (0.999999 at
# ell=7 differs by 1.6e-12); 1e-9 still catches a wrong quantile.
SCIPY_PPF_RTOL = 1e-9


@pytest.mark.parametrize("ell", [1, 2, 3, 7, 20, 51])
@pytest.mark.parametrize("q", ["0.01", "0.5", "3", "17.25", "80"])
def test_cdf_survival_density_agree_with_scipy(ell, q):
    law = chi_square_law(ell)
    qf = float(q)
    assert float(law.cdf(q)) == pytest.approx(stats.chi2.cdf(qf, ell), rel=SCIPY_RTOL, abs=1e-300)
    assert float(law.sf(q)) == pytest.approx(stats.chi2.sf(qf, ell), rel=SCIPY_RTOL, abs=1e-300)
    assert float(law.pdf(q)) == pytest.approx(stats.chi2.pdf(qf, ell), rel=SCIPY_RTOL, abs=1e-300)


@pytest.mark.parametrize("ell", [1, 4, 7, 30])
@pytest.mark.parametrize("p", ["1e-12", "0.001", "0.3", "0.5", "0.9", "0.999999"])
def test_quantile_agrees_with_scipy_and_inverts_the_cdf(ell, p):
    law = chi_square_law(ell)
    q = law.quantile(p, digits=25)
    assert float(q) == pytest.approx(stats.chi2.ppf(float(p), ell), rel=SCIPY_PPF_RTOL)
    with mpmath.workdps(40):
        assert abs(law.cdf(q, digits=30) - mpmath.mpf(p)) <= mpmath.mpf(p) * mpmath.mpf(10) ** -20


def test_quantile_in_the_extreme_tail_far_below_float64():
    q = chi_square_law(10_000).quantile("1e-400", digits=20)
    with mpmath.workdps(40):
        assert (
            abs(chi_square_law(10_000).cdf(q, digits=30) / mpmath.mpf("1e-400") - 1) < mpmath.mpf(10) ** -15
        )


@pytest.mark.parametrize("p", ["0", "1", "-0.1", "abc"])
def test_quantile_rejects_probabilities_outside_zero_one(p):
    with pytest.raises(ParameterError, match="^probability="):
        chi_square_law(3).quantile(p)


def test_mean_variance_and_chi_mean():
    law = chi_square_law(12)
    assert (law.mean, law.variance) == (12, 24)
    for ell in (1, 5, 40):
        value = evaluate(chi_square.CHI_MEAN, {"ell": ell}, digits=20)
        assert float(value) == pytest.approx(stats.chi.mean(ell), rel=SCIPY_RTOL)


def test_survival_keeps_digits_where_the_cdf_is_nearly_one():
    # P(chi2_2 > 200) = exp(-100): 1 - cdf would cancel to 0 in float64.
    assert float(chi_square_law(2).sf(200) / mpmath.exp(-100)) == pytest.approx(1, rel=1e-25)


@pytest.mark.parametrize("ell", [1, 2, 3, 17, 100, 9_999, 10_000])
def test_kummer_series_matches_gammainc_to_fifty_digits(ell):
    series = half_mean_tail_series(ell, digits=50)
    with mpmath.workdps(90):
        direct = mpmath.gammainc(mpmath.mpf(ell) / 2, 0, mpmath.mpf(ell) / 4, regularized=True)
        assert abs(series - direct) <= direct * mpmath.mpf(10) ** -50


def test_half_mean_tails_ordering_and_values():
    tails = half_mean_tails(10_000, digits=30)
    assert tails["exact"] < tails["chernoff"] < tails["laurent_massart"]
    assert mpmath.nstr(tails["exact"], 3) == "4.35e-422"


def test_laurent_massart_thresholds():
    lower, upper = laurent_massart_thresholds(100, "6.25")  # x = ell/16
    assert lower == 50 and upper == 100 + 2 * 25 + 12.5


def test_expressions_are_the_regularized_gamma_functions():
    q = sp.Symbol("q", positive=True)
    total = evaluate(chi_square.CDF + chi_square.SURVIVAL, {"ell": 7, "Q": "3.5"}, digits=40)
    with mpmath.workdps(40):
        assert abs(total - 1) < mpmath.mpf(10) ** -39
    assert chi_square.HALF_MEAN_EXACT == chi_square.CDF.subs(chi_square.Q, chi_square.ell / 2)
    # The density is the derivative of the CDF (d/dQ of the lower incomplete gamma).
    derivative = sp.diff(chi_square.CDF, chi_square.Q) - chi_square.DENSITY
    assert sp.simplify(derivative.subs({chi_square.ell: 5, chi_square.Q: q})) == 0
