"""theory/results.py: the registry R1-R8, its provenance, predictions and symbolic exponents."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import mpmath
import pytest
import sympy as sp

from theory import results
from theory.precision import evaluate
from theory.result import log_log_slope
from theory.results import RESULTS, get
from theory.symbols import beta, d, ell, m, s_w

DERIVATIONS = Path(__file__).resolve().parents[2] / "docs" / "derivations.md"


def _anchors(markdown: str) -> set[str]:
    """GitHub-style anchors of the headings: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_registry_holds_r1_to_r8_and_the_two_derived_laws_with_uniform_fields():
    assert list(RESULTS) == [f"R{i}" for i in range(1, 9)] + ["R1a", "R3d"]
    for key, result in RESULTS.items():
        assert result.id == key and get(key) is result
        assert re.fullmatch(r"[a-z][a-z0-9_]*", result.name)
        assert result.paper_claim in ((0,) if key in ("R1a", "R3d") else (1, 2, 3))
        assert result.statement.endswith(".") and result.hypotheses and result.expressions


def test_unknown_result_is_an_error():
    with pytest.raises(KeyError, match="no result 'R9'"):
        get("R9")


def test_results_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        get("R1").name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        get("R1").expressions["decay_gd"] = sp.Integer(1)  # type: ignore[index]


def test_provenance_points_to_an_existing_derivation():
    anchors = _anchors(DERIVATIONS.read_text())
    for result in RESULTS.values():
        kind, _, pointer = result.provenance.partition(": ")
        assert kind == ("our addition" if result.id == "R6" else "derived")
        path, _, anchor = pointer.split(";")[0].partition("#")
        assert path == "docs/derivations.md" and anchor in anchors, result.provenance
    assert "our reconstruction of the paper's" in get("R4").provenance


def test_r1_decay_factors_at_exact_inputs():
    pred = get("R1").predict({"eta": "0.1", "lam": "0.01", "T": 1000, "t": "100"}, digits=25)
    with mpmath.workdps(50):
        assert abs(pred["decay_gd"] - (1 - mpmath.mpf(1) / 1000) ** 1000) < mpmath.mpf(10) ** -25
        assert abs(pred["decay_flow"] - mpmath.exp(-1)) < mpmath.mpf(10) ** -25


def test_predict_evaluates_only_expressions_whose_symbols_are_given():
    pred = get("R4").predict({"ell": 10_000}, digits=10)
    assert set(pred) == {
        "failure_probability_bound",
        "failure_probability_chernoff",
        "failure_probability_exact",
        "success_probability_exact",
        "tail_parameter",
        "event_threshold",
    }
    pred = get("R4").predict({"ell": 100, "x": "6.25"}, digits=10)
    assert pred["lower_tail_threshold"] == 50


def test_predict_names_unknown_expressions_and_division_by_zero():
    with pytest.raises(KeyError, match="R4 has no expression 'nope'"):
        get("R4").predict({"ell": 3}, names=["nope"])
    with pytest.raises(ValueError, match=r"R5.flip_distance .*\(division by zero\)"):
        get("R5").predict({"N0": 1, "g_norm": 0}, names=["flip_distance"])


def test_r4_standard_bound_is_the_general_bound_at_standard_initialization():
    point = {"d": 1000, "ell": 900, "m": 512, "k": 256}
    general = get("R4").predict(
        {**point, "s_w": 1, "beta": 1, "S": "0.5", "eta": 1, "lam": 0, "T": 0},
        names=["orth_grad_lower_bound"],
    )["orth_grad_lower_bound"]
    standard = get("R4").predict(point, names=["orth_grad_lower_bound_standard"])
    assert general == standard["orth_grad_lower_bound_standard"]
    with mpmath.workdps(40):
        assert abs(general - mpmath.sqrt(mpmath.mpf(256 * 900) / (2 * 512 * 1000))) < mpmath.mpf(10) ** -29


def test_r5_bound_is_output_over_r4_bound():
    values = {
        "d": 50,
        "ell": 30,
        "s_w": "0.5",
        "beta": 1,
        "S": "0.3",
        "eta": "0.1",
        "lam": "0.2",
        "T": 7,
        "N0": "-0.8",
    }
    bound = get("R4").predict(values, names=["orth_grad_lower_bound"])["orth_grad_lower_bound"]
    flip = get("R5").predict(values, names=["flip_distance_bound"])["flip_distance_bound"]
    with mpmath.workdps(30):
        assert abs(flip * bound - mpmath.mpf("0.8")) < mpmath.mpf(10) ** -28


def test_decay_factor_may_be_negative_but_bounds_use_its_magnitude():
    # eta*lam = 1.5: c_T = (-0.5)^3 < 0, yet ||g|| bounds must be positive.
    values = {"d": 10, "ell": 4, "s_w": 1, "beta": 1, "S": 1, "eta": "1.5", "lam": 1, "T": 3}
    assert get("R1").predict(values, names=["decay_gd"])["decay_gd"] == -0.125
    assert get("R4").predict(values, names=["orth_grad_lower_bound"])["orth_grad_lower_bound"] > 0


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("beta", 1),
        ("ell_over_d", sp.Rational(1, 2)),
        ("width_sqrt", 0),
        ("width_mean_field", sp.Rational(-1, 2)),
        ("certified_radius_beta", -1),
    ],
)
def test_r7_exponents(key, expected):
    assert get("R7").exponent(key) == expected


def test_r7_exponents_agree_with_finite_ratios():
    # An independent route to the exponents: doubling the variable multiplies the quantity by 2^exponent.
    rms = sp.sqrt(results.EXPECTED_ORTH_GRAD_NORM_SQ)
    fixed = {s_w: 1, sp.Symbol("S", positive=True): 1, sp.Symbol("lam", nonnegative=True): 0}
    ratio = (rms.subs({ell: 2 * ell, d: d}) / rms).subs(fixed)
    assert sp.simplify(ratio - 2 ** get("R7").exponent("ell_over_d")) == 0
    width = rms.subs(results.S, results.S_MEAN_FIELD_OUTPUT).subs(results.k, results.kappa * m)
    assert sp.simplify(width.subs(m, 2 * m) / width - 2 ** get("R7").exponent("width_mean_field")) == 0
    g = get("R7").expressions["orth_grad_over_sqrt_S"]
    assert sp.simplify(g.subs(beta, 2 * beta) / g - 2 ** get("R7").exponent("beta")) == 0


def test_log_log_slope_detects_other_powers():
    assert log_log_slope(s_w**3 * beta, s_w) == 3
    assert log_log_slope(sp.sqrt(ell / d), d) == sp.Rational(-1, 2)


def test_exponent_of_a_non_number_is_an_error():
    with pytest.raises(ValueError, match="not a number"):
        dataclasses.replace(get("R7"), expressions={"exponent_x": ell}).exponent("x")


def test_r8_limit_and_stationary_point():
    pred = get("R8").predict({}, digits=10)
    assert pred == {"decay_limit": 0, "stationary_orth_weight": 0}


def test_flow_expression_replaces_the_gd_factor():
    gd = get("R4").expressions["orth_grad_lower_bound"]
    flow = get("R4").flow_expression("orth_grad_lower_bound")
    values = {"d": 20, "ell": 5, "s_w": 1, "beta": 1, "S": 1, "lam": "0.1", "t": 3}
    flow_value = evaluate(flow, values, 30)
    gd_without_decay = evaluate(gd, {**values, "lam": 0, "eta": 1, "T": 0}, 30)
    with mpmath.workdps(30):
        assert abs(flow_value - gd_without_decay * mpmath.exp(mpmath.mpf("-0.3"))) < mpmath.mpf(10) ** -28


def test_array_evaluation_agrees_with_high_precision_at_every_point():
    # The float path (lambdified with regularized gammas) and the mpmath path give the same values, also
    # where a plain lambdify of Gamma(ell/2) would overflow (ell = 2000).
    import numpy as np

    values = {
        "d": 3000,
        "ell": np.array([3, 40, 2000]),
        "s_w": 1,
        "s_u": 1,
        "beta": 0.5,
        "m": 64,
        "eta": 0.1,
        "lam": 0.01,
        "T": 7,
    }
    arrays = get("R6").array("expected_lipschitz", values)
    for i, ell_value in enumerate(values["ell"]):
        point = {**values, "ell": int(ell_value), "beta": "0.5", "eta": "0.1", "lam": "0.01"}
        exact = float(get("R6").predict(point, names=["expected_lipschitz"])["expected_lipschitz"])
        assert arrays[i] == pytest.approx(exact, rel=1e-12)
    cdf = get("R3").array("chi_square_cdf", {"ell": 2000, "Q": np.array([1900.0, 2100.0])})
    assert np.all(np.isfinite(cdf)) and 0 < cdf[0] < 0.5 < cdf[1] < 1


def test_replaced_swaps_expressions_and_restores_the_registry():
    before = dict(results.RESULTS)
    with results.replaced("R3", degrees_of_freedom=ell + 1):
        assert results.chi_square_law("R3", {"ell": 25}).ell == 26
        with pytest.raises(KeyError, match="R3 has no expression 'nope'"), results.replaced("R3", nope=ell):
            pass
    assert results.RESULTS == before and results.chi_square_law("R3", {"ell": 25}).ell == 25
    with results.replaced(transform=lambda e: e * 2):
        assert get("R1").expressions["decay_gd"] == 2 * before["R1"].expressions["decay_gd"]
    assert results.RESULTS == before
