"""Known-answer tests of the statistical instruments, run before any measurement (as a laboratory
instrument, or a FIPS module at power-on, tests itself on inputs with known outputs).

For each test the suite decides claims with (exact KS, the exact chi-square mean test, the one- and
two-sided exact binomial tests, the OLS slope, one-sided Mann-Whitney):
- on a fixed small sample it must report the numbers of an independent computation
  (`verify.selfcheck.known_answers`, exact arithmetic and 50-digit mpmath) to a relative KNOWN_RTOL;
- on a fixed synthetic sample that follows its law exactly (the law's quantiles at (i - 1/2)/n) it must
  pass, and on that sample shifted or scaled either way it must fail at REJECTION_ALPHA (a one-sided test
  fails only the way it looks, and must not the other way).
The checks are generic: every test is held to the same two kinds of question, whatever might break it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import mpmath
import numpy as np
from scipy import stats

from theory.chi_square import ChiSquareLaw
from verify.selfcheck.known_answers import REFERENCES, SAMPLES
from verify.selfcheck.result import Findings, SelfCheckResult
from verify.statistics import (
    binomial_two_sided_test,
    binomial_upper_test,
    ks_test,
    mann_whitney_greater,
    mean_test_chi_square,
    slope_test,
)

__all__ = ["CHECKS", "KNOWN_RTOL", "REJECTION_ALPHA", "instrument_checks"]

#: The references agree with the float64 tests to about 1e-14 (scipy's exact KS law to 7e-15 here); 1e-9
#: leaves room for another libm or BLAS, and is far below what any wrong formula or wrong tail moves.
KNOWN_RTOL = 1e-9
#: The rate of the rejection questions: the default family rate, above every per-test rate of a run.
REJECTION_ALPHA = 1e-3
#: Size of the synthetic samples of the rejection questions.
N = 200


def _known(f: Findings, test: str, result: object, fields: tuple[str, ...]) -> None:
    for name in fields:
        value, expected = float(getattr(result, name)), mpmath.mpf(REFERENCES[test][name])
        ok = abs(value - float(expected)) <= KNOWN_RTOL * abs(float(expected))
        f.check(f"{name} on the known sample", value, mpmath.nstr(expected, 16), ok)


def _rejects(f: Findings, label: str, passed: bool, *, should_pass: bool) -> None:
    f.check(
        label, "passes" if passed else "fails", "passes" if should_pass else "fails", passed == should_pass
    )


def _perfect(ppf: Callable[[np.ndarray], np.ndarray], n: int = N) -> np.ndarray:
    """A sample that follows a law exactly: its quantiles at (i - 1/2)/n."""
    return ppf((np.arange(n) + 0.5) / n)


def ks() -> Findings:
    f = Findings()
    s = SAMPLES["ks"]
    _known(f, "ks", ks_test(s["sample"], ChiSquareLaw(s["ell"]), alpha=0.05), ("statistic", "p_value"))
    law = ChiSquareLaw(5)
    base = _perfect(lambda q: stats.chi2.ppf(q, 5))
    cases = {"the law itself": (base, True), "shifted up by 1.5": (base + 1.5, False),
             "shifted down by 1.5": (base - 1.5, False), "scaled by 1.3": (base * 1.3, False),
             "scaled by 1/1.3": (base / 1.3, False)}  # fmt: skip
    for label, (sample, ok) in cases.items():
        _rejects(
            f, f"chi2_5 sample {label}", ks_test(sample, law, alpha=REJECTION_ALPHA).passed, should_pass=ok
        )
    return f


def mean() -> Findings:
    f = Findings()
    s = SAMPLES["mean"]
    _known(f, "mean", mean_test_chi_square(s["sample"], s["ell"], alpha=0.05), ("p_value",))
    base = _perfect(lambda q: stats.chi2.ppf(q, 5))
    cases = {"the law itself": (base, True), "shifted up by 1": (base + 1, False),
             "shifted down by 1": (base - 1, False), "scaled by 1.25": (base * 1.25, False),
             "scaled by 1/1.25": (base / 1.25, False)}  # fmt: skip
    for label, (sample, ok) in cases.items():
        result = mean_test_chi_square(sample, 5, alpha=REJECTION_ALPHA)
        _rejects(f, f"chi2_5 sample {label}", result.passed, should_pass=ok)
    return f


def binomial_upper() -> Findings:
    f = Findings()
    s = SAMPLES["binomial_upper"]
    _known(f, "binomial_upper", binomial_upper_test(s["failures"], s["n"], s["p0"], alpha=0.05), ("p_value",))
    # H0 "rate <= 0.05" over 400 trials: twice the rate fails it; the rate itself, or half, never does.
    for failures, ok in ((40, False), (20, True), (10, True)):
        result = binomial_upper_test(failures, 400, 0.05, alpha=REJECTION_ALPHA)
        _rejects(f, f"{failures}/400 against rate <= 0.05", result.passed, should_pass=ok)
    return f


def binomial_two_sided() -> Findings:
    f = Findings()
    s = SAMPLES["binomial_two_sided"]
    result = binomial_two_sided_test(s["events"], s["n"], s["p0"], alpha=0.05)
    _known(f, "binomial_two_sided", result, ("p_value",))
    for events, ok in ((120, True), (160, False), (80, False)):
        result = binomial_two_sided_test(events, 400, 0.3, alpha=REJECTION_ALPHA)
        _rejects(f, f"{events}/400 against rate = 0.3", result.passed, should_pass=ok)
    return f


def slope() -> Findings:
    f = Findings()
    s = SAMPLES["slope"]
    result = slope_test(s["x"], s["y"], 0.8, alpha=s["alpha"], log=False)
    _known(f, "slope", result, ("slope", "stderr", "half_width"))
    x = np.arange(1.0, 41.0)
    y = 2.0 * x + 0.5 * (-1.0) ** np.arange(40) + 0.3 * np.sin(x)  # slope 2, deterministic residuals
    for label, data, predicted, ok in (
        ("slope 2 against 2", y, 2.0, True),
        ("slope 2 against 2.1", y, 2.1, False),
        ("slope 2 against 1.9", y, 1.9, False),
        ("slope 2 scaled by 1.05 against 2", y * 1.05, 2.0, False),
        ("slope 2 scaled by 1/1.05 against 2", y / 1.05, 2.0, False),
    ):
        result = slope_test(x, data, predicted, alpha=REJECTION_ALPHA, log=False)
        _rejects(f, f"two-sided, {label}", result.passed, should_pass=ok)
    for alternative, predicted, ok in (("less", 2.1, True), ("less", 1.9, False), ("greater", 1.9, True),
                                       ("greater", 2.1, False)):  # fmt: skip
        result = slope_test(x, y, predicted, alpha=REJECTION_ALPHA, log=False, alternative=alternative)
        _rejects(f, f"one-sided '{alternative}', slope 2 against {predicted}", result.passed, should_pass=ok)
    return f


def mann_whitney() -> Findings:
    f = Findings()
    s = SAMPLES["mann_whitney"]
    _known(f, "mann_whitney", mann_whitney_greater(s["a"], s["b"], alpha=0.05), ("statistic", "p_value"))
    b = _perfect(stats.norm.ppf, 60)
    a = _perfect(stats.norm.ppf, 61)  # the same law, no tied values
    for label, sample, ok in (("the same law", a, False), ("shifted up by 1", a + 1, True),
                              ("shifted down by 1", a - 1, False)):  # fmt: skip
        confirms = mann_whitney_greater(sample, b, alpha=REJECTION_ALPHA).confirms_ordering
        f.check(f"'a > b' for a sample of b's law {label}", confirms, ok, confirms == ok)
    return f


#: id suffix -> (title, the test checked, the function).
CHECKS: dict[str, tuple[str, str, Callable[[], Findings]]] = {
    "ks": ("KS test: known p-value, sees shifts and scales", "the exact Kolmogorov-Smirnov test", ks),
    "mean": ("exact mean test: known p-value, shifts, scales", "the exact chi-square mean test", mean),
    "binomial_upper": ("one-sided binomial: known p-value, direction", "the exact one-sided binomial test",
                       binomial_upper),
    "binomial_two_sided": ("two-sided binomial: known p-value, both ways",
                           "the exact two-sided binomial test", binomial_two_sided),
    "slope": ("slope test: known fit, shifts, scales, sides", "the OLS slope test (t interval)", slope),
    "mann_whitney": ("Mann-Whitney: known p-value, direction", "the one-sided Mann-Whitney test",
                     mann_whitney),
}  # fmt: skip


def _spelled(sample: dict) -> str:
    """A known sample as a reader writes it: `ell = 4, sample = [5.1, 7.3]`, not a Python dict."""
    return ", ".join(f"{name} = {value}" for name, value in sample.items())


def instrument_checks() -> list[SelfCheckResult]:
    """Every known-answer check of the statistical tests (about a second)."""
    out = []
    for key, (title, test, fn) in CHECKS.items():
        start = time.perf_counter()
        findings = fn()
        out.append(
            SelfCheckResult(
                id=f"instruments.{key}",
                title=title,
                statement=f"{test[0].upper()}{test[1:]} reports the numbers of an independent computation "
                "on a known sample and fails on a law shifted or scaled either way (a one-sided test: only "
                "the way it looks)",
                method=f"Known sample: {_spelled(SAMPLES[key])}; references from "
                f"tools/selfcheck_references.py (exact arithmetic and 50-digit mpmath), compared to a "
                f"relative {KNOWN_RTOL:g}. Synthetic samples: "
                f"the law's quantiles at (i - 1/2)/n, n = {N} (60 and 61 for Mann-Whitney), at alpha = "
                f"{REJECTION_ALPHA:g}.",
                rows=tuple(findings.rows),
                seconds=time.perf_counter() - start,
            )
        )
    return out
