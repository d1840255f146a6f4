"""The claims a sweep decides per cell, each by the same rule and statistics as the check of that result.

- R1.invariance: R1's rule (`verify.checks.r1_invariance.invariance_rule`): max_i ||Pi w_i(T) - c_T Pi w_i(0)||
  / max_i ||w_i|| within the float64 budget gamma_{T(n+d)} (exact); tightness = defect / budget.
- R3.law: Q = d ||g||^2 / (c_T^2 (beta s_w)^2 S) against chi2_ell by KS and the exact mean test
  (`verify.checks.helpers.chi_square_law.law_verdicts`); tightness = mean Q / ell.
- R4.bound: the count of networks with ||g|| < |c_T| beta s_w sqrt(S ell/(2d)) against e^{-ell/16} and the
  Chernoff bound (one-sided) and P(chi2_ell <= ell/2) (two-sided), as `verify.checks.r4_lower_bound`;
  tightness = median ||g|| / bound, and the failure frequency over the exact and over the e^{-ell/16} rate.
- R5.flip: the check's own rule (`verify.checks.r5_flip.flip`): the walked flip equals t* = |N(x0)|/||g||
  where t* precedes the first breakpoint, and P(t* > R5 bound) against e^{-ell/16} and the exact rate;
  tightness = median t* / bound.
- R6.sandwich: the check's rule (`verify.checks.r6_sandwich`: its measured radii and sandwich ratios): both
  certificates (|N(x0)|/L and the tight one) <= every orthogonal flip found, within float64 rounding
  (exact); tightness = median |N(x0)|/L over the orthogonal attack radius.

Every prediction is the theory's (theory.results through verify.predictions and the checks); nothing
here types a formula. The family false-fail rate is split by Bonferroni over (cells x statistical claims),
then over each claim's tests: alpha_test = alpha / (cells * claims) / tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from theory.parameters import ParameterError
from theory.results import get
from verify.claim import Outcome, RuleContext
from verify.report import format_rule
from verify.statistics import Verdict, split_rate

#: Optimizers whose update is a combination of loss gradients plus coupled decay (R1's hypothesis).
GRADIENT_METHODS = ("gd", "sgd", "momentum", "flow")


@dataclass(frozen=True)
class Evaluation:
    """A claim decided on one cell: its verdicts, the headline prediction and measurement, tightness."""

    verdicts: tuple[Verdict, ...]
    prediction: float
    measurement: float
    tightness: dict[str, float]


@dataclass(frozen=True)
class SweepClaim:
    """One claim as a sweep evaluates it (the sweep's counterpart of `verify.claim.Claim`)."""

    id: str
    results: tuple[str, ...]  # the theory results its predictions come from
    quantity: str  # what `prediction` and `measurement` of its rows are
    measure: tuple[str, ...]  # the population measurements it needs
    tests: int  # statistical tests per cell (0: an exact rule)
    evaluate: Callable[[Any, float | None], Evaluation]
    scope: Callable[[dict[str, Any]], str | None]  # why it does not apply at a point, or None
    uses_data_in_p: bool = True  # its hypotheses include "every training point lies in P" (noise = 0)

    @property
    def statistical(self) -> bool:
        return self.tests > 0


def _named(columns: Iterable[Any], row: tuple[Any, ...]) -> dict[str, Any]:
    """A check's table row by column name (its columns are names or (name, format) pairs)."""
    return {(c if isinstance(c, str) else c[0]): v for c, v in zip(columns, row, strict=True)}


def _context(alpha: float | None) -> RuleContext:
    """What a check's rule may use: only the per-test rate here (a sweep cell draws no figures)."""
    return RuleContext("quick", alpha, Path("."))


def trained_runs(pop):
    """`pop` restricted to the runs that did not diverge, for R1's rule (R1 says nothing of a divergence)."""
    from verify.experiments.population import OrthogonalWeights

    keep = ~pop.diverged
    w = pop.weights
    weights = OrthogonalWeights(initial=w.initial[keep], final=w.final[keep], scale=w.scale[keep])
    status = tuple(s for s, k in zip(pop.status, keep, strict=True) if k)
    return dataclasses.replace(pop, weights=weights, steps_taken=pop.steps_taken[keep], status=status)


def _r1(pop, alpha: float | None) -> Evaluation:
    from verify.checks.r1_invariance import COLUMNS, invariance_rule

    verdicts, rows = invariance_rule({"this cell": trained_runs(pop)})
    row = _named(COLUMNS, rows[0])
    return Evaluation(
        tuple(verdicts),
        prediction=row["c_T (theory)"],
        measurement=row["read-off factor"],
        tightness={"tightness": row["max relative defect"] / row["rounding budget"]},
    )


def _r3(pop, alpha: float | None) -> Evaluation:
    from verify.checks.helpers.chi_square_law import law_verdicts
    from verify.predictions import chi_square_statistic, law_of_q

    Q = chi_square_statistic(pop)
    law = law_of_q(pop.ell)
    ks, mean = law_verdicts(Q, law, _context(alpha).test_alpha)
    return Evaluation(
        (ks, mean),
        prediction=law.mean,
        measurement=float(Q.mean()),
        tightness={"tightness": float(Q.mean()) / law.mean},
    )


def _r4(pop, alpha: float | None) -> Evaluation:
    from verify.checks.r4_lower_bound import below_bound, failure_rates
    from verify.predictions import symbols_of
    from verify.statistics import binomial_two_sided_test, binomial_upper_test

    rate = _context(alpha).test_alpha
    below, n = below_bound(pop)
    rates = failure_rates(pop.ell)
    tests = (
        binomial_upper_test(
            below, n, rates["exp(-ell/16)"], alpha=rate, name="||g|| < bound (vs exp(-ell/16))"
        ),
        binomial_upper_test(below, n, rates["Chernoff"], alpha=rate, name="||g|| < bound (vs Chernoff)"),
        binomial_two_sided_test(below, n, rates["exact"], alpha=rate, name="||g|| < bound (vs exact)"),
    )
    ok = pop.ok
    bound = get("R4").array(
        "orth_grad_lower_bound",
        symbols_of(pop.spec, pop.steps_taken[ok], pop.d, pop.ell) | {"S": pop.gradient.S[ok, 0]},
    )
    frequency = below / n
    return Evaluation(
        tests,
        prediction=float(rates["exp(-ell/16)"]),
        measurement=frequency,
        tightness={
            "tightness": float(np.median(pop.gradient.g_norm[ok, 0] / bound)),
            "tightness_exact": frequency / float(rates["exact"]),
            "tightness_bound": frequency / float(rates["exp(-ell/16)"]),
        },
    )


def _r5(pop, alpha: float | None) -> Evaluation:
    from verify.checks.r4_lower_bound import failure_rates
    from verify.checks.r5_flip import flip, flip_theory

    outcome = flip(_context(alpha), {"cell": pop})
    table = outcome.tables[0]
    row = _named([c.name for c in table.columns], table.rows[0])
    rates = failure_rates(pop.ell)
    frequency = row["t* > bound"] / row["networks"]
    bound = flip_theory(pop, ("flip_distance_bound",))["flip_distance_bound"]
    return Evaluation(
        outcome.verdicts,
        prediction=float(rates["exp(-ell/16)"]),
        measurement=frequency,
        tightness={
            "tightness": float(np.median(pop.flip.t_star[pop.measured, 0] / bound)),
            "tightness_exact": frequency / float(rates["exact"]),
            "tightness_bound": frequency / float(rates["exp(-ell/16)"]),
        },
    )


def _r6(pop, alpha: float | None) -> Evaluation:
    from verify.checks.r6_sandwich import SANDWICH_RTOL, sandwich_radii, worst_ratios
    from verify.tolerance import threshold

    radii = sandwich_radii(pop)
    worst = worst_ratios(radii)  # raises SandwichViolation: a certificate above a flip found
    found = np.isfinite(radii["attack"])
    highest = max(worst["R6/flip"], worst["tight/flip"])
    verdict = threshold(
        "max certified/flip radius (R6 and tight)", highest, "<=", 1 + SANDWICH_RTOL, n=int(found.sum())
    )
    return Evaluation(
        (verdict,),
        prediction=1.0,
        measurement=highest,
        tightness={
            "tightness": float(np.median(radii["tight"][found] / radii["attack"][found])),
            "tightness_global": float(np.median(radii["R6"][found] / radii["attack"][found])),
        },
    )


def _gradient_scope(point: dict[str, Any]) -> str | None:
    """Where R3-R5 apply: a gradient method, and weight decay only with R3's (1 - eta*lam)^T factor."""
    if point["optimizer"] not in GRADIENT_METHODS:
        return f"optimizer={point['optimizer']!r}: R2's independence of Pi w(0) fails under a coordinate-wise update (expected one of {', '.join(GRADIENT_METHODS)})"
    if point["weight_decay"] and point["optimizer"] not in ("gd", "sgd"):
        return f"optimizer={point['optimizer']!r} with weight_decay > 0: the bound's c_T is (1 - eta*lam)^T, for gd or sgd"
    return None


def _r1_scope(point: dict[str, Any]) -> str | None:
    if point["optimizer"] not in GRADIENT_METHODS:
        return f"optimizer={point['optimizer']!r}: R1 has no decay factor c_T for it (expected one of {', '.join(GRADIENT_METHODS)})"
    return None


CLAIMS: dict[str, SweepClaim] = {
    c.id: c
    for c in (
        SweepClaim(
            "R1.invariance",
            ("R1",),
            "c_T: theory (median over runs) vs read off the weights",
            ("weights",),
            0,
            _r1,
            _r1_scope,
        ),
        SweepClaim(
            "R3.law",
            ("R3",),
            "mean of Q: chi2_ell's (theory) vs measured",
            ("gradient",),
            2,
            _r3,
            _gradient_scope,
        ),
        SweepClaim(
            "R4.bound",
            ("R4",),
            "P(||g|| < R4 bound): exp(-ell/16) vs measured frequency",
            ("gradient",),
            3,
            _r4,
            _gradient_scope,
        ),
        SweepClaim(
            "R5.flip",
            ("R5", "R4"),
            "P(t* > R5 bound): exp(-ell/16) vs measured frequency",
            ("gradient", "flip"),
            2,
            _r5,
            _gradient_scope,
        ),
        SweepClaim(
            "R6.sandwich",
            ("R6",),
            "max certified/attack radius: <= 1 (theory) vs measured",
            ("gradient", "flip", "attacks", "certificate"),
            0,
            _r6,
            lambda point: None,
            uses_data_in_p=False,
        ),
    )
}


def resolve(ids: Any, *, where: str = "claims") -> tuple[str, ...]:
    """The sweep claims named by `ids` (exact ids or family prefixes such as "R4"); None: every claim."""
    if ids is None:
        return tuple(CLAIMS)
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ParameterError(f"{where}: claims={ids!r} is invalid: expected a non-empty list of claim ids")
    chosen: list[str] = []
    for want in ids:
        hits = [c for c in CLAIMS if c == want or c.startswith(want + ".")]
        if not hits:
            raise ParameterError(
                f"{where}: claim {want!r} is invalid: expected one of {', '.join(CLAIMS)} (or a prefix such as R4)"
            )
        chosen += [c for c in hits if c not in chosen]
    return tuple(c for c in CLAIMS if c in chosen)


def check_applicable(point: dict[str, Any], claims: Iterable[str], where: str) -> None:
    """ParameterError naming the first claim whose hypotheses exclude the setting `point`."""
    for claim_id in claims:
        why = CLAIMS[claim_id].scope(point)
        if why is not None:
            raise ParameterError(f"{where}: claim {claim_id} does not apply: {why}")


def within_hypotheses(claim_id: str, point: dict[str, Any]) -> bool:
    """Whether the cell satisfies the claim's hypotheses; off-subspace noise violates "data in P"
    (the claim is still decided: that is the noise-robustness study)."""
    return not (CLAIMS[claim_id].uses_data_in_p and point["noise"] > 0)


def test_rates(claims: Iterable[str], cells: int, family_rate: float) -> dict[str, float | None]:
    """Each claim's per-test rate: the family rate split over cells x statistical claims, then its tests."""
    claims = list(claims)
    statistical = [c for c in claims if CLAIMS[c].statistical]
    if not statistical:
        return {c: None for c in claims}
    share = split_rate(family_rate, cells * len(statistical))
    return {c: split_rate(share, CLAIMS[c].tests) if CLAIMS[c].statistical else None for c in claims}


def rate_statement(claims: Iterable[str], cells: int, family_rate: float) -> str:
    """The Bonferroni split in words, for the outputs."""
    claims = list(claims)
    statistical = [c for c in claims if CLAIMS[c].statistical]
    if not statistical:
        return "every claim is exact (no false-fail rate is spent)"
    rates = test_rates(claims, cells, family_rate)
    per = ", ".join(f"{c}: {CLAIMS[c].tests} tests at {rates[c]:.3g} each" for c in statistical)
    return (
        f"family false-fail rate {family_rate:g} split (Bonferroni) over {cells} cells x {len(statistical)} statistical "
        f"claims = {cells * len(statistical)} shares of {family_rate / (cells * len(statistical)):.3g}; {per}"
    )


def evaluate(claim_id: str, pop, alpha: float | None, point: dict[str, Any]) -> dict[str, Any]:
    """One row of the tidy table: the claim decided on the cell's population (JSON-able values)."""
    claim = CLAIMS[claim_id]
    row: dict[str, Any] = {
        "claim": claim_id,
        "results": " ".join(claim.results),
        "within_hypotheses": within_hypotheses(claim_id, point),
        "alpha": alpha,
        "tests": claim.tests,
        "quantity": claim.quantity,
    }
    try:
        result = claim.evaluate(pop, alpha)
    except AssertionError as exc:  # SandwichViolation: the exact rule itself failed
        return row | {"verdict": "fail", "error": " ".join(str(exc).split())}
    outcome = Outcome(verdicts=result.verdicts, prediction=claim.quantity)
    decisive = outcome.decisive
    return row | {
        "verdict": "pass" if outcome.passed else "fail",
        "rule": format_rule(decisive.rule),
        "statistic": float(decisive.rule.value),
        "threshold": float(decisive.rule.threshold),
        "prediction": float(result.prediction),
        "measurement": float(result.measurement),
        **{k: float(v) for k, v in result.tightness.items()},
        "summary": decisive.summary(),
    }
