"""The assumption-violation checks end to end on tiny settings, and their verdicts on wrong predictions."""

from __future__ import annotations

import numpy as np
import pytest

from tests.verify.checks.conftest import quick_context
from verify.checks import violations as v
from verify.registry import Context, select

TINY = v.Setting(runs=20, d=12, ell=8, m=8, n=12, steps=60)
TINY_ARMS = v.Setting(runs=60, d=12, ell=8, m=8, n=12, steps=60)
TINY_UNIFORM = v.Setting(runs=200, d=10, ell=5, m=8, n=12, steps=40)
TINY_DEEP = v.DeepSizes(runs=12, r=4, ells=(4, 12), m1=8, m2=8, n=12, steps=60)
IDS = [
    "violation.adam",
    "violation.noise",
    "violation.output_layer",
    "violation.bias",
    "violation.uniform_init",
    "violation.deep",
    "violation.deep_chi_square",
]


@pytest.fixture
def tiny(monkeypatch):
    """Every violation check's quick profile replaced by a tiny setting."""
    for table, size in (
        (v.ADAM, TINY),
        (v.NOISE, TINY),
        (v.ARMS, TINY_ARMS),
        (v.UNIFORM, TINY_UNIFORM),
        (v.DEEP, TINY_DEEP),
    ):
        monkeypatch.setitem(table, "quick", size)


def test_checks_are_registered_as_violations():
    checks = select(["violation"])
    assert [c.id for c in checks] == IDS
    assert {c.result for c in checks} == {"violation"} and {c.section for c in checks} == {v.SECTION}
    assert [c.statistical for c in checks] == [False, False, True, True, True, False, True]


@pytest.mark.parametrize("check_id", IDS)
def test_registered_checks_pass_on_tiny_settings(check_id, tiny, tmp_path):
    (chk,) = select([check_id])
    outcome = chk.run(quick_context(tmp_path))
    assert outcome.passed, outcome.statistic
    assert outcome.predicted and outcome.measured and outcome.tables
    for name in outcome.figures:
        assert (tmp_path / name).exists()


def test_adam_moves_the_orthogonal_weights_and_gd_does_not(tiny, tmp_path):
    outcome = v.adam(quick_context(tmp_path))
    assert outcome.details["Adam"]["movement_min"] > 1e-3  # a visible fraction of ||Pi w_i(0)||
    assert outcome.details["GD"]["movement_min"] < 1e-12


def test_noise_error_grows_with_the_noise(tiny, tmp_path):
    medians = v.noise(quick_context(tmp_path)).details["medians"]
    assert medians[0] < 1e-13 and all(b > a for a, b in zip(medians, medians[1:], strict=False))
    # Linear response: ten times the noise, about ten times the drift.
    assert 5 < medians[3] / medians[2] < 20


@pytest.fixture(scope="module")
def module_ctx(tmp_path_factory) -> Context:
    return quick_context(tmp_path_factory.mktemp("figures"))


@pytest.mark.parametrize("arms", [v.output_layer_arms, v.bias_arms])
def test_two_arm_verdicts_fail_on_a_wrong_law(arms, module_ctx):
    pops = arms(module_ctx, TINY_ARMS)
    right = v.two_arm_outcome(module_ctx, TINY_ARMS, pops, claim="test", expectation="")
    wrong = v.two_arm_outcome(module_ctx, TINY_ARMS, pops, claim="test", expectation="", dof_shift=8)
    assert right.passed and not wrong.passed


def test_output_layer_arms_differ_only_in_u():
    ctx = quick_context(None)
    pops = v.output_layer_arms(ctx, TINY_ARMS)
    fixed, trained = pops["output fixed"], pops["output trained"]
    np.testing.assert_array_equal(fixed.net.u.numpy(), fixed.result.net0.u.numpy())
    np.testing.assert_array_equal(fixed.result.net0.W.numpy(), trained.result.net0.W.numpy())
    assert float((trained.net.u - trained.result.net0.u).abs().max()) > 0


def test_uniform_verdict_fails_on_a_wrong_law(module_ctx):
    arms = v.uniform_arms(module_ctx, TINY_UNIFORM)
    assert v.uniform_outcome(module_ctx, TINY_UNIFORM, arms).passed
    assert not v.uniform_outcome(module_ctx, TINY_UNIFORM, arms, dof_shift=4).passed


def test_deep_run_keeps_the_first_layer_and_has_the_derived_law(module_ctx):
    run = v.deep_run(0, "cpu", 12, TINY_DEEP)
    assert run.invariance.max() <= run.budget
    assert np.all((run.ratio > 0) & (run.ratio <= 1 + 1e-12))  # ||Pi grad|| <= ||grad||
    assert np.isfinite(run.radius_deep).any()


def test_variance_z_is_small_for_chi_square_and_large_for_a_narrower_law():
    rng = np.random.default_rng(0)
    Q = rng.chisquare(10, size=20000)
    assert abs(v.variance_z(Q, 10)) < 5  # a 5-sigma excursion of the sample variance has probability ~6e-7
    assert v.variance_z(10 + 0.8 * (Q - 10), 10) < -20  # variance 0.64 * 20: far below 2 ell


def test_deep_chi_square_fails_on_wrong_degrees(tmp_path, monkeypatch):
    from dataclasses import replace

    from verify.checks import chi_square

    # Enough networks that a shift of 4 degrees of freedom is far above the detectable distance.
    monkeypatch.setitem(v.DEEP, "quick", replace(TINY_DEEP, runs=150))
    assert v.deep_chi_square(quick_context(tmp_path)).passed

    # Four more degrees of freedom than derived: the check must fail.
    real = chi_square.law_tests
    monkeypatch.setattr(v, "law_tests", lambda Q, ell, alpha: real(Q, ell + 4, alpha))
    assert not v.deep_chi_square(quick_context(tmp_path)).passed
