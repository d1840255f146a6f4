"""The audit's claims on the weights and the orthogonal gradient: R1 (Pi W(T) = c_T Pi W(0)), R3 (the law
of Q) and R4 (||g|| above its bound), each a plan or the reason it is not decided.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from theory.results import chi_square_law, get
from verify.audit.context import Audit, Plan, audit_plan
from verify.audit.loading import LoadedNetwork
from verify.audit.uniform_note import uniform_note
from verify.checks.helpers.chi_square_law import TESTS_PER_LAW, law_verdicts
from verify.checks.helpers.invariance_rule import read_off_allowance, read_off_decay, relative_defect
from verify.claim import Column, Outcome, table
from verify.design import chi_square_detections
from verify.experiments.population import OrthogonalWeights
from verify.statistics import Verdict, binomial_two_sided_test, binomial_upper_test
from verify.tolerance import compare, float64_rounding_budget, threshold

__all__ = ["chi_square", "invariance", "lower_bound", "theory_rates"]


def _dtype_budget(steps: int, n: int, d: int, dtype: str) -> float | None:
    """R1's budget gamma_N, N = T (n + d), at the unit roundoff of the weights' dtype: gamma_N at eps_32 is
    gamma_{N eps_32/eps_64} at float64's (the same n u), so `float64_rounding_budget` serves both. None
    where the dtype is so coarse that the budget reaches the weights' own size (float16, bfloat16 over long
    runs)."""
    try:
        eps = torch.finfo(getattr(torch, dtype)).eps
    except (AttributeError, TypeError):
        eps = torch.finfo(torch.float64).eps
    ops = max(1, int(steps * (n + d) * (eps / torch.finfo(torch.float64).eps)))
    if ops * torch.finfo(torch.float64).eps / 2 >= 0.5:
        return None
    budget = float64_rounding_budget(ops)
    return budget if budget < 1 else None


def _orthogonal_weights(a: Audit) -> OrthogonalWeights:
    """Pi W(0), Pi W(T) in a basis of P^perp, (R, m, ell), narrower networks padded with zero rows."""
    assert a.init is not None
    C = a.P.subspace.complement_basis().numpy()
    m = max(net.m for net in a.final)

    def padded(nets: list[LoadedNetwork]) -> np.ndarray:
        out = np.zeros((len(nets), m, a.P.d))
        for r, net in enumerate(nets):
            out[r, : net.m] = net.W
        return out

    W_T, W_0 = padded(a.final), padded(a.init)
    scale = np.maximum(np.linalg.norm(W_T, axis=-1), np.linalg.norm(W_0, axis=-1)).max(axis=-1)
    return OrthogonalWeights(initial=W_0 @ C, final=W_T @ C, scale=scale)


def invariance(a: Audit) -> Plan | str:
    """audit.R1: the defect within the rounding budget; the read-off factor = c_T where a decay is stated."""
    if a.init is None:
        return "needs the initial weights (--init)"
    weights = _orthogonal_weights(a)
    read = read_off_decay(weights)
    c_T = float(get("R1").array("decay_gd", a.values)) if a.settings.decay_stated else 1.0
    defect = relative_defect(weights, c_T)
    a.network_values |= {"read_off_factor": read, "invariance_defect": defect}
    if a.settings.steps is None:
        return (
            "needs the number of steps (--steps T) for its float64/float32 rounding budget gamma_{T(n+d)}; "
            f"read-off factors {np.min(read):.6g}..{np.max(read):.6g}, max relative defect "
            f"{np.max(defect):.3g}"
        )
    dtype = a.final[0].dtype
    budget = _dtype_budget(a.settings.steps, a.settings.n, a.P.d, dtype)
    if budget is None:
        return (
            f"the weights are stored as {dtype}: its rounding budget over T(n+d) operations reaches the "
            "weights' own size, so R1 cannot be told from rounding"
        )

    def rule(rate: float | None) -> Outcome:
        assert budget is not None
        verdicts: list[Verdict] = [
            threshold("max R1 defect / budget", float(defect.max()) / budget, "<=", 1.0, n=len(defect))
        ]
        if a.settings.decay_stated:
            allowance = float(read_off_allowance(weights, budget).min())
            verdicts.append(compare(read, c_T, rtol=0.0, atol=allowance, what="read-off factor = R1's c_T"))
        rows = [
            {"network": net.source, "read-off factor": float(f), "max relative defect": float(e)}
            | {"budget": budget, "within budget": e <= budget}
            for net, f, e in zip(a.final, read, defect, strict=True)
        ]
        columns: list[Column | tuple[str, str] | str] = [
            "network",
            ("read-off factor", ".12g"),
            ("max relative defect", ".2e"),
            ("budget", ".1e"),
        ]
        return Outcome(
            verdicts=tuple(verdicts),
            prediction=f"Pi W(T) = c_T Pi W(0) with R1.decay_gd c_T = {c_T:.12g}"
            + ("" if a.settings.decay_stated else " (no weight decay stated: c_T = 1)"),
            method="Pi W in a basis of P^perp for the final and the initial weights of each network; the "
            "defect max_i ||Pi w_i(T) - c_T Pi w_i(0)|| / max_i ||w_i|| against gamma_{T(n+d)} at the "
            f"weights' dtype ({dtype}), a worst-case rounding bound. R1 holds for any update built from loss "
            "gradients (SGD, momentum, coupled weight decay); Adam with a rotated P, or data not in P, break "
            "it." + a.outside_note(),
            tables=(table("R1 per network", [*columns, "within budget"], rows),),
        )

    statement = "Training left the weights' component orthogonal to the data unchanged up to R1's c_T."
    return audit_plan("audit.R1", "Pi w_i(T) = c_T Pi w_i(0) on your networks", statement, ("R1",), 0, rule)


def chi_square(a: Audit) -> Plan | str:
    """audit.R3: Q at one x0 per network against chi2_ell, by KS and the exact mean test."""
    if a.init is None:
        return "needs the initial weights (--init) for s_w"
    if int(a.ok.sum()) < 2:
        return "needs several networks with an active neuron at x0 (a law over networks)"
    gaussian = a.gaussian
    assert gaussian is not None
    M, ok, P = a.M, a.ok, a.P
    Q = np.full(len(a.final), np.nan)
    Q[ok] = get("R3").array(
        "chi_square_statistic", a.values | {"g_norm": M.orthogonal_gradient_norm[ok, 0], "S": M.S[ok, 0]}
    )
    a.network_values["Q"] = Q

    def rule(rate: float | None) -> Outcome:
        assert rate is not None
        ks, mean = law_verdicts(Q[ok], chi_square_law("R3", {"ell": P.ell}), rate)
        scale_error = math.sqrt(2 / gaussian.n)  # relative sd of s_w^2 from n Gaussian entries
        notes = list(a.outside)
        if not gaussian.passed:
            notes.append("the initial weights are not Gaussian (" + gaussian.summary() + ")")
        columns: list[Column | tuple[str, str] | str] = [
            ("networks", "d"),
            ("ell", "d"),
            ("mean Q", ".4g"),
            ("KS D", ".4f"),
            ("KS p", ".3g"),
        ]
        row = {"networks": int(ok.sum()), "ell": P.ell, "mean Q": float(np.mean(Q[ok]))}
        row |= {"KS D": ks.statistic, "KS p": ks.p_value, "mean p": mean.p_value}
        return Outcome(
            verdicts=(ks, mean),
            reported=(gaussian,),
            detections=tuple(chi_square_detections(P.ell, P.d, int(ok.sum()), rate, "your networks")),
            prediction="Q = R3.chi_square_statistic (d ||g||^2 / (c_T^2 s_w^2 S)) ~ chi2 with "
            f"R3.degrees_of_freedom = {P.ell} degrees of freedom, one x0 per network",
            method=f"{int(ok.sum())} networks, Q at the first point with s_w = {a.s_w:.6g} estimated from "
            f"{gaussian.n} initial entries (relative standard error of s_w^2 about {scale_error:.1g} for "
            f"Gaussian entries, {'below' if scale_error < mean.detectable else 'NOT below'} the relative "
            f"scale error {mean.detectable:.2g} that the mean test detects). "
            + uniform_note(gaussian.passed)
            + (" Tested outside its hypotheses: " + "; ".join(notes) + "." if notes else ""),
            tables=(
                table(
                    "Q against chi2_ell",
                    [*columns, ("mean p", ".3g"), "Gaussian init"],
                    [row | {"Gaussian init": gaussian.passed}],
                ),
            ),
        )

    statement = (
        "Q = d ||g||^2 / (c_T^2 s_w^2 S) at one x0 per network follows chi-square with ell degrees of "
        "freedom."
    )
    title = "Q ~ chi2_ell over your networks"
    return audit_plan("audit.R3", title, statement, ("R3",), TESTS_PER_LAW, rule)


def theory_rates(a: Audit) -> dict[str, Any]:
    """R4's failure probabilities at the audit's ell (exact P(chi2_ell <= ell/2), Chernoff, exp(-ell/16))."""
    return get("R4").predict({"ell": a.P.ell}, digits=30)


def lower_bound(a: Audit) -> Plan | str:
    """audit.R4: the count of networks below R4's bound at their own S, by R4.lower_bound's binomial tests."""
    if not a.with_init:
        return (
            "needs the initial weights (--init) for s_w"
            if a.init is None
            else "no network has an active neuron at the first point (S = 0)"
        )
    ok, rates = a.ok, theory_rates(a)
    bound = a.point_values["orthogonal_gradient_bound"][ok, 0]
    below, n = int((a.M.orthogonal_gradient_norm[ok, 0] < bound).sum()), int(ok.sum())

    def rule(rate: float | None) -> Outcome:
        assert rate is not None
        name = "||g|| < bound (vs {})"
        tests = (
            binomial_upper_test(
                below, n, rates["failure_probability_bound"], alpha=rate, name=name.format("exp(-ell/16)")
            ),
            binomial_upper_test(
                below, n, rates["failure_probability_chernoff"], alpha=rate, name=name.format("Chernoff")
            ),
            binomial_two_sided_test(
                below, n, float(rates["failure_probability_exact"]), alpha=rate, name=name.format("exact")
            ),
        )
        columns: list[Column | tuple[str, str] | str] = [
            ("networks", "d"),
            ("below", "d"),
            ("exact rate", ".4g"),
            ("exp(-ell/16)", ".4g"),
        ]
        row = {"networks": n, "below": below, "exact rate": float(rates["failure_probability_exact"])}
        row |= {"exp(-ell/16)": float(rates["failure_probability_bound"])}
        return Outcome(
            verdicts=tests,
            prediction="fraction of networks with ||g|| < R4.orth_grad_lower_bound (at each network's own "
            "S) <= R4.failure_probability_bound and _chernoff, = R4.failure_probability_exact",
            method=f"one x0 per network, {n} networks, s_w = {a.s_w:.6g} from the initial weights; the "
            "binomial tests of R4.lower_bound." + a.outside_note(),
            tables=(
                table(
                    "Networks below R4's bound",
                    [*columns, ("p (exact, 2-sided)", ".3g")],
                    [row | {"p (exact, 2-sided)": tests[2].p_value}],
                ),
            ),
        )

    statement = (
        "||g|| >= |c_T| s_w sqrt(S ell/(2d)) at each network's own S, except with probability at most "
        "exp(-ell/16)."
    )
    return audit_plan(
        "audit.R4", "||g|| >= R4 bound except w.p. <= exp(-ell/16)", statement, ("R4",), 3, rule
    )
