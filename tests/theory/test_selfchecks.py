"""theory/selfchecks.py: every self-check passes with our closed forms and fails with a wrong one."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from theory import chi_square, selfchecks
from theory.decay import C_T, flow_decay_factor
from theory.selfchecks import (
    ALL_SELFCHECKS,
    SelfCheck,
    chernoff_below_laurent_massart,
    decay_recurrence,
    exact_tail_below_bounds,
    gradient_in_data_span,
    lower_threshold_at_half_mean,
    weight_decay_step,
)
from theory.symbols import T, ell, eta, lam, t, x

SMALL_ELLS = range(1, 301)


@pytest.mark.parametrize("check", [c for c in ALL_SELFCHECKS if c is not exact_tail_below_bounds])
def test_symbolic_checks_pass_with_our_closed_forms(check):
    result = check()
    assert isinstance(result, SelfCheck) and result.passed, result.detail
    assert result.id in "abcdf" and result.claim and result.numbers


def test_exact_tail_is_below_both_bounds_up_to_ell_ten_thousand():
    result = exact_tail_below_bounds()
    assert result.passed, result.detail
    # The reported extremes: the tail is closest to both bounds at ell = 1 and farthest at ell = 10^4.
    assert result.numbers["max exact/chernoff"].endswith("at ell=1")
    assert result.numbers["min exact/chernoff"] == "0.0112791 at ell=10000"
    assert result.numbers["min exact/exp(-ell/16)"].endswith("e-150 at ell=10000")


def test_selfcheck_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        lower_threshold_at_half_mean().passed = False  # type: ignore[misc]


# -- each check fails when its closed form is wrong ---------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": ell - sp.sqrt(ell * x)},  # a factor 2 lost
        {"threshold": ell - 2 * sp.sqrt(ell * x) + 2 * x},  # the upper threshold's shape
        {"x_at": ell / 8},  # the wrong tail parameter
    ],
)
def test_wrong_threshold_fails(kwargs):
    assert not lower_threshold_at_half_mean(**kwargs).passed


def test_chernoff_base_above_exp_minus_one_eighth_fails():
    # (b)^(ell/2) <= exp(-ell/16) iff b <= exp(-1/8) = 0.8825; sqrt(e)/2 = 0.8244 passes, 0.9 must not.
    result = chernoff_below_laurent_massart(chernoff=sp.Rational(9, 10) ** (ell / 2))
    assert not result.passed and float(result.numbers["constant_value"]) > 0


def test_a_bound_that_is_not_exponential_in_ell_fails():
    result = chernoff_below_laurent_massart(chernoff=sp.exp(-sp.sqrt(ell)))
    assert not result.passed and "not ell times a constant" in result.detail


def test_chernoff_check_is_tight_at_the_boundary_base():
    # Base exactly exp(-1/8): the ratio is 1 for every ell, so "strictly below" must fail.
    assert not chernoff_below_laurent_massart(chernoff=sp.exp(-sp.Rational(1, 8)) ** (ell / 2)).passed


@pytest.mark.parametrize(
    "kwargs",
    [
        {"gd_closed_form": (1 - eta * lam) ** (T + 1)},  # off by one step
        {"gd_closed_form": (1 - eta * lam / 2) ** T},  # decoupled decay with lam/2
        {"flow_closed_form": sp.exp(-2 * lam * t)},
        {"flow_closed_form": flow_decay_factor() * (1 + 0 * C_T) + lam * t**2},
    ],
)
def test_wrong_decay_fails(kwargs):
    assert not decay_recurrence(**kwargs).passed


@pytest.mark.parametrize("leak", [sp.Rational(1, 2), sp.Symbol("epsilon", positive=True)])
def test_gradient_with_an_orthogonal_component_fails(leak):
    # Data off the plane (an affine plane at height 1/2, or noise epsilon): dL/dw_i leaves span{P}.
    result = gradient_in_data_span(orthogonal_leak=leak)
    assert not result.passed and result.numbers["orthogonal_component_w1"] != "0"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"decay_closed_form": 1 - eta * lam / 2},
        {"decay_closed_form": sp.Integer(1)},
        {"orthogonal_leak": sp.Rational(1, 2)},
    ],
)
def test_wrong_weight_decay_step_fails(kwargs):
    assert not weight_decay_step(**kwargs).passed


def test_exact_tail_check_fails_for_a_bound_below_the_exact_tail():
    # exp(-ell/8) decays faster than the exact tail (rate 0.0966 ell): it is violated from some ell on.
    result = exact_tail_below_bounds(ells=SMALL_ELLS, bound=sp.exp(-ell / 8))
    assert not result.passed and "violate" in result.detail


def test_exact_tail_check_fails_for_a_wrong_exact_value():
    # The upper tail in place of the lower one exceeds both bounds.
    result = exact_tail_below_bounds(ells=SMALL_ELLS, exact=chi_square.HALF_MEAN_EXACT_COMPLEMENT)
    assert not result.passed


def test_exact_tail_check_with_an_explicit_expression_agrees_with_the_series():
    by_series = exact_tail_below_bounds(ells=SMALL_ELLS, digits=30)
    by_gammainc = exact_tail_below_bounds(ells=SMALL_ELLS, digits=30, exact=chi_square.HALF_MEAN_EXACT)
    assert by_series.passed and by_gammainc.passed
    assert by_series.numbers == by_gammainc.numbers


def test_run_all_covers_every_check(monkeypatch):
    # The ell sweep is tested above; here only that run_all runs each registered check once.
    calls = []
    fake = [lambda name=name: calls.append(name) or SelfCheck(name, "", True, "") for name in "abcdef"]
    monkeypatch.setattr(selfchecks, "ALL_SELFCHECKS", tuple(fake))
    assert [r.id for r in selfchecks.run_all()] == list("abcdef") and calls == list("abcdef")
