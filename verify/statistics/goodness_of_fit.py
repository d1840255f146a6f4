"""Goodness of fit: Kolmogorov-Smirnov against an exact law, and the DKW band for any law."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from verify.statistics._base import (
    DETECTION_POWER,
    Rule,
    VerdictFields,
    _as_sample,
    _verdict_word,
    validate_inputs,
)

__all__ = [
    "dkw_band_test",
    "dkw_epsilon",
    "GofResult",
    "ks_critical_value",
    "ks_detectable",
    "ks_power_lower_bound",
    "ks_test",
    "samples_for_ks",
]

# --------------------------------------------------------------------------------------------------
# Goodness of fit: Kolmogorov-Smirnov (exact law) and the DKW band (any sample size, any law)


def dkw_epsilon(n: int, alpha: float) -> float:
    """Half-width of the DKW band: ``P(sup_x |F_n(x) - F(x)| > eps) <= alpha`` for every law F and n.

    ``eps = sqrt(log(2/alpha) / (2n))`` from Massart's tight constant, ``P(sup|F_n - F| > eps) <=
    2 exp(-2 n eps^2)``, valid whenever ``alpha < 1`` (Massart 1990), including laws with atoms.
    """
    validate_inputs(samples=n, false_fail_rate=alpha)
    return math.sqrt(math.log(2.0 / alpha) / (2.0 * n))


@functools.lru_cache(maxsize=1024)  # kstwo.isf costs ~2 ms and checks repeat the same (n, alpha)
def ks_critical_value(n: int, alpha: float) -> float:
    """Exact critical value ``c`` of the two-sided KS statistic: ``P(D_n > c) = alpha`` for continuous F."""
    validate_inputs(samples=n, false_fail_rate=alpha)
    return float(stats.kstwo.isf(alpha, n))


def ks_detectable(n: int, alpha: float, power: float = DETECTION_POWER) -> float:
    """Smallest sup-distance ``delta = sup|G - F|`` between the true law G and the predicted F that the
    KS test at rate ``alpha`` rejects with probability >= ``power`` for EVERY such G, at any n.

    Definition (finite-sample): ``delta = c_n(alpha) + eps_DKW(n, 1 - power)``. Because
    ``D_n = sup|F_n - F| >= sup|G - F| - sup|F_n - G|`` and DKW gives
    ``P(sup|F_n - G| <= eps_DKW(n, 1 - power)) >= power`` under G, a G that far from F makes
    ``D_n > c_n(alpha)`` with probability >= power. Conservative: the true detectable distance is smaller.
    """
    validate_inputs(power=power)
    return ks_critical_value(n, alpha) + dkw_epsilon(n, 1.0 - power)


def ks_power_lower_bound(n: int, alpha: float, delta: float) -> float:
    """A lower bound on the KS test's power against every true law at sup-distance ``delta`` from the
    predicted one: ``1 - 2 exp(-2 n (delta - c_n(alpha))^2)`` when delta > c_n(alpha) (the DKW argument of
    `ks_detectable`, inverted), else 0."""
    validate_inputs(samples=n, false_fail_rate=alpha)
    gap = delta - ks_critical_value(n, alpha)
    return max(0.0, 1.0 - 2.0 * math.exp(-2.0 * n * gap * gap)) if gap > 0 else 0.0


def samples_for_ks(delta: float, alpha: float, power: float = DETECTION_POWER) -> int:
    """Smallest n with ``ks_detectable(n, alpha, power) <= delta`` (so delta is caught w.p. >= power).

    ``c_n(alpha)`` is decreasing in n and bounded by ``eps_DKW(n, alpha)``, which gives the bracket
    ``n <= ceil((sqrt(log(2/alpha)/2) + sqrt(log(2/(1-power))/2))^2 / delta^2)`` for a bisection.
    """
    validate_inputs(delta=delta, false_fail_rate=alpha, power=power)
    root = math.sqrt(math.log(2.0 / alpha) / 2.0) + math.sqrt(math.log(2.0 / (1.0 - power)) / 2.0)
    low, high = 1, max(1, math.ceil((root / delta) ** 2))
    if ks_detectable(low, alpha, power) <= delta:
        return low
    while high - low > 1:  # invariant: detectable(low) > delta >= detectable(high)
        mid = (low + high) // 2
        if ks_detectable(mid, alpha, power) <= delta:
            high = mid
        else:
            low = mid
    return high


@dataclass(frozen=True)
class GofResult(VerdictFields):
    """Verdict of a goodness-of-fit check of a sample against a predicted CDF."""

    name: str  # the predicted law ("chi2_40")
    test: str  # "Kolmogorov-Smirnov (exact)" or "DKW band"
    statistic: float  # D = sup_x |F_n(x) - F(x)|
    p_value: float  # exact for KS; the DKW bound min(1, 2 exp(-2 n D^2)) for the band
    n: int
    alpha: float
    critical_value: float  # fail iff D exceeds it
    detectable: float  # sup|G - F| caught with probability >= power (see ks_detectable)
    power: float
    passed: bool

    @property
    def rule(self) -> Rule:
        if self.test == "DKW band":
            return Rule("D", self.statistic, self.critical_value, "<=")
        return Rule("p", self.p_value, self.alpha, ">=")

    def summary(self) -> str:
        return (
            f"{_verdict_word(self.passed)} {self.test} {self.name or 'vs the predicted law'}: "
            f"D={self.statistic:.4g} (critical {self.critical_value:.4g}), p={self.p_value:.3g} "
            f"vs alpha={self.alpha:.1e}, n={self.n}; detects sup-CDF distance >= {self.detectable:.3g}"
        )


def _ks_statistic(sample: np.ndarray, cdf: Callable[[np.ndarray], np.ndarray]) -> tuple[float, float]:
    """(D, exact two-sided p-value) from scipy; ``method="exact"`` uses the kstwo law at every n."""
    result = stats.kstest(sample, cdf, alternative="two-sided", method="exact")
    return float(result.statistic), float(result.pvalue)


def _cdf_of(law: Any) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """(vectorised CDF, name) of a law object with ``cdf_array`` (theory.chi_square.ChiSquareLaw) or a
    plain CDF callable."""
    if hasattr(law, "cdf_array"):
        return law.cdf_array, getattr(law, "name", "")
    return law, ""


def ks_test(
    sample: Sequence[float] | np.ndarray,
    cdf: Any,
    *,
    alpha: float,
    name: str = "",
    power: float = DETECTION_POWER,
) -> GofResult:
    """Two-sided Kolmogorov-Smirnov test of i.i.d. ``sample`` against a continuous CDF (exact law).

    Fails iff ``p < alpha`` (equivalently ``D > c_n(alpha)``), so a correct continuous prediction fails
    with probability exactly ``alpha``. E.g. for R3, the law of Q from ``theory.results.chi_square_law``.

    Args:
        sample: the n measured values (independent, one per network).
        cdf: the predicted law (an object with ``cdf_array`` and ``name``) or its CDF, vectorised.
        alpha: false-fail rate of this check.
        name: the predicted law, for the summary (default: the law's own name).
        power: the power at which ``detectable`` is stated.
    """
    validate_inputs(false_fail_rate=alpha, power=power)
    cdf, law_name = _cdf_of(cdf)
    name = name or (f"vs {law_name}" if law_name else "")
    values = _as_sample(sample, "sample")
    statistic, p_value = _ks_statistic(values, cdf)
    n = values.size
    return GofResult(
        name=name,
        test="Kolmogorov-Smirnov (exact)",
        statistic=statistic,
        p_value=p_value,
        n=n,
        alpha=alpha,
        critical_value=ks_critical_value(n, alpha),
        detectable=ks_detectable(n, alpha, power),
        power=power,
        passed=p_value >= alpha,
    )


def dkw_band_test(
    sample: Sequence[float] | np.ndarray,
    cdf: Any,
    *,
    alpha: float,
    name: str = "",
    power: float = DETECTION_POWER,
) -> GofResult:
    """Passes iff ``sup|F_n - F| <= dkw_epsilon(n, alpha)``: a finite-sample rule valid for any law F.

    Looser than the exact KS test for continuous F, but its false-fail rate is <= alpha also for laws
    with atoms. ``detectable = eps(n, alpha) + eps(n, 1 - power)`` by the argument of `ks_detectable`.
    """
    validate_inputs(false_fail_rate=alpha, power=power)
    cdf, law_name = _cdf_of(cdf)
    name = name or (f"vs {law_name}" if law_name else "")
    values = _as_sample(sample, "sample")
    statistic, _ = _ks_statistic(values, cdf)
    n = values.size
    epsilon = dkw_epsilon(n, alpha)
    return GofResult(
        name=name,
        test="DKW band",
        statistic=statistic,
        p_value=min(1.0, 2.0 * math.exp(-2.0 * n * statistic**2)),
        n=n,
        alpha=alpha,
        critical_value=epsilon,
        detectable=epsilon + dkw_epsilon(n, 1.0 - power),
        power=power,
        passed=statistic <= epsilon,
    )
