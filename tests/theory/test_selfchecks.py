"""theory/selfchecks.py: every self-check passes on the registry and fails under a wrong theory
(`theory.results.replaced`, the one wrong-prediction mechanism)."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from theory import chi_square, selfchecks
from theory.decay import flow_decay_factor
from theory.network_selfchecks import gradient_in_data_span, weight_decay_step
from theory.results import replaced
from theory.selfcheck_record import SelfCheck
from theory.selfchecks import (
    ALL_SELFCHECKS,
    chernoff_below_laurent_massart,
    chi_square_law_is_one_law,
    decay_recurrence,
    exact_tail_below_bounds,
    lower_threshold_at_half_mean,
    momentum_recurrence,
    r4_consistent_with_r3,
)
from theory.symbols import N0, Q, S, T, beta, d, ell, eta, g_norm, lam, mu, s_w, t, x

SMALL_ELLS = range(1, 301)


@pytest.mark.parametrize("check", [c for c in ALL_SELFCHECKS if c is not exact_tail_below_bounds])
def test_symbolic_checks_pass_on_the_registry(check):
    result = check()
    assert isinstance(result, SelfCheck) and result.passed, result.detail
    assert result.id in "abcdfghi" and result.claim and result.numbers


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


# -- each check fails under a wrong theory ----------------------------------------------------------------
@pytest.mark.parametrize(
    "wrong",
    [
        {"lower_tail_threshold": ell - sp.sqrt(ell * x)},  # a factor 2 lost
        {"lower_tail_threshold": ell - 2 * sp.sqrt(ell * x) + 2 * x},  # the upper threshold's shape
        {"tail_parameter": ell / 8},  # the wrong tail parameter
        {"event_threshold": ell / 3},
    ],
)
def test_wrong_threshold_fails(wrong):
    with replaced("R4", **wrong):
        assert not lower_threshold_at_half_mean().passed


def test_chernoff_base_above_exp_minus_one_eighth_fails():
    # (b)^(ell/2) <= exp(-ell/16) iff b <= exp(-1/8) = 0.8825; sqrt(e)/2 = 0.8244 passes, 0.9 must not.
    with replaced("R4", failure_probability_chernoff=sp.Rational(9, 10) ** (ell / 2)):
        result = chernoff_below_laurent_massart()
    assert not result.passed and float(result.numbers["constant_value"]) > 0


def test_a_bound_that_is_not_exponential_in_ell_fails():
    with replaced("R4", failure_probability_chernoff=sp.exp(-sp.sqrt(ell))):
        result = chernoff_below_laurent_massart()
    assert not result.passed and "not ell times a constant" in result.detail


def test_chernoff_check_is_tight_at_the_boundary_base():
    # Base exactly exp(-1/8): the ratio is 1 for every ell, so "strictly below" must fail.
    with replaced("R4", failure_probability_chernoff=sp.exp(-sp.Rational(1, 8)) ** (ell / 2)):
        assert not chernoff_below_laurent_massart().passed


@pytest.mark.parametrize(
    "wrong",
    [
        {"decay_gd": (1 - eta * lam) ** (T + 1)},  # off by one step
        {"decay_gd": (1 - eta * lam / 2) ** T},  # decoupled decay with lam/2
        {"decay_flow": sp.exp(-2 * lam * t)},
        {"decay_flow": flow_decay_factor() + lam * t**2},
    ],
)
def test_wrong_decay_fails(wrong):
    with replaced("R1", **wrong):
        assert not decay_recurrence().passed


@pytest.mark.parametrize("leak", [sp.Rational(1, 2), sp.Symbol("epsilon", positive=True)])
def test_gradient_with_an_orthogonal_component_fails(leak):
    # Data off the plane (an affine plane at height 1/2, or noise epsilon): dL/dw_i leaves span{P}.
    result = gradient_in_data_span(orthogonal_leak=leak)
    assert not result.passed and result.numbers["orthogonal_component_w1"] != "0"


@pytest.mark.parametrize("wrong", [(1 - eta * lam / 2) ** T, sp.Integer(1) + 0 * T])
def test_wrong_weight_decay_step_fails(wrong):
    with replaced("R1", decay_gd=wrong):
        assert not weight_decay_step().passed


def test_weight_decay_step_fails_off_the_plane():
    assert not weight_decay_step(orthogonal_leak=sp.Rational(1, 2)).passed


def _bound(denominator: int) -> sp.Expr:
    return sp.Abs(1 - eta * lam) ** T * beta * s_w * sp.sqrt(S * ell / (denominator * d))


@pytest.mark.parametrize(
    ("result_id", "wrong"),
    [
        ("R4", {"orth_grad_lower_bound": _bound(3)}),  # the constant off: sqrt(S ell/(3d))
        ("R4", {"failure_probability_exact": chi_square.CDF.subs(Q, ell / 3)}),
        ("R4", {"failure_probability_bound": sp.exp(-ell / 8)}),
        ("R5", {"flip_distance_bound": sp.Abs(N0) / _bound(3)}),
        ("R5", {"flip_distance": 2 * sp.Abs(N0) / g_norm}),
        ("R3", {"variance_scale": (1 - eta * lam) ** (2 * T) * beta**2 * s_w**2 * S / (d - 1)}),
    ],
)
def test_r4_and_r5_inconsistent_with_r3_fail(result_id, wrong):
    with replaced(result_id, **wrong):
        assert not r4_consistent_with_r3().passed


@pytest.mark.parametrize(
    "wrong", [{"momentum_a2": mu}, {"momentum_a1": 1 + mu}, {"momentum_first": sp.Integer(1)}]
)
def test_a_wrong_momentum_recurrence_fails(wrong):
    with replaced("R1", **wrong):
        assert not momentum_recurrence().passed


@pytest.mark.parametrize(
    "wrong",
    [
        {"chi_square_mean": ell + 1},
        {"chi_square_variance": ell},
        {"chi_mean": sp.sqrt(ell)},
        {"chi_square_cdf": chi_square.CDF.subs(ell, ell + 1)},
        {"chi_square_survival": chi_square.SURVIVAL.subs(Q, 2 * Q)},
    ],
)
def test_a_law_with_one_wrong_function_fails(wrong):
    with replaced("R3", **wrong):
        assert not chi_square_law_is_one_law().passed


def test_exact_tail_check_fails_for_a_bound_below_the_exact_tail():
    # exp(-ell/8) decays faster than the exact tail (rate 0.0966 ell): it is violated from some ell on.
    with replaced("R4", failure_probability_bound=sp.exp(-ell / 8)):
        result = exact_tail_below_bounds(ells=SMALL_ELLS)
    assert not result.passed and "violate" in result.detail


def test_exact_tail_check_fails_for_a_wrong_exact_value():
    # The upper tail in place of the lower one exceeds both bounds.
    with replaced("R4", failure_probability_exact=chi_square.HALF_MEAN_EXACT_COMPLEMENT):
        assert not exact_tail_below_bounds(ells=SMALL_ELLS, route="registry").passed


def test_exact_tail_by_the_registry_agrees_with_the_series():
    by_series = exact_tail_below_bounds(ells=SMALL_ELLS, digits=30)
    by_gammainc = exact_tail_below_bounds(ells=SMALL_ELLS, digits=30, route="registry")
    assert by_series.passed and by_gammainc.passed
    assert by_series.numbers == by_gammainc.numbers


def test_the_registry_is_restored_after_a_wrong_theory():
    with replaced("R4", event_threshold=ell / 3), replaced(transform=lambda e: e * 2):
        assert not lower_threshold_at_half_mean().passed
    assert all(check().passed for check in ALL_SELFCHECKS if check is not exact_tail_below_bounds)


def test_run_all_covers_every_check(monkeypatch):
    calls = []
    fake = [lambda name=name: calls.append(name) or SelfCheck(name, "", True, "") for name in "abcdefghi"]
    monkeypatch.setattr(selfchecks, "ALL_SELFCHECKS", tuple(fake))
    assert [r.id for r in selfchecks.run_all()] == list("abcdefghi") and calls == list("abcdefghi")
