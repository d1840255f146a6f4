"""Slopes: OLS of a predicted scaling exponent, and weighted least squares on group means (exponents of
E[Y]), with their powers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

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
    "slope_power",
    "slope_test",
    "SlopeResult",
    "weighted_slope_power",
    "weighted_slope_test",
    "WeightedSlopeResult",
]

# --------------------------------------------------------------------------------------------------
# Regression slope: a predicted scaling exponent (e.g. radius ~ 1/beta, ||g|| ~ sqrt(ell/d))


@dataclass(frozen=True)
class SlopeResult(VerdictFields):
    """Verdict on the slope of y on x (of log y on log x when ``log``) against a prediction.

    ``alternative`` "two-sided": the predicted slope lies in the level 1 - alpha interval; "less" /
    "greater": the one-sided interval confirms slope < predicted / slope > predicted (a predicted sign of
    a trend; the check fails when the data do not confirm it).
    """

    name: str
    predicted: float
    alternative: str
    slope: float
    intercept: float
    stderr: float
    ci_low: float  # -inf for "less"
    ci_high: float  # +inf for "greater"
    n: int  # number of (x, y) points, replicates included
    distinct_x: int
    df: int  # n - 2
    alpha: float
    half_width: float  # t quantile times stderr (t_{1-alpha/2} two-sided, t_{1-alpha} one-sided)
    detectable: float  # true slope - predicted caught with probability >= power (plug-in stderr)
    power: float
    log: bool
    passed: bool

    @property
    def rule(self) -> Rule:
        if self.alternative == "less":
            return Rule("upper confidence limit of the slope", self.ci_high, self.predicted, "<")
        if self.alternative == "greater":
            return Rule("lower confidence limit of the slope", self.ci_low, self.predicted, ">")
        return Rule("|slope - predicted|", abs(self.slope - self.predicted), self.half_width, "<=")

    def summary(self) -> str:
        variables = "log y on log x" if self.log else "y on x"
        claim = {"two-sided": "vs predicted", "less": "confirms <", "greater": "confirms >"}[self.alternative]
        return (
            f"{_verdict_word(self.passed)} slope of {self.name or variables}: {self.slope:.4g} "
            f"({1 - self.alpha:.4g} CI [{self.ci_low:.4g}, {self.ci_high:.4g}], n={self.n} at "
            f"{self.distinct_x} x) {claim} {self.predicted:.4g}; detects a deviation >= {self.detectable:.3g}"
        )


_ALTERNATIVES = ("two-sided", "less", "greater")


def slope_test(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | Sequence[Sequence[float]] | np.ndarray,
    predicted_slope: float,
    *,
    alpha: float,
    log: bool = True,
    name: str = "",
    alternative: str = "two-sided",
    power: float = DETECTION_POWER,
) -> SlopeResult:
    """OLS fit ``log y = a + b log x`` (or ``y = a + b x``) with the t interval for b.

    Two-sided: passes iff ``predicted_slope`` lies in ``b_hat +- t_{1-alpha/2, n-2} se(b_hat)``. One-sided
    ("less"/"greater"): passes iff the one-sided level 1 - alpha bound ``b_hat +- t_{1-alpha, n-2} se``
    lies strictly below / above ``predicted_slope``. Under independent Gaussian residuals of constant
    variance (in log scale when ``log``) the t law is exact at every n, so a correct two-sided prediction
    fails with rate alpha and a one-sided "confirmation" of a false ordering happens with rate <= alpha.
    ``detectable``: the deviation of the true slope caught with probability ``power``, half_width +
    z_power se (normal, plug-in se). Noise-free data give se = 0: compare those with `verify.tolerance`.

    Args:
        x: the abscissae (> 0 when ``log``); repeated values are replicates.
        y: one value per x, or an array of shape (len(x), runs) of replicates per x (> 0 when ``log``).
        predicted_slope: the derived exponent (or the slope the trend is compared with).
        alpha: false-fail rate of this check.
        log: fit on log-log scale (power laws).
        name: the quantity, for the summary.
        alternative: "two-sided", "less" or "greater".
        power: the power at which ``detectable`` is stated.
    """
    validate_inputs(predicted_slope=predicted_slope, false_fail_rate=alpha, power=power)
    if alternative not in _ALTERNATIVES:
        raise ParameterError(
            f"alternative={alternative!r} is invalid: expected one of {', '.join(_ALTERNATIVES)}"
        )
    xs = np.asarray(x, dtype=np.float64).ravel()
    ys = np.asarray(y, dtype=np.float64)
    if ys.ndim == 2 and ys.shape[0] == xs.size:
        xs = np.repeat(xs, ys.shape[1])  # row i holds the replicates at x[i]
    ys = ys.ravel()
    if ys.size != xs.size:
        raise ParameterError(
            f"y has {ys.size} values for {xs.size} x values: expected one per x or (len(x), runs)"
        )
    xs, ys = _as_sample(xs, "x", minimum=3), _as_sample(ys, "y", minimum=3)
    if log:
        if np.any(xs <= 0) or np.any(ys <= 0):
            raise ParameterError("x and y must be > 0 for a log-log slope: expected positive values")
        xs, ys = np.log(xs), np.log(ys)
    distinct = int(np.unique(xs).size)
    if distinct < 2:
        raise ParameterError(f"x has {distinct} distinct values: expected at least 2 for a slope")
    fit = stats.linregress(xs, ys)
    df = xs.size - 2
    two_sided = alternative == "two-sided"
    quantile = float(stats.t.ppf(1.0 - (alpha / 2.0 if two_sided else alpha), df))
    half_width = quantile * float(fit.stderr)
    slope = float(fit.slope)
    ci_low = slope - half_width if alternative != "less" else -math.inf
    ci_high = slope + half_width if alternative != "greater" else math.inf
    result = SlopeResult(
        name=name,
        predicted=float(predicted_slope),
        alternative=alternative,
        slope=slope,
        intercept=float(fit.intercept),
        stderr=float(fit.stderr),
        ci_low=ci_low,
        ci_high=ci_high,
        n=int(xs.size),
        distinct_x=distinct,
        df=df,
        alpha=alpha,
        half_width=half_width,
        detectable=half_width + float(stats.norm.ppf(power)) * float(fit.stderr),
        power=power,
        log=log,
        passed=False,
    )
    return replace(result, passed=result.rule.holds())


def slope_power(stderr: float, half_width: float, shift: float, alternative: str = "two-sided") -> float:
    """Probability that a slope test rejects when the true slope is predicted + ``shift`` (normal law of
    the estimate with the given stderr; for one-sided tests ``shift`` is towards the confirmed side)."""
    if stderr <= 0:
        return 1.0 if abs(shift) > half_width else 0.0
    z = stats.norm
    if alternative == "two-sided":
        return float(z.sf((half_width - shift) / stderr) + z.cdf((-half_width - shift) / stderr))
    return float(z.sf((half_width - abs(shift)) / stderr))


# --------------------------------------------------------------------------------------------------
# Weighted slope on group means: exponents of E[Y] (scaling laws of the orthogonal gradient)


@dataclass(frozen=True)
class WeightedSlopeResult(VerdictFields):
    """Verdict of a weighted least-squares slope of log(group mean) on log x against a predicted slope."""

    name: str
    predicted: float
    slope: float
    intercept: float
    intercept_at_predicted: float  # best intercept with the slope held at `predicted` (for plots)
    stderr: float
    half_width: float  # z_{1-alpha/2} * stderr: the acceptance half-width of |slope - predicted|
    ci_low: float
    ci_high: float
    groups: int
    n: int  # samples over all groups
    residual_chi2: float  # sum of squared standardized residuals of the fit; ~ chi2_{groups-2} if power law
    residual_p: float
    alpha: float
    detectable: float  # |true slope - predicted| caught with probability >= power: half_width + z_power se
    power: float
    passed: bool

    @property
    def rule(self) -> Rule:
        return Rule("|slope - predicted|", abs(self.slope - self.predicted), self.half_width, "<=")

    def summary(self) -> str:
        return (
            f"{_verdict_word(self.passed)} weighted slope of {self.name or 'log mean on log x'}: "
            f"{self.slope:.4g} +- {self.half_width:.3g} (level 1-{self.alpha:.1e}) vs predicted "
            f"{self.predicted:g}; detects a deviation >= {self.detectable:.3g}; power-law residual chi2 "
            f"{self.residual_chi2:.3g} on {self.groups - 2} df (p={self.residual_p:.3g})"
        )


def weighted_slope_power(
    x: Sequence[float] | np.ndarray, relative_se: Sequence[float] | np.ndarray, shift: float, alpha: float
) -> float:
    """Power of `weighted_slope_test` against a true slope `shift` away from the prediction, when the group
    means have the given relative standard errors se_i/mean_i (known in advance where the law of Y is: for
    Y proportional to a chi2_ell value, se/mean = sqrt(2/(ell n)))."""
    validate_inputs(false_fail_rate=alpha)
    u = np.log(np.asarray(x, dtype=np.float64))
    w = 1.0 / np.square(np.asarray(relative_se, dtype=np.float64))
    det = w.sum() * (w * u * u).sum() - (w * u).sum() ** 2
    stderr = math.sqrt(w.sum() / det)
    return slope_power(stderr, float(stats.norm.ppf(1 - alpha / 2)) * stderr, shift)


def weighted_slope_test(
    x: Sequence[float] | np.ndarray,
    means: Sequence[float] | np.ndarray,
    standard_errors: Sequence[float] | np.ndarray,
    predicted_slope: float,
    *,
    alpha: float,
    log: bool = True,
    samples: int | None = None,
    power: float = DETECTION_POWER,
    name: str = "",
) -> WeightedSlopeResult:
    """Fit log E[Y] = a + b log x from group means with known standard errors and test b = predicted.

    Each group mean is ~Normal by the CLT (groups of hundreds of independent networks); the delta method
    gives sd(log mean) = se/mean. With these as known weights the WLS slope is Normal with the stated
    stderr, so the level 1 - alpha z interval fails a correct exponent with rate ~alpha. Unlike OLS on
    log Y per network, this needs no assumption on the law of Y: only E[Y] must be a power of x.
    ``samples`` (the total number of values behind the means) is recorded for the report.
    """
    validate_inputs(predicted_slope=predicted_slope, false_fail_rate=alpha, power=power)
    xs = _as_sample(x, "x", minimum=2)
    ms = _as_sample(means, "means", minimum=2)
    se = _as_sample(standard_errors, "standard_errors", minimum=2)
    if not (xs.size == ms.size == se.size) or np.any(se <= 0):
        raise ParameterError("x, means and standard_errors must have equal lengths and se > 0")
    if log:
        if np.any(xs <= 0) or np.any(ms <= 0):
            raise ParameterError("x and means must be > 0 for a log-log slope: expected positive values")
        u, v, s = np.log(xs), np.log(ms), se / ms
    else:
        u, v, s = xs, ms, se
    w = 1.0 / s**2
    sw, swu, swv = w.sum(), (w * u).sum(), (w * v).sum()
    det = sw * (w * u * u).sum() - swu**2
    if det <= 0:
        raise ParameterError("x has fewer than 2 distinct values: expected at least 2 for a slope")
    slope = (sw * (w * u * v).sum() - swu * swv) / det
    intercept = (swv - slope * swu) / sw
    stderr = math.sqrt(sw / det)
    half = float(stats.norm.ppf(1 - alpha / 2) * stderr)
    resid = float((w * (v - intercept - slope * u) ** 2).sum())
    dof = xs.size - 2
    return WeightedSlopeResult(
        name=name,
        predicted=float(predicted_slope),
        slope=float(slope),
        intercept=float(intercept),
        intercept_at_predicted=float((swv - predicted_slope * swu) / sw),
        stderr=stderr,
        half_width=half,
        ci_low=float(slope - half),
        ci_high=float(slope + half),
        groups=int(xs.size),
        n=int(samples) if samples is not None else int(xs.size),
        residual_chi2=resid,
        residual_p=float(stats.chi2.sf(resid, dof)) if dof > 0 else float("nan"),
        alpha=alpha,
        detectable=half + float(stats.norm.ppf(power)) * stderr,
        power=power,
        passed=bool(abs(slope - predicted_slope) <= half),
    )
