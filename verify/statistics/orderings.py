"""Orderings "a tends to exceed b": Mann-Whitney and the paired sign test (R7, R9)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import mpmath
import numpy as np
from scipy import stats

from theory.parameters import ParameterError
from verify.statistics._base import (
    DETECTION_POWER,
    MANN_WHITNEY_EXACT_PAIRS,
    Rule,
    VerdictFields,
    _as_sample,
    _verdict_word,
    validate_inputs,
)
from verify.statistics.binomial import binomial_critical_count, binomial_detectable_rate

__all__ = ["mann_whitney_detectable", "mann_whitney_greater", "OrderingResult", "sign_test_paired"]

# --------------------------------------------------------------------------------------------------
# Orderings: "a is larger than b" (e.g. the small-init radius exceeds the vanilla radius, R7)


@dataclass(frozen=True)
class OrderingResult(VerdictFields):
    """Verdict of a one-sided test that ``a`` tends to exceed ``b``.

    Here the check passes only when the data CONFIRM the predicted ordering (``p < alpha``); alpha is
    the rate of confirming an ordering that is not there. Without an ordering the check fails, so a
    real but small effect on few samples also fails: read ``effect`` and ``detectable`` before blaming
    theory.
    """

    name: str
    test: str
    statistic: float
    p_value: float
    effect: float  # P(A > B) + P(A = B)/2 (Mann-Whitney) or the fraction of pairs with a > b (sign)
    n_a: int
    n_b: int
    alpha: float
    detectable: float  # smallest P(A > B) confirmed with probability >= power (normal approximation)
    power: float
    confirms_ordering: bool

    @property
    def passed(self) -> bool:
        """The check's verdict: the predicted ordering is confirmed."""
        return self.confirms_ordering

    @property
    def n(self) -> int:
        return self.n_a + self.n_b

    @property
    def rule(self) -> Rule:
        return Rule("p", self.p_value, self.alpha, "<")

    def summary(self) -> str:
        outcome = "confirmed" if self.confirms_ordering else "NOT confirmed"
        return (
            f"{_verdict_word(self.confirms_ordering)} {self.name or 'a > b'} {outcome} by {self.test}: "
            f"p={self.p_value:.3g} vs alpha={self.alpha:.1e}, effect {self.effect:.3g} (1/2 = none), "
            f"n={self.n_a}/{self.n_b}; confirms an effect >= {self.detectable:.3g} at power {self.power:g}"
        )


def mann_whitney_detectable(n_a: int, n_b: int, alpha: float, power: float = DETECTION_POWER) -> float:
    """Smallest theta = P(A > B) that the one-sided Mann-Whitney test at ``alpha`` confirms with
    probability >= ``power`` (normal approximation of U, with the variance bound theta(1 - theta)
    (n_a + n_b + 1)/(n_a n_b ... ) replaced by the null variance, adequate for theta near 1/2; stated,
    not used for any verdict)."""
    validate_inputs(samples=n_a, false_fail_rate=alpha, power=power)
    validate_inputs(samples=n_b)
    sd = math.sqrt((n_a + n_b + 1) / (12.0 * n_a * n_b))  # sd of U/(n_a n_b) under the null
    return min(1.0, 0.5 + (float(stats.norm.isf(alpha)) + float(stats.norm.ppf(power))) * sd)


def mann_whitney_greater(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    alpha: float,
    name: str = "",
    power: float = DETECTION_POWER,
) -> OrderingResult:
    """One-sided Mann-Whitney U test of "a is stochastically greater than b" (independent samples).

    ``effect = U / (n_a n_b)``, the estimate of ``P(A > B) + P(A = B)/2``. The p-value uses the exact
    null law of U when there are no ties and ``n_a n_b <= 1e4``; otherwise the normal approximation with
    tie and continuity corrections (large-sample, the one asymptotic rule in this module).
    """
    validate_inputs(false_fail_rate=alpha)
    xa, xb = _as_sample(a, "a"), _as_sample(b, "b")
    pooled = np.concatenate([xa, xb])
    exact = np.unique(pooled).size == pooled.size and xa.size * xb.size <= MANN_WHITNEY_EXACT_PAIRS
    method = "exact" if exact else "asymptotic"
    result = stats.mannwhitneyu(xa, xb, alternative="greater", method=method)
    p_value = float(result.pvalue)
    return OrderingResult(
        name=name,
        test=f"Mann-Whitney U ({method})",
        statistic=float(result.statistic),
        p_value=p_value,
        effect=float(result.statistic) / (xa.size * xb.size),
        n_a=int(xa.size),
        n_b=int(xb.size),
        alpha=alpha,
        detectable=mann_whitney_detectable(int(xa.size), int(xb.size), alpha, power),
        power=power,
        confirms_ordering=p_value < alpha,
    )


def sign_test_paired(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    alpha: float,
    name: str = "",
    power: float = DETECTION_POWER,
) -> OrderingResult:
    """Exact one-sided sign test of "a_i > b_i" over pairs (same network / point measured two ways).

    With k positive differences among the n' non-zero ones, ``p = P(Binom(n', 1/2) >= k)``; ties
    (a_i = b_i) carry no sign and are dropped, the standard convention. Valid for any n and any law of
    the differences (only their independence across pairs is assumed).
    """
    validate_inputs(false_fail_rate=alpha)
    xa, xb = _as_sample(a, "a"), _as_sample(b, "b")
    if xa.size != xb.size:
        raise ParameterError(f"a has {xa.size} values and b {xb.size}: expected pairs of equal length")
    difference = xa - xb
    positive = int(np.sum(difference > 0))
    informative = int(np.sum(difference != 0))
    if informative == 0:
        p_value, effect = 1.0, 0.5
    else:
        p_value = float(stats.binomtest(positive, informative, 0.5, alternative="greater").pvalue)
        effect = positive / informative
    trials = max(informative, 1)
    detectable = binomial_detectable_rate(
        trials, binomial_critical_count(trials, mpmath.mpf("0.5"), alpha), power
    )
    return OrderingResult(
        name=name,
        test="sign test (exact)",
        statistic=float(positive),
        p_value=p_value,
        effect=effect,
        n_a=int(xa.size),
        n_b=int(xb.size),
        alpha=alpha,
        detectable=detectable,
        power=power,
        confirms_ordering=p_value < alpha,
    )
