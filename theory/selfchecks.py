"""Symbolic self-checks of the facts the results rest on, each able to fail.

Each check is a function returning a `SelfCheck`. It reads the closed forms from the registry of
theory/results.py at call time, so a deliberately wrong theory (`theory.results.replaced`) makes it fail;
the derivations are in docs/derivations.md.

- (a) Laurent-Massart's lower threshold ell - 2 sqrt(ell x) is R4's event threshold ell/2 at x = ell/16.
- (b) The Chernoff bound (sqrt(e)/2)^{ell/2} is below e^{-ell/16} for every ell >= 1: the log of their
  ratio is ell times a constant whose sign SymPy decides (no sampling of ell).
- (c) a_{T+1} = (1 - eta*lam) a_T solves to a_0 c_T (rsolve) and a' = -lam a to a_0 e^{-lam t} (dsolve).
- (d) For a symbolic two-neuron network on R^3 with data in a plane, dL/dw_i has no component along the
  normal of the plane (R1).
- (e) The exact P(chi2_ell <= ell/2) lies below both bounds for ell = 1..10^4, at 50 digits.
- (f) One GD step with weight decay multiplies the normal component of w_i by exactly (1 - eta*lam), so at
  a stationary point with lam > 0 that component is 0 (R1, R8).
- (g) R4 and R5 are consistent with R3 and the threshold: the bound is R3's ||g|| at Q = ell/2, the exact
  failure probability is R3's CDF there, the Laurent-Massart probability is e^{-x} at x = ell/16, and
  R5's flip bound is |N(x0)| over R4's bound.
- (h) Heavy-ball momentum on an orthogonal coordinate (zero loss gradient) follows R1's second-order
  recurrence p_{T+1} = (1 + mu - eta lam) p_T - mu p_{T-1}, p_1 = 1 - eta lam.
- (i) R3's chi-square law is one law: its CDF and survival function differentiate to its density, the
  density integrates to 1, and its mean, variance and E[chi] are the density's moments.

(d) and (f), on a symbolic network, are in `theory.network_selfchecks`; the verdict type `SelfCheck` is in
`theory.selfcheck_record`; `ALL_SELFCHECKS` lists them all.
"""

from __future__ import annotations

from collections.abc import Iterable

import mpmath
import sympy as sp

from theory import chi_square
from theory.network_selfchecks import gradient_in_data_span, weight_decay_step
from theory.parameters import validate
from theory.precision import GUARD_DIGITS, mpmath_function
from theory.results import get
from theory.selfcheck_record import SelfCheck
from theory.symbols import N0, Q, T, ell, eta, g_norm, lam, mu, t, x

__all__ = [
    "ALL_SELFCHECKS",
    "chernoff_below_laurent_massart",
    "chi_square_law_is_one_law",
    "decay_recurrence",
    "exact_tail_below_bounds",
    "lower_threshold_at_half_mean",
    "momentum_recurrence",
    "r4_consistent_with_r3",
    "run_all",
]


def _zero(expr: sp.Expr) -> bool:
    return sp.simplify(expr) == 0


def lower_threshold_at_half_mean() -> SelfCheck:
    """(a) R4's lower_tail_threshold at x = tail_parameter simplifies to R4's event_threshold (ell/2)."""
    r4 = get("R4").expressions
    at = sp.simplify(r4["lower_tail_threshold"].subs(x, r4["tail_parameter"]))
    residual = sp.simplify(at - r4["event_threshold"])
    return SelfCheck(
        id="a",
        claim="the Laurent-Massart lower threshold ell - 2 sqrt(ell x) equals ell/2 at x = ell/16",
        passed=residual == 0 and sp.simplify(r4["event_threshold"] - ell / 2) == 0,
        detail=f"threshold at x = {r4['tail_parameter']} simplifies to {at}; minus R4's event threshold "
        f"{r4['event_threshold']} leaves {residual}",
        numbers={"threshold": str(at), "residual": str(residual)},
    )


def chernoff_below_laurent_massart() -> SelfCheck:
    """(b) (sqrt(e)/2)^{ell/2} <= e^{-ell/16} for every ell >= 1.

    log(chernoff/bound) = ell * c with c free of ell, and c < 0, so the ratio e^{ell c} is below 1 for every
    ell > 0. The sign of c is decided by SymPy's `is_negative` (evaluation with error control), not by
    trying values of ell.
    """
    r4 = get("R4").expressions
    chernoff, bound = r4["failure_probability_chernoff"], r4["failure_probability_bound"]
    log_ratio = sp.expand_log(sp.log(chernoff / bound), force=True)  # force: ell > 0, both sides > 0
    constant = sp.simplify(log_ratio / ell)
    linear = not constant.free_symbols
    negative = constant.is_negative if linear else None
    if not linear:
        detail = f"log(chernoff/bound) = {sp.simplify(log_ratio)} is not ell times a constant"
    elif negative is None:
        detail = f"SymPy could not decide the sign of {constant}"
    else:
        detail = f"log(chernoff/bound) = ell*({constant}) and {constant} is {'<' if negative else '>='} 0"
    numbers = {"constant": str(constant)}
    if linear:
        numbers["constant_value"] = str(sp.N(constant, 15))
    return SelfCheck(
        id="b",
        claim="the Chernoff bound (sqrt(e)/2)^(ell/2) is below exp(-ell/16) for every ell >= 1",
        passed=bool(linear and negative),
        detail=detail,
        numbers=numbers,
    )


def decay_recurrence() -> SelfCheck:
    """(c) rsolve(a_{T+1} = (1 - eta lam) a_T) = a_0 c_T and dsolve(a' = -lam a) = a_0 e^{-lam t} (R1)."""
    r1 = get("R1").expressions
    a, a0 = sp.Function("a"), sp.Symbol("a0", real=True)
    gd = sp.rsolve(a(T + 1) - (1 - eta * lam) * a(T), a(T), {a(0): a0})
    flow = sp.dsolve(sp.Eq(a(t).diff(t), -lam * a(t)), a(t), ics={a(0): a0}).rhs
    gd_residual = sp.simplify(gd - a0 * r1["decay_gd"])
    flow_residual = sp.simplify(flow - a0 * r1["decay_flow"])
    return SelfCheck(
        id="c",
        claim="Pi w_i(T) = (1 - eta*lam)^T Pi w_i(0) under GD and exp(-lam*t) Pi w_i(0) under gradient flow",
        passed=gd_residual == 0 and flow_residual == 0,
        detail=f"rsolve gives {gd} (residual {gd_residual}); dsolve gives {flow} (residual {flow_residual})",
        numbers={
            "rsolve": str(gd),
            "dsolve": str(flow),
            "gd_residual": str(gd_residual),
            "flow_residual": str(flow_residual),
        },
    )


def exact_tail_below_bounds(
    ells: Iterable[int] = range(1, 10001), digits: int = 50, route: str = "series"
) -> SelfCheck:
    """(e) P(chi2_ell <= ell/2) <= (sqrt(e)/2)^{ell/2} and <= e^{-ell/16} for every ell in `ells`.

    Evaluated at `digits` digits (plus guard digits): the values reach 1e-422 at ell = 10^4. The exact
    tail comes from `chi_square.half_mean_tail_series` (route "series": fixed-point Kummer series, fast,
    and a route independent of gammainc) or from R4's `failure_probability_exact` (route "registry").
    """
    validate(digits=digits)
    if route not in ("series", "registry"):
        raise ValueError(f"route={route!r} is invalid: expected 'series' or 'registry'")
    ells = list(ells)
    for value in ells:
        validate(ell=value)
    r4 = get("R4").expressions
    chernoff_at, bound_at = (
        mpmath_function(r4[k], (ell,)) for k in ("failure_probability_chernoff", "failure_probability_bound")
    )
    exact_at = mpmath_function(r4["failure_probability_exact"], (ell,)) if route == "registry" else None
    ratios_chernoff, ratios_bound = [], []
    for value in ells:
        with mpmath.workdps(digits + GUARD_DIGITS):
            n = mpmath.mpf(value)
            p = chi_square.half_mean_tail_series(value, digits) if exact_at is None else exact_at(n)
            ratios_chernoff.append(p / chernoff_at(n))
            ratios_bound.append(p / bound_at(n))
    numbers: dict[str, str] = {"ells": f"{ells[0]}..{ells[-1]} ({len(ells)} values)", "digits": str(digits)}
    for label, ratios in (("exact/chernoff", ratios_chernoff), ("exact/exp(-ell/16)", ratios_bound)):
        low = min(range(len(ells)), key=ratios.__getitem__)
        high = max(range(len(ells)), key=ratios.__getitem__)
        numbers[f"min {label}"] = f"{mpmath.nstr(ratios[low], 6)} at ell={ells[low]}"
        numbers[f"max {label}"] = f"{mpmath.nstr(ratios[high], 6)} at ell={ells[high]}"
    below = [
        value for value, rc, rb in zip(ells, ratios_chernoff, ratios_bound, strict=True) if rc > 1 or rb > 1
    ]
    return SelfCheck(
        id="e",
        claim="the exact P(chi2_ell <= ell/2) is below the Chernoff and Laurent-Massart bounds for every ell",
        passed=not below,
        detail="every ell satisfies both bounds"
        if not below
        else f"{len(below)} values of ell violate a bound, the first ell={below[0]}",
        numbers=numbers,
    )


def r4_consistent_with_r3() -> SelfCheck:
    """(g) R4's bound, R4's probabilities and R5's bound are R3's quantities at R4's event threshold."""
    r3, r4, r5 = (get(k).expressions for k in ("R3", "R4", "R5"))
    threshold = r4["event_threshold"]
    dof = r3["degrees_of_freedom"]
    residuals = {
        "bound^2/variance - threshold": r4["orth_grad_lower_bound"] ** 2 / r3["variance_scale"] - threshold,
        "exact - R3 CDF at threshold": r4["failure_probability_exact"]
        - r3["chi_square_cdf"].subs(Q, threshold).subs(ell, dof),
        "LM bound - exp(-tail parameter)": r4["failure_probability_bound"] - sp.exp(-r4["tail_parameter"]),
        "R5 bound - |N0|/R4 bound": r5["flip_distance_bound"] - sp.Abs(N0) / r4["orth_grad_lower_bound"],
        "R5 flip distance - |N0|/||g||": r5["flip_distance"] - sp.Abs(N0) / g_norm,
    }
    # Written in c = 1 - eta lam (real, nonzero), SymPy sees that |c|^(2T) = c^(2T) for integer T.
    c = sp.Symbol("c", real=True, nonzero=True)
    left = {name: sp.simplify(value.subs(lam, (1 - c) / eta)) for name, value in residuals.items()}
    return SelfCheck(
        id="g",
        claim="R4's bound and probabilities and R5's flip bound are R3's ||g||, CDF and t* at Q = ell/2",
        passed=all(v == 0 for v in left.values()),
        detail="; ".join(f"{name}: {value}" for name, value in left.items()),
        numbers={name: str(value) for name, value in left.items()},
    )


def momentum_recurrence() -> SelfCheck:
    """(h) v' = mu v + lam p, p' = p - eta v' (zero loss gradient) gives R1's momentum recurrence."""
    r1 = get("R1").expressions
    a1, a2, first = (r1[f"momentum_{k}"] for k in ("a1", "a2", "first"))
    p_prev, v_prev = sp.symbols("p_prev v_prev", real=True)

    def step(p: sp.Expr, v: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
        v_next = mu * v + lam * p
        return p - eta * v_next, v_next

    p_now, v_now = step(p_prev, v_prev)
    p_next, _ = step(p_now, v_now)
    p1, _ = step(sp.Integer(1), sp.Integer(0))
    general = sp.expand(p_next - (a1 * p_now + a2 * p_prev))
    start = sp.expand(p1 - first)
    return SelfCheck(
        id="h",
        claim="heavy-ball momentum moves the orthogonal part by "
        "p_{T+1} = (1 + mu - eta*lam) p_T - mu p_{T-1}",
        passed=general == 0 and start == 0,
        detail=f"p_(T+1) - (a1 p_T + a2 p_(T-1)) expands to {general}; p_1 - first expands to {start}",
        numbers={"recurrence_residual": str(general), "first_step_residual": str(start)},
    )


def chi_square_law_is_one_law() -> SelfCheck:
    """(i) R3's CDF, survival, density, mean, variance and E[chi] describe one law (integration by SymPy)."""
    r3 = get("R3").expressions
    density = r3["chi_square_density"]
    cases = {
        "d CDF/dQ - density": sp.diff(r3["chi_square_cdf"], Q) - density,
        "d survival/dQ + density": sp.diff(r3["chi_square_survival"], Q) + density,
        "CDF at 0": r3["chi_square_cdf"].subs(Q, 0),
        "survival at 0 - 1": r3["chi_square_survival"].subs(Q, 0) - 1,
        "total mass - 1": sp.integrate(density, (Q, 0, sp.oo)) - 1,
        "mean - first moment": r3["chi_square_mean"] - sp.integrate(Q * density, (Q, 0, sp.oo)),
        "variance - second central moment": r3["chi_square_variance"]
        - (sp.integrate(Q**2 * density, (Q, 0, sp.oo)) - r3["chi_square_mean"] ** 2),
        "E chi - half moment": r3["chi_mean"] - sp.integrate(sp.sqrt(Q) * density, (Q, 0, sp.oo)),
    }
    left = {name: sp.simplify(value) for name, value in cases.items()}
    return SelfCheck(
        id="i",
        claim="R3's chi-square CDF, survival, density, mean, variance and E[chi] are one law",
        passed=all(v == 0 for v in left.values()),
        detail="; ".join(f"{name}: {value}" for name, value in left.items()),
        numbers={name: str(value) for name, value in left.items()},
    )


#: Every self-check.
ALL_SELFCHECKS = (
    lower_threshold_at_half_mean,
    chernoff_below_laurent_massart,
    decay_recurrence,
    gradient_in_data_span,
    exact_tail_below_bounds,
    weight_decay_step,
    r4_consistent_with_r3,
    momentum_recurrence,
    chi_square_law_is_one_law,
)


def run_all() -> list[SelfCheck]:
    """Run every self-check on the current registry."""
    return [check() for check in ALL_SELFCHECKS]
