"""theory/precision.py: exact inputs, evaluation to the digits asked, no float fallback, no leak."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import mpmath
import pytest
import sympy as sp

from theory import chi_square, precision
from theory.parameters import ParameterError
from theory.precision import PrecisionError, evaluate, to_exact
from theory.symbols import N0, ell, eta, lam, x


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.1", Fraction(1, 10)),
        ("1e-3", Fraction(1, 1000)),
        ("2/3", Fraction(2, 3)),
        ("1e3", 1000),
        (" 7 ", 7),
        (0.1, Fraction(1, 10)),  # a float is read as the decimal its author typed
        (Decimal("0.25"), Fraction(1, 4)),
        (sp.Rational(3, 7), Fraction(3, 7)),
        (sp.Integer(5), 5),
        (Fraction(5, 3), Fraction(5, 3)),
        (mpmath.mpf(0.5), Fraction(1, 2)),
    ],
)
def test_to_exact_reads_the_exact_value(value, expected):
    result = to_exact(value, "v")
    assert result == expected
    assert isinstance(result, int) == isinstance(expected, int)


@pytest.mark.parametrize("bad", ["abc", "", "1/0", "nan", "inf", True, None, [1]])
def test_to_exact_rejects_what_is_not_a_finite_number(bad):
    with pytest.raises(ParameterError, match="^eta="):
        to_exact(bad, "eta")


def test_decimal_strings_never_pass_through_float():
    # 0.1 + 0.2 - 0.3 is exactly 0 for decimal inputs, about 5.6e-17 through float64.
    value = evaluate(eta + lam - x, {"eta": "0.1", "lam": "0.2", "x": "0.3"}, digits=40)
    assert value == 0


def test_tail_at_ell_ten_thousand_is_correct_to_thirty_digits():
    at_30 = evaluate(chi_square.HALF_MEAN_EXACT, {"ell": 10_000}, digits=30)
    at_60 = evaluate(chi_square.HALF_MEAN_EXACT, {"ell": 10_000}, digits=60)
    with mpmath.workdps(80):
        assert abs(at_30 - at_60) <= abs(at_60) * mpmath.mpf(10) ** -30
    assert mpmath.nstr(at_30, 30) == mpmath.nstr(at_60, 30) == "4.35011546017430141038507898884e-422"


def test_chernoff_and_laurent_massart_values_at_ell_ten_thousand():
    chernoff = evaluate(chi_square.HALF_MEAN_CHERNOFF, {ell: 10_000}, digits=20)
    bound = evaluate(chi_square.HALF_MEAN_TAIL_BOUND, {ell: 10_000}, digits=20)
    assert mpmath.nstr(chernoff, 3) == "3.86e-420"
    assert mpmath.nstr(bound, 3) == "3.68e-272"
    # A different route to the same number: exp(ell/4) 2^(-ell/2) with integer powers.
    with mpmath.workdps(60):
        reference = mpmath.exp(2500) / mpmath.mpf(2) ** 5000
        assert abs(chernoff - reference) <= reference * mpmath.mpf(10) ** -20


def test_result_is_rounded_to_the_digits_asked():
    value = evaluate(sp.sqrt(2) + 0 * ell, {"ell": 1}, digits=10)
    with mpmath.workdps(10):
        assert value == +mpmath.sqrt(2)
    with mpmath.workdps(30):
        assert value != mpmath.sqrt(2)


def test_no_precision_leaks_out_of_evaluate():
    mpmath.mp.dps = 15
    evaluate(chi_square.HALF_MEAN_EXACT, {"ell": 100}, digits=200)
    assert mpmath.mp.dps == 15


def test_non_real_value_raises_instead_of_returning_a_complex():
    with pytest.raises(ValueError, match="not real"):
        evaluate(sp.sqrt(N0), {"N0": -1}, digits=10)


def test_missing_value_is_an_error():
    with pytest.raises(KeyError, match="no value given for ell"):
        evaluate(chi_square.HALF_MEAN_EXACT, {}, digits=10)


@pytest.mark.parametrize("digits", [0, -3, 2.5])
def test_digits_are_validated(digits):
    with pytest.raises(ParameterError, match="^digits="):
        evaluate(ell, {"ell": 1}, digits=digits)


def test_a_value_that_never_settles_raises(monkeypatch):
    # A "function" whose value depends on the working precision never agrees with itself: the
    # evaluator must refuse it rather than return one of the values.
    monkeypatch.setattr(
        precision, "mpmath_function", lambda expr, args: lambda *a: mpmath.mpf(mpmath.mp.prec)
    )
    with pytest.raises(PrecisionError):
        evaluate(ell, {"ell": 1}, digits=10)


def test_a_python_float_from_the_compiled_function_is_refused(monkeypatch):
    monkeypatch.setattr(precision, "mpmath_function", lambda expr, args: lambda *a: 0.5)
    with pytest.raises(TypeError, match="float"):
        evaluate(ell, {"ell": 1}, digits=10)
