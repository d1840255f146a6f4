"""Each statistical check passes on data from the right law and fails on a deliberately wrong prediction.

Seeds are fixed, so every verdict below is deterministic; where a comment gives a probability it is
the chance that a fresh seed would flip the assertion, to show the seed was not hunted for.
"""

from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest
from scipy import stats

from theory.parameters import ParameterError
from verify import statistics as S

ALPHA = 1e-3


@pytest.fixture(autouse=True)
def _mpmath_precision():
    """Each test starts at mpmath's default precision and none can leak a changed one."""
    saved = mpmath.mp.dps
    mpmath.mp.dps = 15
    yield
    mpmath.mp.dps = saved


def _chi2_sample(df: float, n: int = 400, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).chisquare(df, size=n)


# ---------------------------------------------------------------------------------------------- rates


def test_split_rate_is_bonferroni():
    assert S.split_rate(1e-3, 12) == pytest.approx(1e-3 / 12, rel=1e-15)
    assert S.split_rate(0.05, 1) == 0.05


@pytest.mark.parametrize(("alpha", "n"), [(0.0, 3), (1.0, 3), (0.1, 0), (0.1, 2.5)])
def test_split_rate_rejects_bad_inputs(alpha, n):
    with pytest.raises(ParameterError):
        S.split_rate(alpha, n)


def test_ks_passes_on_the_right_law_and_fails_on_a_wrong_df():
    sample = _chi2_sample(40)
    right = S.ks_test(sample, stats.chi2(40).cdf, alpha=ALPHA, name="chi2_40")
    wrong = S.ks_test(sample, stats.chi2(44).cdf, alpha=ALPHA, name="chi2_44")
    assert right.passed and not wrong.passed
    # the verdict is "D within the exact critical value", and p is scipy's exact one
    for result, df in ((right, 40), (wrong, 44)):
        reference = stats.kstest(sample, stats.chi2(df).cdf, method="exact")
        assert result.statistic == reference.statistic and result.p_value == reference.pvalue
        assert result.passed == (result.statistic <= result.critical_value)
    assert "PASS" in right.summary() and "FAIL" in wrong.summary()
    assert right.critical_value < right.detectable < 1


def test_dkw_band_passes_on_the_right_law_and_fails_on_a_wrong_df():
    sample = _chi2_sample(40)
    right = S.dkw_band_test(sample, stats.chi2(40).cdf, alpha=ALPHA)
    wrong = S.dkw_band_test(sample, stats.chi2(44).cdf, alpha=ALPHA)
    assert right.passed and not wrong.passed
    assert right.critical_value == pytest.approx(math.sqrt(math.log(2 / ALPHA) / 800), rel=1e-15)
    # the DKW band is valid for any law, hence wider than the exact KS critical value
    assert right.critical_value >= S.ks_critical_value(400, ALPHA)


def test_ks_false_alarm_rate_matches_alpha():
    # Under the right continuous law the exact KS test rejects with probability exactly alpha = 0.05.
    # The count of 2000 replications must lie in the central 1 - 1e-3 interval of Binom(2000, 0.05),
    # so this assertion itself fails falsely with probability <= 1e-3. The DKW band is conservative:
    # its count must stay below the same interval's upper end.
    rng = np.random.default_rng(2024)
    reps, alpha = 2000, 0.05
    ks_rejections = dkw_rejections = 0
    for _ in range(reps):
        sample = rng.random(10)
        ks_rejections += not S.ks_test(sample, stats.uniform.cdf, alpha=alpha).passed
        dkw_rejections += not S.dkw_band_test(sample, stats.uniform.cdf, alpha=alpha).passed
    low, high = stats.binom.ppf(5e-4, reps, alpha), stats.binom.isf(5e-4, reps, alpha)
    assert low <= ks_rejections <= high
    assert dkw_rejections <= high


def test_ks_detects_its_stated_detectable_discrepancy():
    # A uniform law shifted by delta is at sup-distance exactly delta from U(0, 1); at delta =
    # detectable the test must reject with probability >= 1/2. 300 replications: if the true power
    # were only 1/2 the count would exceed 150 + 3 sd with probability < 2e-3, and we ask for >= 150.
    n, alpha = 50, 0.05
    delta = S.ks_detectable(n, alpha)
    rng = np.random.default_rng(7)
    rejections = sum(
        not S.ks_test(rng.random(n) + delta, stats.uniform.cdf, alpha=alpha).passed for _ in range(300)
    )
    assert rejections >= 150


@pytest.mark.parametrize("alpha", [0.05, 1e-3 / 12])
@pytest.mark.parametrize("delta", [0.05, 0.1, 0.3])
def test_samples_for_ks_round_trips_with_ks_detectable(delta, alpha):
    n = S.samples_for_ks(delta, alpha)
    assert S.ks_detectable(n, alpha) <= delta
    assert n == 1 or S.ks_detectable(n - 1, alpha) > delta


def test_ks_detectable_decreases_with_n():
    values = [S.ks_detectable(n, 1e-3) for n in (1, 2, 5, 10, 50, 100, 400, 1000, 10_000)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))


def test_dkw_epsilon_formula():
    assert S.dkw_epsilon(400, 1e-3) == pytest.approx(math.sqrt(math.log(2000) / 800), rel=1e-15)


def test_goodness_of_fit_rejects_bad_samples():
    with pytest.raises(ParameterError):
        S.ks_test([], stats.norm.cdf, alpha=0.05)
    with pytest.raises(ParameterError):
        S.ks_test([0.1, np.nan], stats.norm.cdf, alpha=0.05)
    with pytest.raises(ParameterError):
        S.ks_test([0.1, 0.2], stats.norm.cdf, alpha=0)


# ---------------------------------------------------------------------------------------------- binomial


def test_binomial_passes_at_the_bound_and_fails_at_ten_times_it():
    p0, n = math.exp(-80 / 16), 2000  # R4's e^{-ell/16} at ell = 80
    rng = np.random.default_rng(3)
    at_bound = int(rng.binomial(n, p0))
    at_ten_times = int(rng.binomial(n, 10 * p0))
    assert S.binomial_upper_test(at_bound, n, p0, alpha=ALPHA).passed
    assert not S.binomial_upper_test(at_ten_times, n, p0, alpha=ALPHA).passed


@pytest.mark.parametrize("p0", [1e-272, mpmath.mpf("1e-272"), mpmath.mpf("4.35e-422")])
def test_binomial_with_astronomically_small_bound(p0):
    assert S.binomial_upper_test(0, 10_000, p0, alpha=ALPHA).passed
    one = S.binomial_upper_test(1, 10_000, p0, alpha=ALPHA)
    assert not one.passed and one.critical_count == 1
    # P(Binom(n, p) >= 1) = 1 - (1 - p)^n = n p (1 + O(n p)) here
    assert one.log10_p_value == pytest.approx(float(mpmath.log10(10_000 * mpmath.mpf(p0))), abs=1e-9)


@pytest.mark.parametrize("p0", ["1e-280", "2e-290", "5e-291", "1e-295", "1e-400"])
def test_binomial_tail_is_continuous_across_the_float64_switch(p0):
    # Tails above 1e-290 come from scipy, below from mpmath's summation: both must agree with n p.
    result = S.binomial_upper_test(2, 1000, mpmath.mpf(p0), alpha=ALPHA)
    exact = mpmath.binomial(1000, 2) * mpmath.mpf(p0) ** 2
    assert result.log10_p_value == pytest.approx(float(mpmath.log10(exact)), abs=1e-9)


def test_binomial_tail_below_float64_at_a_moderate_rate():
    # 1000 failures out of 2000 at p0 = 0.01: the tail (~1e-1700) is summed in mpmath; check it
    # against mpmath's incomplete beta at high precision (the series converges at this small x).
    result = S.binomial_upper_test(1000, 2000, 0.01, alpha=ALPHA)
    with mpmath.workdps(50):
        reference = mpmath.betainc(1000, 1001, 0, mpmath.mpf("0.01"), regularized=True)
        assert result.log10_p_value == pytest.approx(float(mpmath.log10(reference)), rel=1e-12)
    assert result.p_value == 0.0 and not result.passed


def test_binomial_reported_numbers_are_exact():
    n, p0, failures = 500, 0.02, 12
    result = S.binomial_upper_test(failures, n, p0, alpha=0.01)
    assert result.p_value == pytest.approx(stats.binom.sf(failures - 1, n, p0), rel=1e-12)
    c = result.critical_count
    assert stats.binom.sf(c - 1, n, p0) < 0.01 <= stats.binom.sf(c - 2, n, p0)
    # detectable_rate: the rejection probability P(Binom(n, p) >= c) crosses the stated power exactly there
    assert stats.binom.sf(c - 1, n, result.detectable_rate) == pytest.approx(S.DETECTION_POWER, abs=1e-9)
    assert stats.binom.sf(c - 1, n, 0.99 * result.detectable_rate) < S.DETECTION_POWER
    # one-sided Clopper-Pearson: P(Binom(n, upper) <= failures) = alpha
    assert stats.binom.cdf(failures, n, result.upper_confidence_limit) == pytest.approx(0.01, rel=1e-9)


def test_binomial_says_when_no_count_can_fail():
    # one trial at p0 = 1/2: even a failure has p = 1/2 >= alpha, so the check has no power at all
    result = S.binomial_upper_test(1, 1, 0.5, alpha=0.1)
    assert result.passed and result.critical_count == 2 and result.detectable_rate == math.inf
    assert "no count out of 1 can fail it" in result.summary()


def test_binomial_rejects_bad_inputs():
    with pytest.raises(ParameterError):
        S.binomial_upper_test(5, 4, 0.1, alpha=0.05)
    with pytest.raises(ParameterError):
        S.binomial_upper_test(1, 4, 1.5, alpha=0.05)
    with pytest.raises(ParameterError):
        S.binomial_upper_test(-1, 4, 0.1, alpha=0.05)


def test_binomial_leaves_mpmath_precision_alone():
    S.binomial_upper_test(1, 100, mpmath.mpf("1e-500"), alpha=ALPHA)
    assert mpmath.mp.dps == 15


# ------------------------------------------------------------------------------------------------ slope


def _power_law(slope: float, runs: int = 5, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    x = np.logspace(0, 2, 10)
    noise = np.exp(0.05 * np.random.default_rng(seed).standard_normal((x.size, runs)))
    return x, 3.0 * x[:, None] ** slope * noise


def test_slope_passes_on_the_right_exponent_and_fails_on_a_wrong_one():
    x, y = _power_law(1.0)
    assert S.slope_test(x, y, 1.0, alpha=ALPHA).passed
    wrong = S.slope_test(x, y, 1.2, alpha=ALPHA)
    assert not wrong.passed and wrong.detectable < 0.2


def test_slope_replicates_equal_repeated_x():
    x, y = _power_law(-1.0)
    nested = S.slope_test(x, y, -1.0, alpha=ALPHA)
    flat = S.slope_test(np.repeat(x, y.shape[1]), y.ravel(), -1.0, alpha=ALPHA)
    assert nested == flat
    assert nested.n == 50 and nested.distinct_x == 10 and nested.df == 48
    slope, _ = np.polyfit(np.log(np.repeat(x, 5)), np.log(y.ravel()), 1)
    assert nested.slope == pytest.approx(slope, rel=1e-12)
    z = stats.norm.ppf(S.DETECTION_POWER)
    assert nested.ci_high - nested.slope + z * nested.stderr == pytest.approx(nested.detectable, rel=1e-12)


def test_slope_on_linear_scale():
    x = np.arange(1.0, 21.0)
    y = 2.0 * x + np.random.default_rng(5).standard_normal(20)
    assert S.slope_test(x, y, 2.0, alpha=ALPHA, log=False).passed
    assert not S.slope_test(x, y, 2.5, alpha=ALPHA, log=False).passed


def test_slope_false_alarm_rate_matches_alpha():
    # Gaussian log-residuals make the t interval exact: rejections ~ Binom(1000, 0.1); accept the
    # central 1 - 1e-3 interval (false-fail rate of this assertion <= 1e-3).
    rng = np.random.default_rng(6)
    x = np.arange(1.0, 7.0)
    rejections = sum(
        not S.slope_test(x, x**0.5 * np.exp(0.1 * rng.standard_normal(6)), 0.5, alpha=0.1).passed
        for _ in range(1000)
    )
    assert stats.binom.ppf(5e-4, 1000, 0.1) <= rejections <= stats.binom.isf(5e-4, 1000, 0.1)


def test_slope_rejects_bad_inputs():
    with pytest.raises(ParameterError):
        S.slope_test([1, 2, 3], [1, -2, 3], 1.0, alpha=0.05)
    with pytest.raises(ParameterError):
        S.slope_test([1, 2], [1, 2], 1.0, alpha=0.05)
    with pytest.raises(ParameterError):
        S.slope_test([2, 2, 2], [1, 2, 3], 1.0, alpha=0.05)
    with pytest.raises(ParameterError):
        S.slope_test([1, 2, 3], [1, 2], 1.0, alpha=0.05)


# --------------------------------------------------------------------------------------------- ordering


def test_mann_whitney_confirms_a_true_ordering_and_not_the_reverse():
    rng = np.random.default_rng(8)
    small_init = rng.normal(2.0, 1.0, 60)  # e.g. certified radii, larger under small initialization
    vanilla = rng.normal(1.0, 1.0, 60)
    confirmed = S.mann_whitney_greater(small_init, vanilla, alpha=ALPHA)
    reversed_ = S.mann_whitney_greater(vanilla, small_init, alpha=ALPHA)
    assert confirmed.confirms_ordering and confirmed.passed
    assert not reversed_.confirms_ordering and not reversed_.passed
    assert confirmed.test == "Mann-Whitney U (exact)"
    reference = stats.mannwhitneyu(small_init, vanilla, alternative="greater", method="exact")
    assert confirmed.p_value == reference.pvalue
    assert confirmed.effect == pytest.approx(reference.statistic / 3600, rel=1e-15)
    assert confirmed.effect + reversed_.effect == pytest.approx(1.0, rel=1e-15)


def test_mann_whitney_does_not_confirm_without_an_ordering():
    rng = np.random.default_rng(9)
    assert not S.mann_whitney_greater(
        rng.normal(size=200), rng.normal(size=200), alpha=ALPHA
    ).confirms_ordering


def test_mann_whitney_with_ties_uses_the_tie_corrected_approximation():
    result = S.mann_whitney_greater([3, 3, 4, 5, 5, 6, 7, 8], [1, 2, 2, 3, 3, 4, 4, 5], alpha=0.05)
    assert result.test == "Mann-Whitney U (asymptotic)" and result.confirms_ordering


def test_sign_test_confirms_a_true_ordering_and_not_the_reverse():
    # P(a_i > b_i) = Phi(0.8) = 0.79; with 100 pairs the count (mean 79, sd 4) reaches the critical
    # count 66 at alpha = 1e-3 except with probability ~1e-3.
    rng = np.random.default_rng(10)
    b = rng.normal(size=100)
    a = b + rng.normal(0.8, 1.0, size=100)
    confirmed = S.sign_test_paired(a, b, alpha=ALPHA)
    assert confirmed.confirms_ordering
    assert not S.sign_test_paired(b, a, alpha=ALPHA).confirms_ordering
    positive = int(np.sum(a > b))
    assert confirmed.p_value == pytest.approx(stats.binom.sf(positive - 1, 100, 0.5), rel=1e-12)


def test_sign_test_drops_ties():
    result = S.sign_test_paired([1, 2, 3, 4, 5, 6], [0, 2, 2, 3, 4, 6], alpha=0.1)
    assert result.statistic == 4 and result.effect == 1.0
    assert result.p_value == pytest.approx(0.5**4, rel=1e-12) and result.confirms_ordering
    equal = S.sign_test_paired([1, 2], [1, 2], alpha=0.1)
    assert equal.p_value == 1.0 and not equal.confirms_ordering
    with pytest.raises(ParameterError):
        S.sign_test_paired([1, 2], [1], alpha=0.1)


# ------------------------------------------------------------------------------------ chi-square mean


def test_chi_square_mean_passes_on_the_right_ell_and_fails_on_a_wrong_one():
    sample = _chi2_sample(40)
    right = S.mean_test_chi_square(sample, 40, alpha=ALPHA)
    assert right.passed and right.acceptance_low < right.mean < right.acceptance_high
    assert not S.mean_test_chi_square(sample, 44, alpha=ALPHA).passed
    # a scale error in Q's normalisation (a wrong c_T^2 s_w^2 S) of twice the detectable size fails
    assert not S.mean_test_chi_square(sample * (1 + 2 * right.detectable), 40, alpha=ALPHA).passed
    total_law = stats.chi2(400 * 40)
    expected_p = 2 * min(total_law.cdf(sample.sum()), total_law.sf(sample.sum()))
    assert right.p_value == pytest.approx(expected_p, rel=1e-9)


def test_chi_square_mean_detectable_has_the_stated_power():
    result = S.mean_test_chi_square(_chi2_sample(10, n=50), 10, alpha=0.01)
    total_law = stats.chi2(500)
    high, low = 50 * result.acceptance_high, 50 * result.acceptance_low
    up = total_law.sf(high / (1 + result.detectable))  # P(c chi2 > high), c = 1 + detectable
    down = total_law.cdf(low / (1 - result.detectable))
    # detectable is the worse of the two sides: the stated power exactly there, at least that on the other
    power = S.DETECTION_POWER
    assert min(up, down) == pytest.approx(power, abs=1e-9) and max(up, down) >= power


def test_chi_square_mean_false_alarm_rate_matches_alpha():
    # Exact two-sided test: rejections ~ Binom(2000, 0.05); central 1 - 1e-3 interval.
    rng = np.random.default_rng(11)
    rejections = sum(
        not S.mean_test_chi_square(rng.chisquare(3, 5), 3, alpha=0.05).passed for _ in range(2000)
    )
    assert stats.binom.ppf(5e-4, 2000, 0.05) <= rejections <= stats.binom.isf(5e-4, 2000, 0.05)


# ------------------------------------------------------------------------------------------- reporting


def test_every_result_is_json_ready_and_summarised():
    sample = _chi2_sample(40, n=50)
    results: list[S.Verdict] = [
        S.ks_test(sample, stats.chi2(40).cdf, alpha=ALPHA, name="chi2_40"),
        S.dkw_band_test(sample, stats.chi2(40).cdf, alpha=ALPHA),
        S.binomial_upper_test(1, 100, mpmath.mpf("4.35e-422"), alpha=ALPHA),
        S.slope_test(*_power_law(1.0), 1.0, alpha=ALPHA, name="radius"),
        S.mann_whitney_greater(sample, sample - 1, alpha=ALPHA),
        S.sign_test_paired(sample, sample - 1, alpha=ALPHA),
        S.mean_test_chi_square(sample, 40, alpha=ALPHA),
    ]
    for result in results:
        record = json.loads(json.dumps(result.as_dict()))
        assert record["summary"] == result.summary() and "\n" not in result.summary()
        assert record["alpha"] == ALPHA
        assert result.summary().startswith("PASS" if result.passed else "FAIL")
    assert results[2].as_dict()["p0"] == "4.35e-422"
    gof = S.ks_test(sample, stats.chi2(40).cdf, alpha=ALPHA)
    with pytest.raises(AttributeError):
        gof.passed = False  # type: ignore[misc]


# --- added with the scaling and R4 checks -------------------------------------------------------


def _group_means(exponent: float, seed: int, xs=(1.0, 2.0, 4.0, 8.0), n: int = 400):
    rng = np.random.default_rng(seed)
    means, ses = [], []
    for x in xs:
        y = x**exponent * rng.chisquare(10, n) / 10
        means.append(y.mean())
        ses.append(y.std(ddof=1) / np.sqrt(n))
    return np.array(xs), np.array(means), np.array(ses)


def test_weighted_slope_passes_true_exponent_and_fails_wrong_one():
    from verify.statistics import weighted_slope_test

    x, m, s = _group_means(2.0, seed=1)
    assert weighted_slope_test(x, m, s, 2.0, alpha=1e-3).passed
    assert not weighted_slope_test(x, m, s, 2.2, alpha=1e-3).passed
    assert not weighted_slope_test(x, m, s, 1.0, alpha=1e-3).passed


def test_weighted_slope_false_alarm_rate():
    from verify.statistics import weighted_slope_test

    rejections = sum(
        not weighted_slope_test(*_group_means(1.0, seed=s, n=200), 1.0, alpha=0.1).passed for s in range(400)
    )
    # Binom(400, 0.1): mean 40, sd 6; a 4-sd window guards against a miscalibrated interval.
    assert 16 <= rejections <= 64


def test_two_sided_binomial():
    from verify.statistics import binomial_two_sided_test

    assert binomial_two_sided_test(42, 1000, 0.042, alpha=1e-3).passed
    assert not binomial_two_sided_test(84, 1000, 0.042, alpha=1e-3).passed  # rate off by a factor 2
    assert not binomial_two_sided_test(10, 1000, 0.042, alpha=1e-3).passed


def test_two_sided_binomial_reach_per_side():
    """Each side's detectable rate has the stated power there (checked against the exact power), and a side
    no rate can reach is inf and named in the summary, as R5's ell=90 line (600 trials, p0 ~ 2e-5)."""
    from verify.statistics import binomial_two_sided_power, binomial_two_sided_test

    alpha = 5e-6
    both = binomial_two_sided_test(42, 1000, 0.042, alpha=alpha)
    for p1 in (0.042 + both.detectable_rise, 0.042 - both.detectable_fall):
        assert binomial_two_sided_power(1000, 0.042, p1, alpha) >= 0.9
    for p1 in (0.042 + 0.98 * both.detectable_rise, 0.042 - 0.98 * both.detectable_fall):
        assert binomial_two_sided_power(1000, 0.042, p1, alpha) < 0.9
    assert "detects a rate >=" in both.summary() and "or a rate <=" in both.summary()

    rare = binomial_two_sided_test(0, 600, 1.918e-5, alpha=alpha)
    assert rare.detectable_fall == math.inf and 0 < rare.detectable_rise < 0.05
    assert binomial_two_sided_power(600, 1.918e-5, 0.0, alpha) == 0.0  # a true rate of 0 always passes
    assert "no rate below p0 can fail it at n=600" in rare.summary() and "inf" not in rare.summary()


def test_ks_power_lower_bound_holds_by_simulation():
    """The DKW lower bound on the KS test's power (R3's dof-off-by-one at ell=10, violation.uniform_init's
    quick size) is below the rejection rate measured over 300 samples."""
    from scipy import stats

    from verify.statistics import ks_power_lower_bound, ks_test

    n, alpha = 1500, 5.3e-5
    grid = np.linspace(1e-6, 1 - 1e-6, 20001)
    delta = float(np.max(np.abs(stats.chi2.cdf(stats.chi2.ppf(grid, 11), 10) - grid)))
    bound = ks_power_lower_bound(n, alpha, delta)
    rng = np.random.default_rng(5)
    rejected = np.mean(
        [not ks_test(rng.chisquare(11, n), stats.chi2(10).cdf, alpha=alpha).passed for _ in range(300)]
    )
    assert 0.8 < bound <= rejected
    assert ks_power_lower_bound(n, alpha, 0.5 * stats.kstwo.isf(alpha, n)) == 0.0
