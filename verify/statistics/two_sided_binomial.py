"""The exact two-sided binomial test of an event rate against its exact predicted probability (R4's
P(chi2_ell <= ell/2)), with its rejection region, power, detectable rates and sample size. The one-sided test
against an upper bound is in `verify.statistics.binomial`."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import mpmath
import numpy as np
from scipy import stats

from theory.parameters import ParameterError
from verify.statistics._base import DETECTION_POWER, Rule, VerdictFields, _verdict_word, validate_inputs

__all__ = [
    "binomial_two_sided_detectable",
    "binomial_two_sided_power",
    "binomial_two_sided_test",
    "samples_for_binomial_two_sided",
    "two_sided_rejections",
    "TwoSidedBinomialResult",
]


@dataclass(frozen=True)
class TwoSidedBinomialResult(VerdictFields):
    """Verdict of an exact two-sided binomial test of H0: event rate = p0."""

    name: str
    events: int
    n: int
    p0: float
    rate: float
    p_value: float
    alpha: float
    ci_low: float  # Clopper-Pearson interval at level 1 - alpha
    ci_high: float
    detectable_rise: float  # smallest p - p0 > 0 caught with probability >= power (inf: none)
    detectable_fall: float  # smallest p0 - p > 0 caught with probability >= power (inf: none)
    power: float
    passed: bool

    @property
    def rule(self) -> Rule:
        return Rule("p", self.p_value, self.alpha, ">=")

    @property
    def reach(self) -> str:
        """The true rates this test catches at its power, side by side; a side it cannot reach is named."""
        sides = []
        if math.isfinite(self.detectable_rise):
            sides.append(f"a rate >= {self.p0 + self.detectable_rise:.3g}")
        if math.isfinite(self.detectable_fall):
            sides.append(f"a rate <= {self.p0 - self.detectable_fall:.3g}")
        caught = f"detects {' or '.join(sides)} at power {self.power:g}" if sides else "detects no rate"
        if not math.isfinite(self.detectable_fall):
            caught += (
                f"; no rate below p0 can fail it at n={self.n} (P(0 events) >= alpha)" if self.p0 > 0 else ""
            )
        if not math.isfinite(self.detectable_rise):
            caught += f"; no rate above p0 reaches power {self.power:g} at n={self.n}"
        return caught

    def summary(self) -> str:
        return (
            f"{_verdict_word(self.passed)} two-sided binomial {self.name or 'rate'}: {self.events}/{self.n} "
            f"= {self.rate:.4g} vs p0={self.p0:.4g}, p={self.p_value:.3g} vs alpha={self.alpha:.1e} (CI "
            f"[{self.ci_low:.4g}, {self.ci_high:.4g}]); {self.reach}"
        )


@functools.lru_cache(maxsize=4096)
def two_sided_rejections(n: int, p0: float, alpha: float) -> np.ndarray:
    """The counts k in 0..n that scipy's two-sided (minimum-likelihood) binomial test rejects at alpha.

    Its p-value P(pmf(X) <= pmf(k)) rises with pmf(k), so it is monotone on each side of the mode and the
    rejections are two tails {k <= a} and {k >= b}: each edge is found by bisection on scipy's own test.
    """
    mode = min(n, int(math.floor((n + 1) * p0)))

    def rejects(k: int) -> bool:
        return bool(stats.binomtest(k, n, p0).pvalue < alpha)

    def edge(low: int, high: int) -> int | None:
        """The last rejected count walking from `low` towards `high` (None if `low` is not rejected)."""
        if not rejects(low):
            return None
        while abs(high - low) > 1:  # invariant: low rejected, high accepted (or past the range)
            mid = (low + high) // 2
            low, high = (mid, high) if rejects(mid) else (low, mid)
        return low

    reject = np.zeros(n + 1, dtype=bool)
    a = edge(0, mode + 1) if mode > 0 or rejects(0) else None
    if a is not None:
        reject[: a + 1] = True
    b = edge(n, mode - 1) if mode < n or rejects(n) else None
    if b is not None:
        reject[b:] = True
    return reject


def binomial_two_sided_power(n: int, p0: float, p1: float, alpha: float) -> float:
    """Exact probability that `binomial_two_sided_test` at ``alpha`` rejects H0: rate = p0 when the
    true rate is p1 (the Binom(n, p1) mass of the rejection region)."""
    validate_inputs(samples=n, false_fail_rate=alpha)
    reject = two_sided_rejections(n, float(p0), alpha)
    return float(stats.binom.pmf(np.arange(n + 1), n, p1)[reject].sum())


def samples_for_binomial_two_sided(
    p0: float, p1: float, alpha: float, power: float = DETECTION_POWER, limit: int = 10**6
) -> int:
    """Smallest n at which `binomial_two_sided_test` rejects p0 with probability >= power when the true rate
    is p1 (the power is not monotone in n for a discrete test: the smallest n from which every n up to
    twice it has the power, found by doubling then a linear scan)."""
    validate_inputs(false_fail_rate=alpha, power=power)
    high = 8
    while binomial_two_sided_power(high, p0, p1, alpha) < power:
        high *= 2
        if high > limit:
            raise ParameterError(f"p1={p1!r} is not detectable against p0={p0!r} with n <= {limit}")
    n = high // 2
    while n < high and binomial_two_sided_power(n, p0, p1, alpha) < power:
        n += 1
    return n


def binomial_two_sided_detectable(
    n: int, p0: float, alpha: float, power: float = DETECTION_POWER
) -> tuple[float, float]:
    """(rise, fall): the smallest p1 - p0 > 0 and p0 - p1 > 0 at which `binomial_two_sided_test` rejects with
    probability >= ``power`` (bisection on each side, where the power grows with |p1 - p0|); inf on a side
    no rate reaches. At small n p0 the lower side is out of reach: P(0 events) = (1 - p0)^n >= alpha."""
    validate_inputs(samples=n, false_fail_rate=alpha, power=power)
    reach = []
    for direction, room in ((1.0, 1.0 - p0), (-1.0, p0)):
        if room <= 0 or binomial_two_sided_power(n, p0, p0 + direction * room, alpha) < power:
            reach.append(math.inf)
            continue
        low, high = 0.0, room
        for _ in range(40):
            mid = (low + high) / 2
            if binomial_two_sided_power(n, p0, p0 + direction * mid, alpha) >= power:
                high = mid
            else:
                low = mid
        reach.append(high)
    return reach[0], reach[1]


def binomial_two_sided_test(
    events: int,
    n: int,
    p0: float | mpmath.mpf,
    *,
    alpha: float,
    name: str = "",
    power: float = DETECTION_POWER,
) -> TwoSidedBinomialResult:
    """Exact two-sided binomial test (scipy's minimum-likelihood p-value) of H0: rate = p0.

    Under H0 the p-value is super-uniform at every n, so a correct exact probability fails with rate
    <= alpha. Used where the theory gives the probability itself (R4: P(chi2_ell <= ell/2)), not a bound.
    """
    validate_inputs(failures=events, samples=n, false_fail_rate=alpha)
    p = float(p0)
    test = stats.binomtest(events, n, p, alternative="two-sided")
    ci = test.proportion_ci(confidence_level=1 - alpha, method="exact")
    rise, fall = binomial_two_sided_detectable(n, p, alpha, power)
    return TwoSidedBinomialResult(
        name=name,
        events=events,
        n=n,
        p0=p,
        rate=events / n,
        p_value=float(test.pvalue),
        alpha=alpha,
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        detectable_rise=rise,
        detectable_fall=fall,
        power=power,
        passed=bool(test.pvalue >= alpha),
    )
