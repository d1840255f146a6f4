"""The audit's claims, decided by the rules and verdict objects of `python -m verify all`.

Every prediction is asked of `theory.results` at the user's networks; the verdicts are the suite's own
(`verify.tolerance.compare`/`threshold`, `verify.statistics` tests,
`verify.checks.helpers.chi_square_law.law_verdicts`, `numerics.attacks.check_sandwich`). The family
false-fail rate is split (`verify.claim.split_family_rate`, the suite's one split) over the statistical
claims the audit decides, then over each claim's tests. The statistics over networks use one x0 per network
(the first point), so their samples are independent, as in the suite's checks. The claims themselves are in
`verify.audit.claims`:

- audit.R1 (with --init and --steps): max_i ||Pi w_i(T) - c_T Pi w_i(0)|| / max_i ||w_i|| within the
  rounding budget gamma_{T (n + d)} of the weights' dtype; with --weight-decay, the factor read off the
  weights equal to R1's c_T = (1 - eta lam)^T within the allowance that budget implies.
- audit.R3 (with --init, >= 2 networks): Q = R3.chi_square_statistic at s_w estimated from the initial
  weights (s_w^2 = d mean w_ij(0)^2, pooled) against chi2 with R3.degrees_of_freedom: KS and the exact mean
  test. The Gaussian hypothesis is tested (KS of the standardized initial entries against N(0, 1), reported).
- audit.R4 (with --init): the count of networks with ||g|| < R4.orth_grad_lower_bound at their own S, by the
  three binomial tests of R4.lower_bound.
- audit.R5: the walked flip = R5.flip_distance where t* precedes the first breakpoint (float64 rounding),
  every flip verified; with --init, the count of t* > R5.flip_distance_bound by R5.flip's binomial tests.
- audit.R6: the certificate measured = R6.certified_radius at the measured N(x0), L; R6's radius <= every
  orthogonal flip found (the claim fails otherwise); the tight certificate <= every flip and <= r_perp <= the
  attack, and R6 <= r_perp where computed: between two numerical routes a violation raises SandwichViolation,
  an internal error (exit 3).
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from theory.results import get
from verify.audit.claims import CLAIMS, Audit, Settings
from verify.audit.loading import LoadedNetwork
from verify.audit.measure import Measurements
from verify.audit.subspace import DataSubspace
from verify.claim import Claim, Outcome, check_declared_tests, split_family_rate
from verify.harness import Record
from verify.statistics import ks_test

__all__ = ["Decision", "Settings", "decide"]


@dataclass
class Decision:
    """The decided claims as the harness's records, the claims not decided with the reason, and the
    per-network and per-point predictions (NaN where not computed)."""

    records: list[Record]
    undecided: dict[str, str]
    network_values: dict[str, np.ndarray] = field(default_factory=dict)  # key -> (R,)
    point_values: dict[str, np.ndarray] = field(default_factory=dict)  # key -> (R, p)
    hypotheses: dict[str, Any] = field(default_factory=dict)


def _symbols(P: DataSubspace, settings: Settings, s_w: float) -> dict[str, Any]:
    """The theory's symbols at the audit: eta, lam, T from the user (lam = 0, c_T = 1 when not stated)."""
    lam = settings.weight_decay or 0.0
    eta = settings.lr if settings.lr is not None else 0.0
    T = settings.steps if settings.steps is not None else 0
    return {"d": P.d, "ell": P.ell, "s_w": s_w, "beta": 1.0, "eta": eta, "lam": lam, "T": float(T)}


def _hidden_scale(init: list[LoadedNetwork]) -> tuple[float, np.ndarray]:
    """s_w estimated from the initial hidden weights, s_w^2 = d mean w_ij(0)^2 (pooled), and the entries
    standardized by it (for the Gaussian hypothesis)."""
    entries = np.concatenate([net.W.ravel() * math.sqrt(net.d) for net in init])
    s_w = float(np.sqrt(np.mean(np.square(entries))))
    return s_w, entries / s_w


def _predictions(a: Audit) -> None:
    """Theory's per-point values at each network's own N(x0), ||g||, S and L: R4's and R5's bounds (with
    s_w), R5's flip distance and R6's certified radius."""
    M = a.M
    if a.with_init:
        S = np.where(M.S > 0, M.S, np.nan)
        bound = get("R4").array("orth_grad_lower_bound", a.values | {"S": S})
        a.point_values["orthogonal_gradient_bound"] = bound
        flip_bound = get("R5").array("flip_distance_bound", a.values | {"S": S, "N0": M.N0})
        a.point_values["flip_distance_bound"] = flip_bound
    flip = get("R5").array("flip_distance", {"N0": M.N0, "g_norm": M.orthogonal_gradient_norm})
    a.point_values["flip_distance"] = flip
    radius = get("R6").array("certified_radius", {"N0": M.N0, "L": M.lipschitz[:, None]})
    a.point_values["certified_R6"] = radius


def _run(
    records: list[Record],
    claim: Claim,
    rate: float | None,
    tests: int,
    rule: Callable[[float | None], Outcome],
) -> None:
    """Decide one claim as the harness does: an exception (our bug, e.g. SandwichViolation) is an error."""
    test_rate = None if rate is None else split_family_rate(rate, 1, tests)
    try:
        outcome = rule(test_rate)
        check_declared_tests(claim.id, outcome, tests, test_rate, "in the audit")
    except Exception:
        records.append(Record(claim, None, "error", rate, test_rate, error=traceback.format_exc()))
        return
    records.append(Record(claim, outcome, "pass" if outcome.passed else "fail", rate, test_rate))


def decide(
    final: list[LoadedNetwork],
    init: list[LoadedNetwork] | None,
    P: DataSubspace,
    M: Measurements,
    settings: Settings,
) -> Decision:
    """Decide every claim that applies (module docstring); the others are listed with the reason."""
    if final[0].deep:
        reason = "three-layer networks: only the gradient split and the attacks are measured"
        return Decision([], {claim: reason for claim in CLAIMS})
    hypotheses: dict[str, Any] = {"data_in_p": P.data_in_p}
    s_w, gaussian = math.nan, None
    if init is not None:
        s_w, standardized = _hidden_scale(init)
        name = "initial w_ij vs Gaussian"
        gaussian = ks_test(standardized, stats.norm.cdf, alpha=settings.family_rate, name=name)
        hypotheses |= {
            "s_w": s_w,
            "s_w_entries": int(standardized.size),
            "gaussian_init": gaussian.passed,
            "gaussian_init_test": gaussian.as_dict(),
        }
    a = Audit(
        final=final,
        init=init,
        P=P,
        M=M,
        settings=settings,
        values=_symbols(P, settings, s_w),
        ok=M.S[:, 0] > 0,
        s_w=s_w,
        gaussian=gaussian,
        outside=[] if P.data_in_p else [f"the training data are not in P ({P.how})"],
        point_values={},
        network_values={},
    )
    _predictions(a)
    undecided: dict[str, str] = {}
    plans = []
    for claim_id, build in CLAIMS.items():
        planned = build(a)
        if isinstance(planned, str):
            undecided[claim_id] = planned
        else:
            plans.append(planned)
    statistical = sum(tests > 0 for _, tests, _ in plans)
    share = split_family_rate(settings.family_rate, statistical) if statistical else None
    records: list[Record] = []
    for claim, tests, rule in plans:
        _run(records, claim, share if tests else None, tests, rule)
    if any(r.claim.id == "audit.R1" and r.verdict == "fail" for r in records):
        # R3-R5 assume R1's invariance: with it broken they are tested outside their hypotheses.
        a.outside.append("R1's invariance does not hold on these networks")
    gaussian_ok = gaussian is None or gaussian.passed
    hypotheses["outside"] = a.outside
    hypotheses["within"] = {
        "audit.R1": P.data_in_p,
        "audit.R3": not a.outside and gaussian_ok,
        "audit.R4": not a.outside and gaussian_ok,
        "audit.R5": not a.outside,
        "audit.R6": True,
    }
    return Decision(records, undecided, a.network_values, a.point_values, hypotheses)
