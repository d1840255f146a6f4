"""theory/decay.py: the GD and flow decay factors, and the rewrite of a GD expression for flow."""

from __future__ import annotations

import sympy as sp

from theory.decay import C_T, flow_decay_factor, gd_decay_factor, to_flow
from theory.symbols import S, T, d, ell, eta, lam, s_w, t


def test_gd_factor_is_one_without_decay_or_steps():
    assert gd_decay_factor().subs(lam, 0) == 1
    assert gd_decay_factor().subs(T, 0) == 1


def test_flow_is_the_small_step_limit_of_gd():
    # T = t/eta steps of size eta: (1 - eta*lam)^(t/eta) -> exp(-lam*t) as eta -> 0.
    h = sp.Symbol("h", positive=True)
    assert sp.limit(gd_decay_factor(h, lam, t / h), h, 0) == flow_decay_factor()


def test_to_flow_replaces_every_power_of_the_gd_factor():
    expr = sp.Abs(C_T) * s_w * sp.sqrt(S * ell / d) + C_T**2 / d
    flow = to_flow(expr)
    assert not flow.has(eta) and not flow.has(T)
    expected = sp.exp(-lam * t) * s_w * sp.sqrt(S * ell / d) + sp.exp(-2 * lam * t) / d
    assert sp.simplify(flow - expected) == 0


def test_to_flow_leaves_expressions_without_decay_alone():
    assert to_flow(s_w * sp.sqrt(ell / d)) == s_w * sp.sqrt(ell / d)
