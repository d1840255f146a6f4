"""Statistical checks with a stated false-fail rate, for comparing measured laws with the derived ones.

Every check takes a false-fail rate ``alpha``: the probability that it fails although the prediction is
exactly right (for the ordering checks, the probability that it confirms an ordering that is not there).
Each result also says what the samples could have caught (``detectable``), so a verdict reads like
"with false-fail rate 1e-03 split over 12 checks, 400 networks detect a change of 0.15 in the
sup-distance between CDFs" (the style of TensorFlow Probability's statistical testing module).

Bounds that hold for every sample size are used wherever they exist: the exact Kolmogorov-Smirnov law
(``scipy.stats.kstwo``), the Dvoretzky-Kiefer-Wolfowitz-Massart band, exact binomial tails, the exact
chi-square law of a sum of chi-square variables (the suite's ``Q`` of R3 is chi2_ell, derived), and the
t law of an OLS slope under Gaussian errors. The only large-sample approximation is the Mann-Whitney
test on big or tied samples; its docstring says so.

All functions are pure; each returns a frozen dataclass carrying every number its verdict was decided
on, with ``passed`` (or ``confirms_ordering``), a ``rule`` (the one comparison that decides it, so a
reader can re-decide the verdict from the JSON alone), a one-line ``summary()`` and a JSON-ready
``as_dict()``. Tests come as TFP-style families: the test itself, the smallest discrepancy it detects at a
sample size (``*_detectable``), the samples needed for a discrepancy (``samples_for_*``) and, for a
concrete wrong prediction, the power (``*_power``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Protocol

import mpmath
import numpy as np
from scipy import stats

from theory.chi_square import ChiSquareLaw
from theory.parameters import PROBABILITY, ParameterError, Range, validate

#: Power at which ``detectable`` quantities are stated: a discrepancy that large is caught at least 90% of
#: the time (TFP's statistical testing module states it at a chosen false-pass rate; ours is 0.1).
DETECTION_POWER = 0.9

_COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
}


@dataclass(frozen=True)
class Rule:
    """How a verdict is decided: it passes iff ``value passes_if threshold`` (e.g. ``p >= alpha``).

    Every verdict of this module and of `verify.tolerance` carries one, and its ``passed`` is exactly
    ``rule.holds()`` (the harness asserts it), so the JSON report can be re-decided without the code.
    """

    quantity: str  # what ``value`` is: "p", "D", "|slope - predicted|", "error/budget", ...
    value: float
    threshold: float
    passes_if: str  # ">=", ">", "<=" or "<"

    def __post_init__(self) -> None:
        if self.passes_if not in _COMPARATORS:
            raise ValueError(f"passes_if={self.passes_if!r} is invalid: expected one of {', '.join(_COMPARATORS)}")

    def holds(self) -> bool:
        return bool(_COMPARATORS[self.passes_if](self.value, self.threshold))

    def margin(self) -> float:
        """How far the value is on the passing side, in decades (negative when the rule fails).

        log10(value/threshold) for ">=" and ">", the reverse for "<=" and "<"; a zero on the safe side is
        +inf and a NaN value is -inf. Used to pick the decisive verdict of a check (the smallest margin).
        """
        value, threshold = float(self.value), float(self.threshold)
        if math.isnan(value):
            return -math.inf
        upward = self.passes_if in (">=", ">")
        if value == threshold:
            return 0.0 if self.holds() else -1e-12
        if threshold <= 0 or value <= 0:  # a ratio is meaningless; the sign of the difference is not
            return (math.inf if self.holds() else -math.inf) if value != threshold else 0.0
        ratio = math.log10(value / threshold)
        return ratio if upward else -ratio

    def as_dict(self) -> dict[str, Any]:
        return {
            "quantity": self.quantity,
            "value": _jsonable(self.value),
            "threshold": _jsonable(self.threshold),
            "passes_if": self.passes_if,
        }

# Accepted ranges of the inputs that have no entry in theory.parameters.PARAMETERS (same messages).
_ACCEPTED: dict[str, Range] = {
    "checks": Range("int", 1, meaning="number of checks sharing one false-fail rate"),
    "samples": Range("int", 1, meaning="number of independent samples"),
    "failures": Range("int", 0, meaning="number of failures among the trials"),
    "power": PROBABILITY,
    "delta": Range("real", 0, 1, low_open=True, high_open=True, meaning="sup-distance between CDFs"),
    "predicted_slope": Range("real"),
}

# mpmath precision for binomial tails that leave float64; local (workdps) so no caller's context leaks.
_TAIL_DPS = 30
# Below this a float64 tail from scipy loses relative accuracy (subnormals): recompute with mpmath.
_FLOAT_TINY = 1e-290
# Exact Mann-Whitney null law is O(n_a n_b) memory and slow past ~1e4 pairs (0.03 s at 100 x 100,
# 5 s at 500 x 500 with scipy 1.17); above it the normal approximation with tie correction is used.
MANN_WHITNEY_EXACT_PAIRS = 10_000


def _validate(**values: Any) -> None:
    """`theory.parameters.validate` for declared names, the local table for the statistical ones."""
    for name, value in values.items():
        spec = _ACCEPTED.get(name)
        if spec is None:
            validate(**{name: value})
        elif not spec.accepts(value):
            raise ParameterError(f"{name}={value!r} is invalid: expected {spec.describe()}")


def _as_sample(values: Any, name: str, minimum: int = 1) -> np.ndarray:
    """A 1-D float64 array of finite values, with at least ``minimum`` entries."""
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size < minimum or not np.all(np.isfinite(array)):
        raise ParameterError(
            f"{name} has {array.size} values (non-finite: {int(np.sum(~np.isfinite(array)))}): "
            f"expected at least {minimum} finite values"
        )
    return array


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # strict JSON has no infinity or NaN: "inf", "-inf", "nan"
    if isinstance(value, mpmath.mpf):
        # Probabilities such as e^{-ell/16} at ell = 1e4 underflow float64: keep them as text then.
        as_float = float(value)
        return as_float if value == 0 or as_float != 0 else mpmath.nstr(value, 6)
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


class Verdict(Protocol):
    """What the harness relies on for every result here and in `verify.tolerance`.

    ``statistical`` results carry their false-fail rate ``alpha`` and the discrepancy they detect at
    ``power``; exact ones (tolerance) have ``alpha`` None. ``rule`` decides ``passed``.
    """

    @property
    def passed(self) -> bool: ...

    @property
    def rule(self) -> Rule: ...

    @property
    def statistical(self) -> bool: ...

    @property
    def alpha(self) -> float | None: ...

    def summary(self) -> str: ...

    def as_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class _Verdict:
    """Shared behaviour of every result: a JSON view that also carries the rule and the summary."""

    statistical = True

    @property
    def rule(self) -> Rule:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def summary(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": type(self).__name__}
        out.update({f.name: _jsonable(getattr(self, f.name)) for f in fields(self)})
        out["rule"] = self.rule.as_dict()
        out["summary"] = self.summary()
        return out


def _verdict_word(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


# --------------------------------------------------------------------------------------------------
# Sharing one false-fail rate, and saying what a check can detect


def split_rate(alpha: float, n: int) -> float:
    """Per-check false-fail rate ``alpha / n`` so that ``n`` checks together fail falsely w.p. <= alpha.

    Bonferroni (the union bound) is used because it holds under ANY dependence between the checks: the
    suite's checks reuse the same trained networks, so their verdicts are not independent and Sidak's
    ``1 - (1 - alpha)^(1/n)`` (which needs independence or positive dependence) would not be justified.

    Args:
        alpha: total false-fail rate of the family, in (0, 1).
        n: number of checks sharing it.

    Returns:
        The rate each check must be run at.
    """
    _validate(false_fail_rate=alpha, checks=n)
    return alpha / n


def power_statement(
    alpha: float,
    n: int,
    delta: float,
    what: str,
    *,
    checks: int | None = None,
    units: str = "samples",
) -> str:
    """Render "with false-fail rate {alpha:.0e}, {n} samples detect a change of {delta:.3g} in {what}".

    Args:
        alpha: the false-fail rate; with ``checks`` given it is the family's total rate, and ``delta``
            must then have been computed at ``split_rate(alpha, checks)``.
        n: number of samples the check used.
        delta: the smallest discrepancy detected with power >= 1/2 (a result's ``detectable``).
        what: the quantity ``delta`` is measured in ("the sup-distance between CDFs", ...).
        checks: number of checks the rate is split over, if any.
        units: what one sample is ("networks", "seeds", ...).
    """
    _validate(false_fail_rate=alpha, samples=n)
    if checks is not None:
        _validate(checks=checks)
    split = f" split over {checks} checks" if checks is not None else ""
    return f"with false-fail rate {alpha:.0e}{split}, {n} {units} detect a change of {delta:.3g} in {what}"


# --------------------------------------------------------------------------------------------------
# Goodness of fit: Kolmogorov-Smirnov (exact law) and the DKW band (any sample size, any law)


def dkw_epsilon(n: int, alpha: float) -> float:
    """Half-width of the DKW band: ``P(sup_x |F_n(x) - F(x)| > eps) <= alpha`` for every law F and n.

    ``eps = sqrt(log(2/alpha) / (2n))`` from Massart's tight constant, ``P(sup|F_n - F| > eps) <=
    2 exp(-2 n eps^2)``, valid whenever ``alpha < 1`` (Massart 1990), including laws with atoms.
    """
    _validate(samples=n, false_fail_rate=alpha)
    return math.sqrt(math.log(2.0 / alpha) / (2.0 * n))


@functools.lru_cache(maxsize=1024)  # kstwo.isf costs ~2 ms and checks repeat the same (n, alpha)
def ks_critical_value(n: int, alpha: float) -> float:
    """Exact critical value ``c`` of the two-sided KS statistic: ``P(D_n > c) = alpha`` for continuous F."""
    _validate(samples=n, false_fail_rate=alpha)
    return float(stats.kstwo.isf(alpha, n))


def ks_detectable(n: int, alpha: float, power: float = DETECTION_POWER) -> float:
    """Smallest sup-distance ``delta = sup|G - F|`` between the true law G and the predicted F that the
    KS test at rate ``alpha`` rejects with probability >= ``power`` for EVERY such G, at any n.

    Definition (finite-sample): ``delta = c_n(alpha) + eps_DKW(n, 1 - power)``. Because
    ``D_n = sup|F_n - F| >= sup|G - F| - sup|F_n - G|`` and DKW gives
    ``P(sup|F_n - G| <= eps_DKW(n, 1 - power)) >= power`` under G, a G that far from F makes
    ``D_n > c_n(alpha)`` with probability >= power. Conservative: the true detectable distance is smaller.
    """
    _validate(power=power)
    return ks_critical_value(n, alpha) + dkw_epsilon(n, 1.0 - power)


def samples_for_ks(delta: float, alpha: float, power: float = DETECTION_POWER) -> int:
    """Smallest n with ``ks_detectable(n, alpha, power) <= delta`` (so delta is caught w.p. >= power).

    ``c_n(alpha)`` is decreasing in n and bounded by ``eps_DKW(n, alpha)``, which gives the bracket
    ``n <= ceil((sqrt(log(2/alpha)/2) + sqrt(log(2/(1-power))/2))^2 / delta^2)`` for a bisection.
    """
    _validate(delta=delta, false_fail_rate=alpha, power=power)
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
class GofResult(_Verdict):
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

    def statement(self, units: str = "samples") -> str:
        """The power sentence for this check."""
        what = f"the sup-distance between the CDF and the predicted law ({self.name})" if self.name else "the sup-distance between the CDF and the predicted law"
        return power_statement(self.alpha, self.n, self.detectable, what, units=units)


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
    _validate(false_fail_rate=alpha, power=power)
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
    _validate(false_fail_rate=alpha, power=power)
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


# --------------------------------------------------------------------------------------------------
# Binomial: a failure count against an upper bound on the failure rate (e.g. R4's e^{-ell/16})


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


def _binomial_critical_count(n: int, p0: mpmath.mpf, alpha: float) -> int:
    """Smallest count c with ``P(Binom(n, p0) >= c) < alpha`` (n + 1 when no count is rejected)."""
    low, high = 0, n + 1  # tail(0) = 1 >= alpha; treat tail(n + 1) = 0 < alpha
    while high - low > 1:
        mid = (low + high) // 2
        if _binomial_tail(mid, n, p0) < alpha:
            high = mid
        else:
            low = mid
    return high


@dataclass(frozen=True)
class BinomialResult(_Verdict):
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

    def statement(self, units: str = "trials") -> str:
        """The power sentence for this check (the change is the detectable rate minus p0)."""
        delta = self.detectable_rate - float(self.p0)
        what = f"the failure rate of {self.name or 'the event'} above its bound"
        return power_statement(self.alpha, self.n, delta, what, units=units)


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
    _validate(failures=failures, samples=n, false_fail_rate=alpha, power=power)
    if failures > n:
        raise ParameterError(f"failures={failures!r} is invalid: expected an integer >= 0 and <= n={n}")
    rate = _as_rate(p0)
    tail = _binomial_tail(failures, n, rate)
    critical = _binomial_critical_count(n, rate, alpha)
    detectable = float(stats.beta.ppf(power, critical, n - critical + 1)) if critical <= n else math.inf
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


# --------------------------------------------------------------------------------------------------
# Regression slope: a predicted scaling exponent (e.g. radius ~ 1/beta, ||g|| ~ sqrt(ell/d))


@dataclass(frozen=True)
class SlopeResult(_Verdict):
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

    def statement(self, units: str = "points") -> str:
        """The power sentence for this check."""
        what = f"the exponent of {self.name}" if self.name else "the slope"
        return power_statement(self.alpha, self.n, self.detectable, what, units=units)


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
    _validate(predicted_slope=predicted_slope, false_fail_rate=alpha, power=power)
    if alternative not in _ALTERNATIVES:
        raise ParameterError(f"alternative={alternative!r} is invalid: expected one of {', '.join(_ALTERNATIVES)}")
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
# Orderings: "a is larger than b" (e.g. the small-init radius exceeds the vanilla radius, R7)


@dataclass(frozen=True)
class OrderingResult(_Verdict):
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
    _validate(samples=n_a, false_fail_rate=alpha, power=power)
    _validate(samples=n_b)
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
    _validate(false_fail_rate=alpha)
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
    _validate(false_fail_rate=alpha)
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
    critical = _binomial_critical_count(max(informative, 1), mpmath.mpf("0.5"), alpha)
    detectable = (
        float(stats.beta.ppf(power, critical, max(informative, 1) - critical + 1))
        if critical <= max(informative, 1)
        else math.inf
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


# --------------------------------------------------------------------------------------------------
# The mean of chi-square samples (R3: Q = d ||g||^2 / (c_T^2 (beta s_w)^2 S) is chi2_ell, derived)


@dataclass(frozen=True)
class ChiSquareMeanResult(_Verdict):
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
            f"{_verdict_word(self.passed)} mean of {self.name or 'Q'} = {self.mean:.5g} vs chi2_{self.ell} mean "
            f"(accept [{self.acceptance_low:.5g}, {self.acceptance_high:.5g}]), p={self.p_value:.3g} vs "
            f"alpha={self.alpha:.1e}, n={self.n}; detects a relative scale error >= {self.detectable:.3g}"
        )

    def statement(self, units: str = "samples") -> str:
        """The power sentence for this check."""
        what = f"the relative scale of {self.name or 'Q'}"
        return power_statement(self.alpha, self.n, self.detectable, what, units=units)


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
    _validate(false_fail_rate=alpha, power=power)
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
    _validate(samples=n, false_fail_rate=alpha)
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
    _validate(false_fail_rate=alpha, power=power)

    def enough(n: int) -> bool:
        return chi_square_mean_power(n, law, alpha, true_ell=true_ell, scale=scale) >= power

    high = 1
    while not enough(high):
        high *= 2
        if high > limit:
            raise ParameterError(f"the discrepancy is not detectable with n <= {limit}: expected a larger one")
    low = high // 2
    while high - low > 1:
        mid = (low + high) // 2
        if enough(mid):
            high = mid
        else:
            low = mid
    return high


# --------------------------------------------------------------------------------------------------
# Two-sided binomial: the measured rate of an event against its exact predicted probability (R4)


@dataclass(frozen=True)
class TwoSidedBinomialResult(_Verdict):
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
    detectable: float  # smallest |p - p0| (either side) caught with probability >= power
    power: float
    passed: bool

    @property
    def rule(self) -> Rule:
        return Rule("p", self.p_value, self.alpha, ">=")

    def summary(self) -> str:
        return (
            f"{_verdict_word(self.passed)} two-sided binomial {self.name or 'rate'}: {self.events}/{self.n} = "
            f"{self.rate:.4g} vs p0={self.p0:.4g}, p={self.p_value:.3g} vs alpha={self.alpha:.1e} "
            f"(CI [{self.ci_low:.4g}, {self.ci_high:.4g}]); detects a rate off by >= {self.detectable:.3g}"
        )


@functools.lru_cache(maxsize=256)
def _two_sided_rejections(n: int, p0: float, alpha: float) -> np.ndarray:
    """The counts k in 0..n that scipy's two-sided (minimum-likelihood) binomial test rejects at alpha."""
    return np.array([stats.binomtest(k, n, p0).pvalue < alpha for k in range(n + 1)])


def binomial_two_sided_power(n: int, p0: float, p1: float, alpha: float) -> float:
    """Exact probability that `binomial_two_sided_test` at ``alpha`` rejects H0: rate = p0 when the
    true rate is p1 (the Binom(n, p1) mass of the rejection region)."""
    _validate(samples=n, false_fail_rate=alpha)
    reject = _two_sided_rejections(n, float(p0), alpha)
    return float(stats.binom.pmf(np.arange(n + 1), n, p1)[reject].sum())


def binomial_two_sided_detectable(n: int, p0: float, alpha: float, power: float = DETECTION_POWER) -> float:
    """Smallest distance |p1 - p0| at which the power reaches ``power`` on both sides (bisection on
    each side; power is monotone in |p1 - p0| on each side)."""
    out = 0.0
    for direction, room in ((1.0, 1.0 - p0), (-1.0, p0)):
        if room <= 0 or binomial_two_sided_power(n, p0, p0 + direction * room, alpha) < power:
            return math.inf
        low, high = 0.0, room
        for _ in range(40):
            mid = (low + high) / 2
            if binomial_two_sided_power(n, p0, p0 + direction * mid, alpha) >= power:
                high = mid
            else:
                low = mid
        out = max(out, high)
    return out


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
    _validate(failures=events, samples=n, false_fail_rate=alpha)
    p = float(p0)
    test = stats.binomtest(events, n, p, alternative="two-sided")
    ci = test.proportion_ci(confidence_level=1 - alpha, method="exact")
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
        detectable=binomial_two_sided_detectable(n, p, alpha, power),
        power=power,
        passed=bool(test.pvalue >= alpha),
    )


# --------------------------------------------------------------------------------------------------
# Weighted slope on group means: exponents of E[Y] (scaling laws of the orthogonal gradient)


@dataclass(frozen=True)
class WeightedSlopeResult(_Verdict):
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
            f"{_verdict_word(self.passed)} weighted slope of {self.name or 'log mean on log x'}: {self.slope:.4g} +- {self.half_width:.3g} "
            f"(level 1-{self.alpha:.1e}) vs predicted {self.predicted:g}; detects a deviation >= "
            f"{self.detectable:.3g}; power-law residual chi2 {self.residual_chi2:.3g} on {self.groups - 2} df "
            f"(p={self.residual_p:.3g})"
        )


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
    _validate(predicted_slope=predicted_slope, false_fail_rate=alpha, power=power)
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
