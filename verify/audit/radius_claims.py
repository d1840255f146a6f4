"""The audit's claims on flips and certificates: R5 (the gradient step |N(x0)|/||g|| flips the label)
and R6 (certified <= r_perp <= every orthogonal flip found), each a plan or the reason it is not decided.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from numerics.attacks import check_sandwich
from numerics.exact_radius import EXACT_RTOL
from verify.audit.context import Audit, Plan, audit_plan
from verify.audit.gradient_claims import theory_rates
from verify.checks.r5_flip import FLIP_RTOL
from verify.checks.r6_sandwich import IDENTITY_RTOL, SANDWICH_RTOL
from verify.claim import Column, Outcome, table
from verify.statistics import Verdict, binomial_two_sided_test, binomial_upper_test
from verify.tolerance import compare, threshold

__all__ = ["flip", "sandwich"]


def flip(a: Audit) -> Plan | str:
    """audit.R5: the walked flip = t* where t* comes first, every flip verified; with --init, R5's bound."""
    M, ok, with_init = a.M, a.ok, a.with_init
    first = M.first_segment
    if not first.any() and not with_init:
        return (
            "no point has t* = |N(x0)|/||g|| before its first breakpoint, and without --init R5's bound has "
            "no s_w"
        )
    walked, theory_flip = M.gradient_flip, a.point_values["flip_distance"]
    found = np.isfinite(walked)
    tests = 2 if with_init else 0

    def rule(rate: float | None) -> Outcome:
        verdicts: list[Verdict] = []
        if first.any():  # with no t* before its first breakpoint there is nothing to compare: left out
            what = "walked flip = R5 flip_distance where t* precedes the first breakpoint"
            verdicts.append(compare(walked[first], theory_flip[first], rtol=FLIP_RTOL, what=what))
        unverified = int((found & ~M.gradient_flip_verified).sum())
        what = "flips found but not verified by a forward pass"
        verdicts.append(threshold(what, unverified, "<=", 0, n=int(found.sum())))
        rows: list[dict[str, Any]] = [
            {
                "quantity": "points with t* before the first breakpoint",
                "count": int(first.sum()),
                "of": first.size,
            }
        ]
        if with_init:
            assert rate is not None
            rates = theory_rates(a)
            over = int((M.t_star[ok, 0] > a.point_values["flip_distance_bound"][ok, 0]).sum())
            n = int(ok.sum())
            verdicts += [
                binomial_upper_test(
                    over,
                    n,
                    rates["failure_probability_bound"],
                    alpha=rate,
                    name="t* > R5 bound (vs exp(-ell/16))",
                ),
                binomial_two_sided_test(
                    over,
                    n,
                    float(rates["failure_probability_exact"]),
                    alpha=rate,
                    name="t* > R5 bound (vs exact)",
                ),
            ]
            rows.append({"quantity": "networks with t* > R5 bound (first x0)", "count": over, "of": n})
        bound = "; P(t* > R5.flip_distance_bound) <= R4.failure_probability_bound and = _exact"
        return Outcome(
            verdicts=tuple(verdicts),
            prediction="walked flip = R5.flip_distance (|N(x0)|/||g||) where t* precedes the first breakpoint"
            + (bound if with_init else ""),
            method="The flip along -sign(N(x0)) g/||g|| is found by walking the activation breakpoints and "
            f"confirmed by a forward pass; where t* comes first it must equal t* to relative {FLIP_RTOL:g}."
            + (a.outside_note() if with_init else ""),
            tables=(table("R5 on your networks", ["quantity", ("count", "d"), ("of", "d")], rows),),
        )

    statement = (
        "The label flips at t* = |N(x0)|/||g|| along -sign(N(x0)) g where t* precedes the first breakpoint"
        + (", and t* exceeds R5's bound with probability at most exp(-ell/16)." if with_init else ".")
    )
    results = ("R5", "R4") if with_init else ("R5",)
    return audit_plan(
        "audit.R5", "flip at t* = |N(x0)|/||g||, below the R5 bound", statement, results, tests, rule
    )


def sandwich(a: Audit) -> Plan | str:
    """audit.R6: R6's radius = the measured certificate and <= every flip (the claim's verdicts); the tight
    certificate <= every flip, and <= r_perp <= the attack (SandwichViolation otherwise: our bug)."""
    M = a.M
    theory_radius = a.point_values["certified_R6"]

    def rule(rate: float | None) -> Outcome:
        identity = compare(
            M.certified_global, theory_radius, rtol=IDENTITY_RTOL, what="certificate = R6.certified_radius"
        )
        worst_flip, tight_flip = 0.0, 0.0
        for flips in (M.radii["orthogonal"], M.gradient_flip):
            has = np.isfinite(flips)
            if has.any():
                ratio = np.nan_to_num(theory_radius[has] / flips[has], nan=np.inf)
                worst_flip = max(worst_flip, float(np.max(ratio)))
                tight = torch.from_numpy(M.certified_tight[has])
                tight_flip = max(
                    tight_flip, check_sandwich(tight, torch.from_numpy(flips[has]), rtol=SANDWICH_RTOL)
                )
        attack = M.radii["orthogonal"]
        has = np.isfinite(attack)
        verdicts: list[Verdict] = [
            identity,
            threshold("max R6 certified/flip radius", worst_flip, "<=", 1 + SANDWICH_RTOL, n=int(has.sum())),
        ]
        solved = np.isfinite(M.exact) & has
        if solved.any():
            exact = torch.from_numpy(M.exact[solved])
            check_sandwich(torch.from_numpy(M.certified_tight[solved]), exact, rtol=EXACT_RTOL)
            check_sandwich(exact, torch.from_numpy(attack[solved]), rtol=EXACT_RTOL)
            ratio_exact = float(np.max(theory_radius[solved] / M.exact[solved]))
            verdicts.append(
                threshold("max R6 certified/exact", ratio_exact, "<=", 1 + EXACT_RTOL, n=int(solved.sum()))
            )

        def median_over_attack(x: np.ndarray) -> float | None:
            return float(np.median(x[has] / attack[has])) if has.any() else None

        row = {
            "median R6/attack": median_over_attack(theory_radius),
            "median tight/attack": median_over_attack(M.certified_tight),
            "max tight/flip": tight_flip,
            "exact points": int(solved.sum()),
        }
        columns: list[Column | tuple[str, str] | str] = [
            ("median R6/attack", ".4f"),
            ("median tight/attack", ".4f"),
            ("max tight/flip", ".4f"),
        ]
        return Outcome(
            verdicts=tuple(verdicts),
            prediction="R6.certified_radius = |N(x0)|/L <= r_perp(x0) <= every orthogonal flip found",
            method="L = sum_i |u_i| ||Pi w_i|| from the final weights; the tight certificate "
            "(numerics.certificates) is computed without any attack radius. R6 above a flip fails the claim; "
            "the tight certificate above a flip, or r_perp outside [tight, attack], is an internal error "
            "(exit 3). R6's Lipschitz bound needs no hypothesis on the data.",
            tables=(table("The sandwich", [*columns, ("exact points", "d")], [row]),),
        )

    statement = (
        "R6's |N(x0)|/L and the tight certificate never exceed the radius of any orthogonal flip found "
        "(nor r_perp where computed)."
    )
    return audit_plan("audit.R6", "certified <= r_perp <= every orthogonal flip", statement, ("R6",), 0, rule)
