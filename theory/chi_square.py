"""The chi-square(ell) law and the tail facts used by R3/R4, as SymPy expressions and as mpmath numbers.

R3 (derived, docs/derivations.md section R3): Q = d ||g||^2 / (c_T^2 s_w^2 S) is exactly chi-square with
ell degrees of freedom. R4 bounds its lower tail at ell/2 three ways, loosest first:
- Laurent-Massart, P(chi2_ell <= ell - 2 sqrt(ell x)) <= e^{-x}, at x = ell/16: e^{-ell/16}
  (the e^{-ell/16} constant is our reconstruction of the paper's);
- Chernoff, P(chi2_ell <= ell/2) <= (sqrt(e)/2)^{ell/2};
- exact, P(chi2_ell <= ell/2) = P(ell/2, ell/4), the regularized lower incomplete gamma function.
At ell = 10^4 these are 3.68e-272, 3.86e-420 and 4.35e-422: far below float64, hence mpmath.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import scipy.special
import sympy as sp

from theory.numeric import evaluate_array
from theory.parameters import PARAMETERS, ParameterError, validate
from theory.precision import GUARD_DIGITS, evaluate, mpmath_function, to_exact, to_mpf
from theory.symbols import Q, ell, x

__all__ = [
    "CDF",
    "CHI_MEAN",
    "chi_square_law",
    "ChiSquareLaw",
    "DENSITY",
    "HALF_MEAN_CHERNOFF",
    "HALF_MEAN_EXACT",
    "HALF_MEAN_EXACT_COMPLEMENT",
    "HALF_MEAN_TAIL_BOUND",
    "half_mean_tail_series",
    "half_mean_tails",
    "HALF_MEAN_X",
    "laurent_massart_thresholds",
    "LOWER_TAIL_THRESHOLD",
    "MEAN",
    "SURVIVAL",
    "TAIL_BOUND",
    "UPPER_TAIL_THRESHOLD",
    "VARIANCE",
]

#: Mean and variance of chi2_ell.
MEAN = ell
VARIANCE = 2 * ell
#: CDF P(chi2_ell <= Q) = P(ell/2, Q/2), the regularized lower incomplete gamma function.
CDF = sp.lowergamma(ell / 2, Q / 2) / sp.gamma(ell / 2)
#: Survival P(chi2_ell > Q) = 1 - CDF, the regularized upper incomplete gamma function.
SURVIVAL = sp.uppergamma(ell / 2, Q / 2) / sp.gamma(ell / 2)
#: Density of chi2_ell at Q.
DENSITY = Q ** (ell / 2 - 1) * sp.exp(-Q / 2) / (2 ** (ell / 2) * sp.gamma(ell / 2))
#: E[chi_ell] = E sqrt(chi2_ell) = sqrt(2) Gamma((ell+1)/2) / Gamma(ell/2).
CHI_MEAN = sp.sqrt(2) * sp.gamma((ell + 1) / 2) / sp.gamma(ell / 2)

#: Laurent-Massart: P(chi2_ell <= LOWER_TAIL_THRESHOLD) <= TAIL_BOUND and
#: P(chi2_ell >= UPPER_TAIL_THRESHOLD) <= TAIL_BOUND, for every x > 0.
LOWER_TAIL_THRESHOLD = ell - 2 * sp.sqrt(ell * x)
UPPER_TAIL_THRESHOLD = ell + 2 * sp.sqrt(ell * x) + 2 * x
TAIL_BOUND = sp.exp(-x)

#: The x at which LOWER_TAIL_THRESHOLD is ell/2 (selfchecks.lower_threshold_at_half_mean proves it).
HALF_MEAN_X = ell / 16
#: Three statements about P(chi2_ell <= ell/2), loosest first.
HALF_MEAN_TAIL_BOUND = TAIL_BOUND.subs(x, HALF_MEAN_X)  # e^{-ell/16}
HALF_MEAN_CHERNOFF = (sp.sqrt(sp.E) / 2) ** (ell / 2)  # inf_s E[e^{-s chi2}] e^{s ell/2}, at s = 1/2
HALF_MEAN_EXACT = CDF.subs(Q, ell / 2)  # P(ell/2, ell/4)
#: P(chi2_ell > ell/2) = Q(ell/2, ell/4), the exact probability of R4's event.
HALF_MEAN_EXACT_COMPLEMENT = SURVIVAL.subs(Q, ell / 2)


@dataclass(frozen=True)
class ChiSquareLaw:
    """The chi-square law with `ell` degrees of freedom: mpmath values at a chosen precision, and float64
    arrays (`*_array`) for tests over samples, all from the expressions of this module."""

    ell: int

    def __post_init__(self) -> None:
        validate(ell=self.ell)

    @property
    def name(self) -> str:
        return f"chi2_{self.ell}"

    @property
    def mean(self) -> float:
        """E chi2_ell (MEAN)."""
        return float(evaluate(MEAN, {"ell": self.ell}, 17))

    @property
    def variance(self) -> float:
        """Var chi2_ell (VARIANCE)."""
        return float(evaluate(VARIANCE, {"ell": self.ell}, 17))

    def sum_of(self, n: int) -> ChiSquareLaw:
        """The law of a sum of n independent chi2_ell values: chi2_{n ell}."""
        validate(n=n)
        return ChiSquareLaw(n * self.ell)

    def cdf_array(self, q: Any) -> np.ndarray:
        """P(chi2_ell <= q) in float64 for an array q (CDF, lambdified)."""
        return evaluate_array(CDF, {"ell": self.ell, "Q": np.maximum(np.asarray(q, dtype=np.float64), 0.0)})

    def sf_array(self, q: Any) -> np.ndarray:
        """P(chi2_ell > q) in float64 for an array q (SURVIVAL, lambdified; accurate in the upper tail)."""
        return evaluate_array(
            SURVIVAL, {"ell": self.ell, "Q": np.maximum(np.asarray(q, dtype=np.float64), 0.0)}
        )

    def pdf_array(self, q: Any) -> np.ndarray:
        """The density in float64 for an array q > 0 (DENSITY, lambdified)."""
        return evaluate_array(DENSITY, {"ell": self.ell, "Q": np.asarray(q, dtype=np.float64)})

    def ppf_array(self, p: Any) -> np.ndarray:
        """The p-quantile in float64: the inverse of `cdf_array` (regularized-gamma inverse; the quantile
        of `quantile` at float64 precision)."""
        return 2.0 * scipy.special.gammaincinv(self.ell / 2.0, np.asarray(p, dtype=np.float64))

    def isf_array(self, p: Any) -> np.ndarray:
        """The q with P(chi2_ell > q) = p, in float64 (accurate for tiny p)."""
        return 2.0 * scipy.special.gammainccinv(self.ell / 2.0, np.asarray(p, dtype=np.float64))

    def cdf(self, q: Any, digits: int = 30) -> mpmath.mpf:
        """P(chi2_ell <= q) = P(ell/2, q/2), to `digits` digits; q is read exactly."""
        return evaluate(CDF, self._at(q), digits)

    def sf(self, q: Any, digits: int = 30) -> mpmath.mpf:
        """P(chi2_ell > q) = Q(ell/2, q/2), to `digits` digits (accurate also where it is near 1 or tiny)."""
        return evaluate(SURVIVAL, self._at(q), digits)

    def pdf(self, q: Any, digits: int = 30) -> mpmath.mpf:
        """Density q^{ell/2-1} e^{-q/2} / (2^{ell/2} Gamma(ell/2)) at q > 0."""
        return evaluate(DENSITY, self._at(q), digits)

    def quantile(self, p: Any, digits: int = 30) -> mpmath.mpf:
        """The q with P(chi2_ell <= q) = p, for 0 < p < 1, to `digits` digits.

        Bracketed by the Laurent-Massart thresholds and found by bisection on log q (robust for the
        extreme tails, where q can be far below 1), comparing the CDF with p when p <= 1/2 and the survival
        function with 1 - p otherwise, so that neither comparison cancels.
        """
        validate(digits=digits)
        p_exact = to_exact(p, "probability")
        if not 0 < p_exact < 1:  # compared exactly: a float comparison would reject p = 1e-400
            raise ParameterError(
                f"probability={p!r} is invalid: expected {PARAMETERS['probability'].describe()}"
            )
        lower_side = p_exact <= to_exact("0.5")
        target_exact = p_exact if lower_side else 1 - p_exact
        tail = mpmath_function(CDF if lower_side else SURVIVAL, (Q, ell))
        with mpmath.workdps(digits + GUARD_DIGITS):
            target = to_mpf(target_exact)
            n = mpmath.mpf(self.ell)

            def below(q: mpmath.mpf) -> bool:  # whether q lies below the quantile
                value = tail(q, n)
                return bool(value < target) if lower_side else bool(value > target)

            # P(chi2 >= ell + 2 sqrt(ell y) + 2y) <= e^{-y} = 1 - p: so the CDF there is >= p.
            y = -mpmath.log(to_mpf(1 - p_exact))
            high = n + 2 * mpmath.sqrt(n * y) + 2 * y + 1
            low = high
            while not below(low):
                low /= 16
            while high / low - 1 > mpmath.mpf(10) ** (-(digits + 2)):
                middle = mpmath.sqrt(low * high)
                if below(middle):
                    low = middle
                else:
                    high = middle
            result = mpmath.sqrt(low * high)
        with mpmath.workdps(digits):
            return +result

    def _at(self, q: Any) -> dict[str, Any]:
        q_exact = to_exact(q, "Q")
        validate(Q=q_exact)
        return {"ell": self.ell, "Q": q_exact}


def chi_square_law(ell: int) -> ChiSquareLaw:
    """The chi-square(ell) law (validated: ell an integer >= 1)."""
    return ChiSquareLaw(ell)


def half_mean_tails(ell: int, digits: int = 30) -> dict[str, mpmath.mpf]:
    """The three statements about P(chi2_ell <= ell/2), each to `digits` digits.

    Returns:
        {"laurent_massart": e^{-ell/16}, "chernoff": (sqrt(e)/2)^{ell/2}, "exact": P(ell/2, ell/4)}.
    """
    validate(ell=ell, digits=digits)
    at = {"ell": ell}
    return {
        "laurent_massart": evaluate(HALF_MEAN_TAIL_BOUND, at, digits),
        "chernoff": evaluate(HALF_MEAN_CHERNOFF, at, digits),
        "exact": evaluate(HALF_MEAN_EXACT, at, digits),
    }


def laurent_massart_thresholds(ell: int, x_value: Any, digits: int = 30) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(ell - 2 sqrt(ell x), ell + 2 sqrt(ell x) + 2x): chi2_ell is beyond each w.p. <= e^{-x}."""
    x_exact = to_exact(x_value, "x")
    validate(ell=ell, x=x_exact, digits=digits)
    at = {"ell": ell, "x": x_exact}
    return evaluate(LOWER_TAIL_THRESHOLD, at, digits), evaluate(UPPER_TAIL_THRESHOLD, at, digits)


def half_mean_tail_series(ell: int, digits: int = 50) -> mpmath.mpf:
    """P(chi2_ell <= ell/2) = P(a, a/2), a = ell/2, by the Kummer series, a route independent of gammainc.

    P(a, x) = x^a e^{-x} / Gamma(a+1) * sum_{n>=0} prod_{j=1..n} x/(a+j); at x = a/2 each factor is
    ell/(2 ell + 4j) <= 1/2, so the sum converges geometrically. It is summed in fixed-point integer
    arithmetic (every truncation is below one unit of 2^-bits and the sum is >= 1), which makes a sweep
    over ell = 1..10^4 a few seconds instead of a minute of mpmath.gammainc calls.
    """
    validate(ell=ell, digits=digits)
    bits = int(digits * 3.33) + 64  # 64 guard bits cover the <= bits truncations of the sum
    term, total, j = 1 << bits, 0, 0
    while term:
        total += term
        j += 1
        term = term * ell // (2 * ell + 4 * j)
    with mpmath.workdps(digits + GUARD_DIGITS):
        a = mpmath.mpf(ell) / 2
        prefactor = mpmath.power(a / 2, a) * mpmath.exp(-a / 2) / mpmath.gamma(a + 1)
        value = prefactor * mpmath.ldexp(mpmath.mpf(total), -bits)
    with mpmath.workdps(digits):
        return +value
