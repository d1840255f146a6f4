"""The exact test of the mean of chi-square samples (a sum of n chi2_ell is chi2_{n ell}; R3's Q)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from theory.chi_square import ChiSquareLaw
from theory.parameters import ParameterError
from verify.statistics._base import (
    DETECTION_POWER,
    Rule,
    VerdictFields,
    _as_sample,
    _verdict_word,
    validate_inputs,
)

__all__ = [
    "chi_square_mean_power",
    "ChiSquareMeanResult",
    "mean_test_chi_square",
    "samples_for_chi_square_mean",
]

# --------------------------------------------------------------------------------------------------
# The mean of chi-square samples (R3: Q = d ||g||^2 / (c_T^2 (beta s_w)^2 S) is chi2_ell, derived)


@dataclass(frozen=True)
class ChiSquareMeanResult(VerdictFields):
    """Verdict of an exact two-sided test that n independent values are chi2_ell, through their sum."""

    name: str
    n: int
    ell: int
    mean: float  # the sample mean of Q; predicted ell
    p_value: float
    alpha: float
    acceptance_low: float  # the mean passes iff it lies in [acceptance_low, acceptance_high]
    acceptance_high: float
    detectable: float  # relative scale error (Q -> c Q, |c - 1|) caught with probability >= power
    power: float
    passed: bool

    @property
    def rule(self) -> Rule:
        return Rule("p", self.p_value, self.alpha, ">=")

    def summary(self) -> str:
        return (
            f"{_verdict_word(self.passed)} mean of {self.name or 'Q'} = {self.mean:.5g} vs chi2_{self.ell} "
            f"mean (accept [{self.acceptance_low:.5g}, {self.acceptance_high:.5g}]), p={self.p_value:.3g} vs "
            f"alpha={self.alpha:.1e}, n={self.n}; detects a relative scale error >= {self.detectable:.3g}"
        )


def _chi_square_law(law: ChiSquareLaw | int) -> ChiSquareLaw:
    return law if isinstance(law, ChiSquareLaw) else ChiSquareLaw(int(law))


def _sum_acceptance(total: ChiSquareLaw, alpha: float) -> tuple[float, float]:
    return float(total.ppf_array(alpha / 2.0)), float(total.isf_array(alpha / 2.0))


def mean_test_chi_square(
    sample_Q: Sequence[float] | np.ndarray,
    law: ChiSquareLaw | int,
    *,
    alpha: float,
    name: str = "",
    power: float = DETECTION_POWER,
) -> ChiSquareMeanResult:
    """Exact two-sided test of the mean of chi2_ell values through ``sum_j Q_j ~ chi2_{n ell}``.

    ``p = min(1, 2 min(P(S <= T), P(S >= T)))`` with S the sum's law (``law.sum_of(n)``). It complements
    KS: a scale error (a wrong c_T, s_w or S in Q's normalisation) moves the sum by n times the error and
    is caught far sooner. ``detectable`` is the smallest ``|c - 1|`` such that ``c * chi2_ell`` data fail
    with probability >= power on both sides: ``max(hi / q_power - 1, 1 - lo / q_{1-power})`` where lo, hi
    are the acceptance bounds of the sum and q the quantiles of chi2_{n ell}.

    Args:
        sample_Q: the n measured values.
        law: the predicted chi-square law (``theory.results.chi_square_law``), or its degrees of freedom.
        alpha: false-fail rate of this test.
    """
    law = _chi_square_law(law)
    validate_inputs(false_fail_rate=alpha, power=power)
    values = _as_sample(sample_Q, "sample_Q")
    n = values.size
    total = float(np.sum(values))
    sums = law.sum_of(n)
    p_value = min(1.0, 2.0 * min(float(sums.cdf_array(total)), float(sums.sf_array(total))))
    low, high = _sum_acceptance(sums, alpha)
    # c * chi2 exceeds high w.p. >= power iff c >= high / q where P(chi2 > q) = power; same below.
    up = high / float(sums.isf_array(power)) - 1.0
    down = 1.0 - low / float(sums.ppf_array(power))
    return ChiSquareMeanResult(
        name=name,
        n=n,
        ell=law.ell,
        mean=total / n,
        p_value=p_value,
        alpha=alpha,
        acceptance_low=low / n,
        acceptance_high=high / n,
        detectable=max(up, down),
        power=power,
        passed=p_value >= alpha,
    )


def chi_square_mean_power(
    n: int, law: ChiSquareLaw | int, alpha: float, *, true_ell: int | None = None, scale: float = 1.0
) -> float:
    """Exact power of `mean_test_chi_square` (n values, predicted ``law``) when each value is really
    ``scale * chi2_{true_ell}``: P(scale * chi2_{n true_ell} outside the acceptance interval)."""
    law = _chi_square_law(law)
    validate_inputs(samples=n, false_fail_rate=alpha)
    low, high = _sum_acceptance(law.sum_of(n), alpha)
    actual = ChiSquareLaw(n * (law.ell if true_ell is None else true_ell))
    return float(actual.cdf_array(low / scale)) + float(actual.sf_array(high / scale))


def samples_for_chi_square_mean(
    law: ChiSquareLaw | int,
    alpha: float,
    *,
    true_ell: int | None = None,
    scale: float = 1.0,
    power: float = DETECTION_POWER,
    limit: int = 10**7,
) -> int:
    """Smallest n at which `mean_test_chi_square` rejects ``scale * chi2_{true_ell}`` data (a concrete
    wrong prediction) with probability >= ``power`` (power is increasing in n: doubling, then bisection)."""
    validate_inputs(false_fail_rate=alpha, power=power)

    def enough(n: int) -> bool:
        return chi_square_mean_power(n, law, alpha, true_ell=true_ell, scale=scale) >= power

    high = 1
    while not enough(high):
        high *= 2
        if high > limit:
            raise ParameterError(
                f"the discrepancy is not detectable with n <= {limit}: expected a larger one"
            )
    low = high // 2
    while high - low > 1:
        mid = (low + high) // 2
        if enough(mid):
            high = mid
        else:
            low = mid
    return high
