"""The weight-decay factor c_T by which training multiplies the orthogonal part Pi w_i (R1, R3, R8).

Derived (docs/derivations.md, R1): the loss gradient has no component in P^perp, so with coupled weight
decay each GD step maps Pi w_i to (1 - eta*lam) Pi w_i, giving c_T = (1 - eta*lam)^T after T steps, and
gradient flow gives c(t) = exp(-lam*t). Without decay (lam = 0) both are 1. Heavy-ball momentum
(v <- mu v + grad + lam w, w <- w - eta v) moves the orthogonal part by a second-order linear recurrence,
p_{T+1} = (1 + mu - eta*lam) p_T - mu p_{T-1} with p_0 = 1, p_1 = 1 - eta*lam: `MOMENTUM_RECURRENCE` holds
its coefficients and `momentum_decay_factors` evaluates it.

The results of theory/results.py are written with the GD factor; `to_flow` rewrites any of them for
gradient flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mpmath
import sympy as sp

from theory.parameters import validate
from theory.precision import GUARD_DIGITS, evaluate
from theory.symbols import T, eta, lam, mu, t

__all__ = [
    "C_FLOW",
    "C_T",
    "flow_decay_factor",
    "gd_decay_factor",
    "momentum_decay_factors",
    "MOMENTUM_RECURRENCE",
    "to_flow",
]


def gd_decay_factor(eta_: sp.Expr = eta, lam_: sp.Expr = lam, steps: sp.Expr = T) -> sp.Expr:
    """c_T = (1 - eta*lam)^T, the factor on Pi w_i after T steps of GD, SGD or momentum with decay."""
    return (1 - eta_ * lam_) ** steps


def flow_decay_factor(lam_: sp.Expr = lam, time: sp.Expr = t) -> sp.Expr:
    """c(t) = exp(-lam*t), the factor on Pi w_i after gradient flow for time t with decay lam."""
    return sp.exp(-lam_ * time)


#: c_T for GD and c(t) for gradient flow, in the symbols of theory/symbols.py.
C_T = gd_decay_factor()
C_FLOW = flow_decay_factor()
#: Heavy ball: p_{T+1} = a1 p_T + a2 p_{T-1}, p_0 = 1, p_1 = first (selfchecks.momentum_recurrence derives
#: it).
MOMENTUM_RECURRENCE = {"a1": 1 + mu - eta * lam, "a2": -mu, "first": 1 - eta * lam}


def momentum_decay_factors(
    recurrence: Mapping[str, sp.Expr], values: Mapping[str, Any], steps: int, digits: int = 30
) -> list[mpmath.mpf]:
    """p_0, ..., p_steps of the heavy-ball recurrence with coefficients `recurrence` at exact `values`.

    The coefficients are evaluated to `digits` + guard digits and the recurrence is run at that
    precision; its characteristic roots have modulus below 1 for 0 <= mu < 1 and small eta*lam, so the
    rounding of each step is damped, not amplified.
    """
    validate(steps=steps, digits=digits)
    work = digits + GUARD_DIGITS
    a1, a2, first = (evaluate(recurrence[key], values, work) for key in ("a1", "a2", "first"))
    with mpmath.workdps(work):
        factors = [mpmath.mpf(1), +first]
        while len(factors) <= steps:
            factors.append(a1 * factors[-1] + a2 * factors[-2])
    with mpmath.workdps(digits):
        return [+p for p in factors[: steps + 1]]


def to_flow(expr: sp.Expr) -> sp.Expr:
    """`expr` with the GD factor (1 - eta*lam)^T replaced by the flow factor exp(-lam*t).

    SymPy stores c_T^j as (1 - eta*lam)^(j*T) and |c_T| as |eta*lam - 1|^T, so every power of either base
    whose exponent is a multiple j*T of T becomes exp(-j*lam*t).
    """
    bases = {1 - eta * lam, sp.Abs(1 - eta * lam)}

    def is_decay_power(e: sp.Basic) -> bool:
        return bool(e.is_Pow and e.base in bases)

    def flow_power(e: sp.Pow) -> sp.Expr:
        multiple = sp.simplify(e.exp / T)
        if multiple.has(T):
            raise ValueError(f"{e} is not a power of c_T = (1 - eta*lam)^T")
        return flow_decay_factor() ** multiple

    return expr.replace(is_decay_power, flow_power)
