"""theory/bounds.py: validation, exact inputs, and the monotonicity and scaling the theory predicts."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theory.bounds import DESCRIPTIONS, bounds_at
from theory.parameters import ParameterError

DIGITS = 20
# Values are correct to DIGITS digits, so identities hold to a relative 10^-(DIGITS - 2) after a few
# roundings; anything wrong in a formula is off by far more.
RTOL = mpmath.mpf(10) ** -(DIGITS - 2)
HYPOTHESIS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

sizes = st.integers(min_value=2, max_value=10**6)


@st.composite
def points(draw):
    """A valid (d, ell, m, k) with k >= 1, so that the orthogonal gradient is not identically 0."""
    d = draw(sizes)
    ell = draw(st.integers(1, d - 1))
    m = draw(st.integers(1, 10**5))
    k = draw(st.integers(1, m))
    return d, ell, m, k


def lower_bound(d, ell, m, k, **kw):
    return bounds_at(d, ell, m, k, digits=DIGITS, **kw)["orth_grad_lower_bound"]


def close(a, b):
    """Whether a and b agree to RTOL; compute any product passed in under `wide()` so it is not rounded."""
    with wide():
        return abs(a - b) <= RTOL * max(abs(a), abs(b))


def wide():
    """A precision wide enough that arithmetic on DIGITS-digit values in a test adds no rounding."""
    return mpmath.workdps(DIGITS + 10)


@HYPOTHESIS
@given(points())
def test_bound_grows_with_ell_and_k_and_falls_with_m_and_d(point):
    d, ell, m, k = point
    base = lower_bound(d, ell, m, k)
    if ell + 1 < d:
        assert lower_bound(d, ell + 1, m, k) > base
    if k + 1 <= m:
        assert lower_bound(d, ell, m, k + 1) > base
    assert lower_bound(d, ell, m + 1, k) < base
    assert lower_bound(d + 1, ell, m, k) < base


@HYPOTHESIS
@given(
    points(),
    st.fractions(min_value=Fraction(1, 1000), max_value=1000, max_denominator=1000),
    st.integers(2, 50),
)
def test_bound_is_linear_in_the_init_scale(point, scale, factor):
    d, ell, m, k = point
    base = lower_bound(d, ell, m, k, beta=scale)
    scaled = lower_bound(d, ell, m, k, beta=scale * factor)
    with wide():
        assert close(scaled, factor * base)


@HYPOTHESIS
@given(points())
def test_standard_case_is_sqrt_k_ell_over_2_m_d(point):
    d, ell, m, k = point
    bound = lower_bound(d, ell, m, k)
    with wide():
        assert close(bound, mpmath.sqrt(mpmath.mpf(k * ell) / (2 * m * d)))


@HYPOTHESIS
@given(st.integers(1, 5000))
def test_failure_probabilities_are_ordered_and_fall_with_ell(ell):
    here = bounds_at(ell + 1, ell, 4, 2, digits=DIGITS)
    there = bounds_at(ell + 2, ell + 1, 4, 2, digits=DIGITS)
    assert (
        here["failure_probability_exact"]
        < here["failure_probability_chernoff"]
        < here["failure_probability_bound"]
    )
    for key in ("failure_probability_exact", "failure_probability_chernoff", "failure_probability_bound"):
        assert there[key] < here[key]


def test_keys_and_order():
    values = bounds_at(1000, 900, 512, 256)
    assert list(values) == [
        "output_mass",
        "decay_factor",
        "orth_grad_variance_scale",
        "expected_orth_grad_norm_sq",
        "expected_orth_grad_norm",
        "orth_grad_lower_bound",
        "failure_probability_bound",
        "failure_probability_chernoff",
        "failure_probability_exact",
        "success_probability_exact",
        "expected_lipschitz",
    ]
    assert values["decay_factor"] == 1 and values["output_mass"] == 0.5
    assert set(DESCRIPTIONS) >= set(bounds_at(1000, 900, 512, 256, output_value=1))


def test_the_values_of_the_paper_notes_at_ell_ten_thousand():
    values = bounds_at(10_001, 10_000, 512, 256, digits=30)
    assert mpmath.nstr(values["failure_probability_exact"], 30) == "4.35011546017430141038507898884e-422"
    assert mpmath.nstr(values["failure_probability_chernoff"], 3) == "3.86e-420"
    assert mpmath.nstr(values["failure_probability_bound"], 3) == "3.68e-272"


def test_flip_distance_times_bound_is_the_output():
    values = bounds_at(
        300,
        200,
        64,
        20,
        beta="0.3",
        lr="0.05",
        weight_decay="0.1",
        steps=40,
        output_value="-1.7",
        digits=DIGITS,
    )
    with wide():
        assert close(values["flip_distance_bound"] * values["orth_grad_lower_bound"], mpmath.mpf("1.7"))
        assert close(
            values["certified_radius_at_expected_lipschitz"] * values["expected_lipschitz"], mpmath.mpf("1.7")
        )


def test_decimal_inputs_are_exact_and_floats_read_as_decimals():
    from_text = bounds_at(100, 50, 10, 5, lr="0.1", weight_decay="0.01", steps=1000, digits=40)[
        "decay_factor"
    ]
    from_float = bounds_at(100, 50, 10, 5, lr=0.1, weight_decay=0.01, steps=1000, digits=40)["decay_factor"]
    with mpmath.workdps(60):
        exact = (1 - mpmath.mpf(1) / 1000) ** 1000
        assert abs(from_text - exact) <= exact * mpmath.mpf(10) ** -40
    assert from_text == from_float


def test_gradient_flow_decay():
    values = bounds_at(100, 50, 10, 5, weight_decay="0.01", flow_time=100, digits=DIGITS)
    plain = bounds_at(100, 50, 10, 5, digits=DIGITS)
    with wide():
        assert close(values["decay_factor"], mpmath.exp(-1))
        assert close(values["orth_grad_lower_bound"], plain["orth_grad_lower_bound"] * mpmath.exp(-1))


def test_no_active_neuron_means_no_orthogonal_gradient_and_no_flip():
    values = bounds_at(100, 50, 10, 0, output_value=1)
    assert values["orth_grad_lower_bound"] == 0 and values["flip_distance_bound"] == mpmath.inf
    assert bounds_at(100, 50, 10, 0, output_value=0)["flip_distance_bound"] == 0


def test_digits_are_honored():
    coarse = bounds_at(1000, 900, 512, 256, digits=12)["expected_orth_grad_norm"]
    fine = bounds_at(1000, 900, 512, 256, digits=50)["expected_orth_grad_norm"]
    assert mpmath.nstr(coarse, 12) == mpmath.nstr(fine, 12)
    with mpmath.workdps(60):
        assert coarse != fine and abs(coarse - fine) <= abs(fine) * mpmath.mpf(10) ** -12


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ell": 10}, r"^ell=10 is invalid: .*< d=10"),
        ({"ell": 11}, r"^ell=11 is invalid"),
        ({"k": 6}, r"^k=6 is invalid: .*<= m=5"),
        ({"beta": "-1"}, r"^beta=-1 is invalid"),
        ({"beta": 0}, r"^beta=0 is invalid"),
        ({"s_u": "-0.5"}, r"^s_u=-1/2 is invalid"),
        ({"digits": 0}, r"^digits=0 is invalid"),
        ({"d": 10.0}, r"^d=10.0 is invalid: expected an integer"),
        ({"d": "ten"}, r"^d='ten' is invalid"),
        ({"lr": "0.1"}, r"^steps=None is invalid"),
        ({"steps": 3}, r"^lr=None is invalid"),
        ({"weight_decay": "0.1"}, r"^weight_decay=1/10 is invalid: weight decay needs"),
        ({"lr": 1, "steps": 2, "flow_time": 3}, r"^flow_time=3 is invalid"),
        ({"lr": -1, "steps": 2}, r"^lr=-1 is invalid"),
    ],
)
def test_invalid_points_raise_a_parameter_error_naming_the_parameter(kwargs, message):
    point = {"d": 10, "ell": 5, "m": 5, "k": 2}
    sizes = {key: kwargs.pop(key) for key in list(kwargs) if key in point}
    with pytest.raises(ParameterError, match=message):
        bounds_at(**{**point, **sizes}, **kwargs)


def test_the_former_names_are_accepted_with_a_warning_naming_the_new_one():
    new = bounds_at(100, 50, 10, 5, beta="0.3", lr="0.1", weight_decay="0.01", steps=10)
    with pytest.warns(FutureWarning, match="init_scale is now called beta"):
        old = bounds_at(100, 50, 10, 5, init_scale="0.3", lr="0.1", weight_decay="0.01", steps=10)
    assert old == new
    with pytest.raises(ParameterError, match="eta=.* give lr only"):
        bounds_at(100, 50, 10, 5, eta="0.1", lr="0.1", steps=10)
