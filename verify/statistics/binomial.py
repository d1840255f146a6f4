"""The one-sided binomial test of an event rate against an upper bound (R4's e^{-ell/16}): the failure
count's exact tail P(Binom(n, p0) >= k) at any magnitude of p0, the test's power and its critical count.
The two-sided test against an exact probability is in `verify.statistics.two_sided_binomial`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import mpmath
from scipy import stats

from theory.parameters import ParameterError
from verify.statistics._base import (
    _FLOAT_TINY,
    _TAIL_DPS,
    DETECTION_POWER,
    Rule,
    VerdictFields,
    _verdict_word,
    validate_inputs,
)

__all__ = [
    "binomial_critical_count",
    "binomial_detectable_rate",
    "binomial_upper_power",
    "binomial_upper_test",
    "BinomialResult",
]


def _as_rate(p0: Any) -> mpmath.mpf:
    rate = mpmath.mpf(p0)
    if not (mpmath.isfinite(rate) and 0 <= rate <= 1):
        raise ParameterError(f"p0={p0!r} is invalid: expected a real (float or mpmath.mpf) in [0, 1]")
    return rate


def _binomial_tail(k: int, n: int, p: mpmath.mpf) -> mpmath.mpf:
    """Exact ``P(Binom(n, p) >= k)`` at any magnitude (p = 1e-272 included)."""
    if k <= 0:
        return mpmath.mpf(1)
    if k > n or p == 0:
        return mpmath.mpf(0)
    if p == 1:
        return mpmath.mpf(1)
    p_float = float(p)
    if p_float >= _FLOAT_TINY:
        tail = float(stats.binom.sf(k - 1, n, p_float))
        if tail >= _FLOAT_TINY:
            return mpmath.mpf(tail)
    # Left float64 range: k sits far above n p (tail < 1e-290 or p < 1e-290), where consecutive terms
    # C(n,j) p^j (1-p)^(n-j) shrink by (n-j)/(j+1) * p/(1-p) < 1, so the upward sum converges fast.
    with mpmath.workdps(_TAIL_DPS):
        term = mpmath.binomial(n, k) * p**k * mpmath.exp((n - k) * mpmath.log1p(-p))
        total = term
        ratio = p / (1 - p)
        j = k
        while j < n and term > total * mpmath.eps:
            term *= (n - j) * ratio / (j + 1)
            total += term
            j += 1
        return +total


def binomial_critical_count(n: int, p0: mpmath.mpf, alpha: float) -> int:
    """Smallest count c with ``P(Binom(n, p0) >= c) < alpha`` (n + 1 when no count is rejected)."""
    low, high = 0, n + 1  # tail(0) = 1 >= alpha; treat tail(n + 1) = 0 < alpha
    while high - low > 1:
        mid = (low + high) // 2
        if _binomial_tail(mid, n, p0) < alpha:
            high = mid
        else:
            low = mid
    return high


def binomial_detectable_rate(n: int, critical: int, power: float) -> float:
    """Smallest true rate p with ``P(Binom(n, p) >= critical) >= power``: the ``power`` quantile of
    Beta(critical, n - critical + 1) (exact identity, no root finding); inf when critical > n."""
    return float(stats.beta.ppf(power, critical, n - critical + 1)) if critical <= n else math.inf


@dataclass(frozen=True)
class BinomialResult(VerdictFields):
    """Verdict of H0 "true failure rate <= p0" from ``failures`` out of ``n`` independent trials."""

    name: str
    failures: int
    n: int
    p0: float | mpmath.mpf  # the bound; mpmath.mpf when below float64 range
    p_value: float  # P(Binom(n, p0) >= failures), exact; may underflow to 0.0 (see log10_p_value)
    log10_p_value: float
    alpha: float
    upper_confidence_limit: float  # one-sided Clopper-Pearson, level 1 - alpha
    critical_count: int  # fail iff failures >= critical_count
    detectable_rate: float  # true rate caught with probability >= power (inf: never)
    power: float
    passed: bool

    @property
    def rule(self) -> Rule:
        return Rule("p", self.p_value, self.alpha, ">=")

    def summary(self) -> str:
        p0 = mpmath.nstr(mpmath.mpf(self.p0), 3)
        p = f"{self.p_value:.3g}" if self.p_value > 0 else f"10^{self.log10_p_value:.1f}"
        reach = (
            f"detects a true rate >= {self.detectable_rate:.3g}"
            if math.isfinite(self.detectable_rate)
            else f"no count out of {self.n} can fail it"
        )
        return (
            f"{_verdict_word(self.passed)} failure rate of {self.name or 'the event'} <= {p0}: "
            f"{self.failures}/{self.n} failures, p={p} vs alpha={self.alpha:.1e} "
            f"(fail at >= {self.critical_count}); rate <= {self.upper_confidence_limit:.3g} at "
            f"{1 - self.alpha:.4g} confidence; {reach}"
        )


def binomial_upper_test(
    failures: int,
    n: int,
    p0: float | mpmath.mpf,
    *,
    alpha: float,
    name: str = "",
    power: float = DETECTION_POWER,
) -> BinomialResult:
    """Exact one-sided binomial test of H0: failure rate <= p0, with p = P(Binom(n, p0) >= failures).

    Fails iff ``p < alpha``; under H0 that happens with probability <= alpha for every n (the binomial
    tail is exact and increasing in the rate). ``p0`` may be an ``mpmath.mpf`` below float64 range
    (R4's bound e^{-ell/16} at ell = 1e4 is 3.7e-272; the exact chi-square tail 4.4e-422).

    Args:
        failures: number of trials where the predicted event failed (e.g. ``chi2_ell <= ell/2``).
        n: number of independent trials.
        p0: the predicted upper bound on the failure probability.
        alpha: false-fail rate of this check.
        name: the event, for the summary.
        power: power at which ``detectable_rate`` is stated: the smallest true rate p with
            ``P(Binom(n, p) >= critical_count) >= power``, i.e. the ``power`` quantile of
            Beta(critical_count, n - critical_count + 1) (exact identity, no root finding).

    Returns:
        A `BinomialResult`, also giving the one-sided Clopper-Pearson upper limit of the rate.
    """
    validate_inputs(failures=failures, samples=n, false_fail_rate=alpha, power=power)
    if failures > n:
        raise ParameterError(f"failures={failures!r} is invalid: expected an integer >= 0 and <= n={n}")
    rate = _as_rate(p0)
    tail = _binomial_tail(failures, n, rate)
    critical = binomial_critical_count(n, rate, alpha)
    detectable = binomial_detectable_rate(n, critical, power)
    upper = 1.0 if failures == n else float(stats.beta.isf(alpha, failures + 1, n - failures))
    with mpmath.workdps(_TAIL_DPS):
        log10_p = float(mpmath.log10(tail)) if tail > 0 else -math.inf
    return BinomialResult(
        name=name,
        failures=failures,
        n=n,
        p0=p0 if isinstance(p0, mpmath.mpf) else float(p0),
        p_value=float(tail),
        log10_p_value=log10_p,
        alpha=alpha,
        upper_confidence_limit=upper,
        critical_count=critical,
        detectable_rate=detectable,
        power=power,
        passed=bool(tail >= alpha),
    )


def binomial_upper_power(n: int, p0: float | mpmath.mpf, p1: float, alpha: float) -> float:
    """Exact probability that `binomial_upper_test` at ``alpha`` rejects H0: rate <= p0 when the true rate
    is p1: P(Binom(n, p1) >= critical count)."""
    validate_inputs(samples=n, false_fail_rate=alpha)
    critical = binomial_critical_count(n, _as_rate(p0), alpha)
    return float(stats.binom.sf(critical - 1, n, p1)) if critical <= n else 0.0
