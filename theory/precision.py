"""High-precision evaluation of the theory's SymPy expressions from exact inputs.

The bounds of Melamed, Yehudai & Vardi (NeurIPS 2023) reach far below float64 (the exact
P(chi2_ell <= ell/2) is 4.35e-422 at ell = 10^4), so nothing here ever passes through a float:
inputs become exact integers or fractions (decimal strings are read exactly, "0.1" is 1/10), the
expression is compiled once for mpmath, and it is evaluated inside a local `mpmath.workdps` context at
the requested digits plus guard digits. The evaluation is repeated with twice the guard digits until two
successive values agree to more than the requested digits; a value that never settles raises
`PrecisionError` instead of being returned.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from numbers import Integral, Rational
from typing import Any

import mpmath
import sympy as sp

from theory.parameters import ParameterError, validate
from theory.symbols import symbol

__all__ = [
    "evaluate",
    "Exact",
    "ExactFraction",
    "GUARD_DIGITS",
    "MAX_ATTEMPTS",
    "mpmath_function",
    "PrecisionError",
    "to_exact",
    "to_mpf",
]

#: Guard digits of the first evaluation; each retry doubles them.
GUARD_DIGITS = 15
#: How many times the guard is doubled before giving up (the last try uses 15 * 2^5 = 480 guard digits).
MAX_ATTEMPTS = 6


class ExactFraction(Fraction):
    """A Fraction that prints as 1/10 rather than Fraction(1, 10), so error messages read naturally."""

    def __repr__(self) -> str:
        return str(self)


Exact = int | Fraction


class PrecisionError(ArithmeticError):
    """An expression whose value did not settle to the requested digits as the precision was raised."""


def to_exact(value: Any, name: str = "value") -> Exact:
    """An exact int or Fraction equal to `value`, never rounded through a float.

    Integers (and strings or SymPy numbers that denote one) give an int; decimal or fraction strings
    ("0.1", "1e-3", "2/3"), `Fraction`, `Decimal` and SymPy rationals give the Fraction they denote.
    A Python float is read as its shortest decimal representation (0.1 -> 1/10), the value its author
    typed. An mpmath mpf gives its exact binary value. Anything else raises `ParameterError`.
    """
    if isinstance(value, bool):
        raise ParameterError(f"{name}={value!r} is invalid: expected a number, not a boolean")
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, sp.Integer):
        return int(value)
    if isinstance(value, sp.Rational):
        return ExactFraction(int(value.p), int(value.q))
    if isinstance(value, Rational):
        return ExactFraction(int(value.numerator), int(value.denominator))
    if isinstance(value, float):
        return _from_decimal_text(repr(value), name)
    if isinstance(value, Decimal):
        return _from_decimal_text(str(value), name)
    if isinstance(value, mpmath.mpf):
        if not mpmath.isfinite(value):
            raise ParameterError(f"{name}={value!r} is invalid: expected a finite number")
        man, exp = value.man_exp
        return ExactFraction(Fraction(int(man)) * Fraction(2) ** int(exp))
    if isinstance(value, str):
        return _from_decimal_text(value.strip(), name)
    raise ParameterError(f"{name}={value!r} is invalid: expected an integer, a fraction or a decimal string")


def _from_decimal_text(text: str, name: str) -> Exact:
    try:
        if "/" in text:
            parsed = Fraction(text)
        else:
            dec = Decimal(text)
            if not dec.is_finite():
                raise ParameterError(f"{name}={text!r} is invalid: expected a finite number")
            parsed = Fraction(dec)
    except (ValueError, ZeroDivisionError, InvalidOperation):
        raise ParameterError(f"{name}={text!r} is invalid: expected a number such as 3, 0.1 or 2/3") from None
    return int(parsed) if parsed.denominator == 1 else ExactFraction(parsed)


def to_mpf(value: Exact) -> mpmath.mpf:
    """`value` rounded once to the current mpmath precision (exact when it fits)."""
    if isinstance(value, int):
        return mpmath.mpf(value)
    raw = mpmath.libmp.from_rational(
        value.numerator, value.denominator, mpmath.mp.prec, mpmath.libmp.round_nearest
    )
    return mpmath.mp.make_mpf(raw)


@functools.lru_cache(maxsize=512)
def mpmath_function(expr: sp.Expr, args: tuple[sp.Symbol, ...]):
    """`expr` compiled (once, cached) into a function of `args` built from mpmath functions.

    Its constants (1/16, sqrt(e), ...) are evaluated at call time, so at the caller's precision.
    """
    return sp.lambdify(args, expr, modules="mpmath")


def evaluate(expr: sp.Expr | int, values: Mapping[str | sp.Symbol, Any], digits: int) -> mpmath.mpf:
    """The value of `expr` at exact `values`, correct to `digits` significant digits.

    Args:
        expr: a SymPy expression; every free symbol must have a value.
        values: symbol (or symbol name) -> exact value (int, Fraction, SymPy rational, decimal string).
        digits: significant decimal digits wanted (>= 1).

    Returns:
        An mpf rounded to `digits` digits. Raises `PrecisionError` if the value does not settle, and
        `ValueError` if it is not real.
    """
    validate(digits=digits)
    expr = sp.sympify(expr)
    by_symbol = {(key if isinstance(key, sp.Symbol) else symbol(key)): val for key, val in values.items()}
    args = tuple(sorted(expr.free_symbols, key=lambda s: s.name))
    missing = [s.name for s in args if s not in by_symbol]
    if missing:
        raise KeyError(f"no value given for {', '.join(missing)} in {expr}")
    exact = [to_exact(by_symbol[s], s.name) for s in args]
    function = mpmath_function(expr, args)
    previous = None
    for attempt in range(MAX_ATTEMPTS):
        with mpmath.workdps(digits + GUARD_DIGITS * 2**attempt):
            value = _real(function(*(to_mpf(v) for v in exact)), expr)
            if previous is not None and _agree(previous, value, digits):
                with mpmath.workdps(digits):
                    return +value
        previous = value
    raise PrecisionError(f"{expr} did not settle to {digits} digits at {dict(zip(args, exact, strict=True))}")


def _real(value: Any, expr: sp.Expr) -> mpmath.mpf:
    # A Python float here would mean the expression escaped mpmath: refuse it rather than lose digits.
    if isinstance(value, mpmath.mpf):
        if mpmath.isnan(value):
            raise ValueError(f"{expr} is undefined (nan) at these values")
        return value
    if isinstance(value, Integral) and not isinstance(value, bool):
        return mpmath.mpf(int(value))
    if isinstance(value, mpmath.mpc):
        raise ValueError(f"{expr} is not real at these values: {value}")
    raise TypeError(f"{expr} evaluated to {type(value).__name__}, not an mpmath number")


def _agree(a: mpmath.mpf, b: mpmath.mpf, digits: int) -> bool:
    """Whether a and b agree to two digits more than `digits` (equal infinities and zeros agree)."""
    if a == b:
        return True
    if not (mpmath.isfinite(a) and mpmath.isfinite(b)):
        return False
    return bool(abs(a - b) <= abs(b) * mpmath.mpf(10) ** (-(digits + 2)))
