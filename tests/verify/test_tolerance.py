"""The single "close enough" rule: verdicts, the numbers they print, and the float64 rounding budget."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from theory.parameters import ParameterError
from verify.tolerance import UNIT_ROUNDOFF, compare, float64_rounding_budget


def test_pass_and_fail_at_the_relative_tolerance():
    predicted = np.array([1.0, -2.0, 4.0])
    assert compare(predicted * (1 + 0.9e-12), predicted, rtol=1e-12).passed
    assert not compare(predicted * (1 + 1.1e-12), predicted, rtol=1e-12).passed


@pytest.mark.parametrize("offset", [1e-16, 1e-6])
def test_summary_prints_both_errors_whether_passed_or_not(offset):
    result = compare([1.0 + offset, 3.0], [1.0, 3.0], rtol=1e-12, what="Pi w_i(T)")
    text = result.summary()
    assert text.startswith("PASS" if result.passed else "FAIL")
    assert "max abs err" in text and "max rel err" in text and "Pi w_i(T)" in text
    assert result.max_abs_error == pytest.approx(offset, rel=1e-6)
    assert result.max_rel_error == pytest.approx(offset, rel=1e-6)


def test_worst_entry_is_located_in_two_dimensions():
    predicted = np.ones((3, 4))
    measured = predicted.copy()
    measured[2, 1] += 1e-3
    measured[0, 3] += 1e-9
    result = compare(measured, predicted, rtol=1e-6)
    assert not result.passed and result.violations == 1 and result.size == 12
    assert result.worst_index == (2, 1)
    assert result.worst_measured == measured[2, 1] and result.worst_predicted == 1.0


def test_worst_entry_is_the_one_furthest_past_its_own_tolerance():
    # abs error is largest at index 0, but relative to |p| index 1 is the real offender
    result = compare([1000.1, 1.01], [1000.0, 1.0], rtol=1e-3)
    assert result.worst_index == (1,) and not result.passed


def test_absolute_tolerance_governs_zero_predictions():
    assert compare([1e-17, 0.0], [0.0, 0.0], rtol=1e-12, atol=1e-16).passed
    zero = compare([1e-17], [0.0], rtol=1e-12)
    assert not zero.passed and zero.max_rel_error == math.inf


@pytest.mark.parametrize(
    ("measured", "predicted"),
    [(np.nan, 1.0), (1.0, np.nan), (np.nan, np.nan), (1.0, np.inf), (np.inf, -np.inf), (np.inf, 1.0)],
)
def test_nan_and_missed_infinities_never_pass(measured, predicted):
    result = compare([measured], [predicted], rtol=1e-3, atol=1.0)
    assert not result.passed and result.max_abs_error == math.inf


def test_equal_infinities_match_and_scalars_broadcast():
    assert compare([np.inf, -np.inf], [np.inf, -np.inf], rtol=0.0).passed
    broadcast = compare(np.full((2, 3), 2.0), 2.0, rtol=0.0)
    assert broadcast.passed and broadcast.size == 6
    scalar = compare(2.0, 2.0, rtol=0.0)
    assert scalar.passed and scalar.worst_index == ()


def test_bad_inputs_are_rejected():
    with pytest.raises(ParameterError):
        compare(1.0, 1.0, rtol=-1e-12)
    with pytest.raises(ParameterError):
        compare(1.0, 1.0, rtol=1e-12, atol=math.nan)
    with pytest.raises(ValueError):
        compare(np.ones(3), np.ones(4), rtol=1e-12)


def test_as_dict_is_json_ready():
    result = compare(np.eye(2), np.eye(2) + 1e-3, rtol=1e-6, what="identity")
    record = json.loads(json.dumps(result.as_dict()))
    assert record["passed"] is False and record["worst_index"] == list(result.worst_index)
    assert record["summary"] == result.summary() and record["kind"] == "Comparison"


def test_rounding_budget_is_gamma_n():
    n = 1000
    assert float64_rounding_budget(n, 2.0) == pytest.approx(
        2.0 * n * 2.0**-53 / (1 - n * 2.0**-53), rel=1e-15
    )
    assert UNIT_ROUNDOFF == np.finfo(np.float64).eps / 2
    with pytest.raises(ParameterError):
        float64_rounding_budget(0)
    with pytest.raises(ParameterError):
        float64_rounding_budget(2**53)
    with pytest.raises(ParameterError):
        float64_rounding_budget(10, -1.0)


def test_rounding_budget_bounds_a_real_sum_and_catches_lost_precision():
    # Recursive float64 summation obeys |fl(s) - s| <= gamma_{n-1} sum|x_i| (math.fsum is exact to
    # one rounding); the same budget must flag a sum done in float32.
    x = np.random.default_rng(0).standard_normal(10_000)
    exact = math.fsum(x)
    budget = float64_rounding_budget(x.size - 1, float(np.sum(np.abs(x))))
    recursive = 0.0
    for value in x:
        recursive += float(value)
    assert compare(recursive, exact, rtol=0.0, atol=budget).passed
    in_float32 = float(np.cumsum(x.astype(np.float32))[-1])
    assert not compare(in_float32, exact, rtol=0.0, atol=budget).passed
