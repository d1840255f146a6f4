"""R1: gradient methods never move the weights orthogonally to the data, up to the decay factor c_T.

Prediction: c_T per run from R1 (decay_gd, decay_flow, the heavy-ball recurrence) at the run's eta, lam
and steps. Measurement: the coordinates of Pi w_i(0) and Pi w_i(T) in a basis of P^perp. Rule (exact):
the worst relative defect max_i ||Pi w_i(T) - c_T Pi w_i(0)|| / max_i ||w_i|| within the float64 budget
gamma_{T(n+d)}, and the factor read off the weights equal to c_T within the allowance that budget implies.
Adam is the labelled negative control: it breaks the invariance for a rotated P only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from verify.checks.helpers.invariance_rule import read_off_allowance, read_off_decay, relative_defect
from verify.claim import Outcome, claim, table
from verify.experiments import Request
from verify.experiments.population import OrthogonalWeights, PopulationSpec
from verify.per_cell import (
    GRADIENT_METHODS,
    Headline,
    PerCell,
    Scope,
    column,
    hidden,
    record_columns,
    record_table,
)
from verify.predictions import population_decay
from verify.statistics import Verdict
from verify.tolerance import compare, invariance_budget, threshold

__all__ = [
    "adam_control",
    "COLUMNS",
    "decide_invariance",
    "FAR_BEYOND",
    "invariance",
    "invariance_headline",
    "invariance_rule",
    "InvarianceRecord",
    "measure_invariance",
    "SECTION",
    "SIZES",
    "trained_runs",
    "weight_decay_factor",
]

SECTION = "R1: orthogonal invariance of training"

SIZES: dict[str, dict[str, Any]] = {
    "quick": dict(runs=16, d=40, ell=25, m=32, n=30, steps=200),
    "standard": dict(runs=64, d=60, ell=40, m=64, n=50, steps=500),
    "full": dict(runs=256, d=100, ell=70, m=128, n=100, steps=2000),
}
#: "Breaks" means beyond this many rounding budgets: no rounding error comes near it.
FAR_BEYOND = 1e3


def _spec(profile: str, **training) -> PopulationSpec:
    s = SIZES[profile]
    base = PopulationSpec.of(
        runs=s["runs"],
        d=s["d"],
        ell=s["ell"],
        n=s["n"],
        m=s["m"],
        points=0,
        lr=0.1,
        steps=s["steps"],
        measure=("weights",),
    )
    return base.with_settings(**training)


def _needs(configs):
    def requests(profile: str) -> dict[str, Request]:
        return {
            label: Request("population", _spec(profile, **kw), seed_parts=("R1", label))
            for label, kw in configs(profile).items()
        }

    return requests


def _invariance_configs(profile: str) -> dict[str, dict]:
    n = SIZES[profile]["n"]
    return {
        "full-batch GD": dict(optimizer="gd"),
        "minibatch SGD": dict(optimizer="sgd", batch_size=max(1, n // 5)),
        "heavy-ball momentum": dict(optimizer="momentum", momentum=0.9, lr=0.02),
        "gradient flow": dict(optimizer="flow", lr=0.05),
    }


def _decay_configs(profile: str) -> dict[str, dict]:
    n = SIZES[profile]["n"]
    return {
        "GD, lam=0.01": dict(optimizer="gd", weight_decay=0.01),
        "GD, lam=0.01, first layer only": dict(optimizer="gd", weight_decay=0.01, decay_output=False),
        "SGD, lam=0.01": dict(optimizer="sgd", weight_decay=0.01, batch_size=max(1, n // 5)),
        "momentum, lam=0.01": dict(optimizer="momentum", momentum=0.9, lr=0.02, weight_decay=0.01),
        "flow, lam=0.01": dict(optimizer="flow", weight_decay=0.01),
    }


def _budget(pop) -> float:
    return invariance_budget(int(pop.steps_taken.max()), pop.n, pop.d)


def trained_runs(pop):
    """`pop` restricted to the runs that did not diverge (R1 says nothing of a divergence)."""
    if not pop.diverged.any():
        return pop
    w = pop.weights
    keep = ~pop.diverged
    weights = OrthogonalWeights(initial=w.initial[keep], final=w.final[keep], scale=w.scale[keep])
    status = tuple(s for s, k in zip(pop.status, keep, strict=True) if k)
    return replace(pop, weights=weights, steps_taken=pop.steps_taken[keep], status=status)


@dataclass(frozen=True)
class InvarianceRecord:
    """One population's R1 numbers: c_T (theory) against the factor read off the weights, the defect."""

    optimizer: str = column()
    lam: float = column("g")
    T: int = column("d")
    c_T: float = column(".12g", "c_T (theory)")
    read_off: float = column(".12g", "read-off factor")
    read_off_error: float = column(".1e", "max |read-off - c_T|")
    defect: float = column(".2e", "max relative defect")
    budget: float = column(".1e", "rounding budget")
    within_budget: bool = column("", "within budget")
    networks: int = hidden()
    factors: np.ndarray = hidden()  # read off, per run
    decay: np.ndarray = hidden()  # c_T, per run
    allowance: float = hidden()


def measure_invariance(pop) -> InvarianceRecord:
    """R1's c_T per run (theory) and what the trained weights show: the read-off factor, the defect."""
    pop = trained_runs(pop)
    c_T = population_decay(pop)
    defect = relative_defect(pop.weights, c_T)
    budget = _budget(pop)
    read = read_off_decay(pop.weights)
    return InvarianceRecord(
        optimizer=pop.spec.optimizer,
        lam=pop.spec.weight_decay,
        T=int(pop.steps_taken.max()),
        c_T=float(np.median(c_T)),
        read_off=float(np.median(read)),
        read_off_error=float(np.abs(read - c_T).max()),
        defect=float(defect.max()),
        budget=budget,
        within_budget=bool(defect.max() <= budget),
        networks=len(defect),
        factors=read,
        decay=c_T,
        allowance=float(read_off_allowance(pop.weights, budget).min()),
    )


def decide_invariance(records, alpha=None) -> tuple[Verdict, ...]:
    """Per population: the defect against the budget, and with decay the read-off factor against c_T."""
    verdicts: list[Verdict] = []
    for label, r in records.items():
        verdicts.append(
            threshold(f"{label}: max R1 defect / budget", r.defect / r.budget, "<=", 1.0, n=r.networks)
        )
        if r.lam:
            verdicts.append(
                compare(
                    r.factors, r.decay, rtol=0.0, atol=r.allowance, what=f"{label}: read-off factor = c_T"
                )
            )
    return tuple(verdicts)


def invariance_headline(r: InvarianceRecord) -> Headline:
    return Headline(r.c_T, r.read_off, {"tightness": r.defect / r.budget})


def _r1_why_not(point) -> str | None:
    if point["optimizer"] not in GRADIENT_METHODS:
        return (
            f"optimizer={point['optimizer']!r}: R1 has no decay factor c_T for it "
            f"(expected one of {', '.join(GRADIENT_METHODS)})"
        )
    return None


def _decay_why_not(point) -> str | None:
    if not point["weight_decay"]:
        return "weight_decay=0: the claim is about training with weight decay (R1.invariance covers lam = 0)"
    return _r1_why_not(point)


_R1_SCOPE = Scope(f"optimizer {', '.join(GRADIENT_METHODS)}", _r1_why_not)
_DECAY_SCOPE = Scope(f"weight_decay > 0, optimizer {', '.join(GRADIENT_METHODS)}", _decay_why_not)


def _per_cell(scope) -> PerCell:
    return PerCell(
        measure_invariance,
        decide_invariance,
        tests=0,
        measurements=("weights",),
        quantity="c_T: theory (median over runs) vs read off the weights",
        headline=invariance_headline,
        scope=scope,
    )


def invariance_rule(pops) -> tuple[tuple[Verdict, ...], dict[str, InvarianceRecord]]:
    """Per population: the record, then the verdicts on it."""
    records = {label: measure_invariance(pop) for label, pop in pops.items()}
    return decide_invariance(records), records


#: The table's columns: the setting, then the record's.
COLUMNS: list[Any] = ["setting", *record_columns(InvarianceRecord)]


@claim(
    "R1.invariance",
    title="Pi w_i is unchanged by GD, SGD, momentum, flow",
    statement="GD, SGD, heavy-ball momentum and gradient flow leave Pi w_i unchanged (c_T = 1 without "
    "weight decay).",
    results=("R1",),
    section=SECTION,
    needs=_needs(_invariance_configs),
    cell=_per_cell(_R1_SCOPE),
)
def invariance(ctx, pops) -> Outcome:
    verdicts, records = invariance_rule(pops)
    return Outcome(
        verdicts=tuple(verdicts),
        prediction="Pi W(T) = c_T Pi W(0) with R1's c_T, which is 1 without decay",
        method="dL/dw_i is a combination of the data points x_j, all in P, so no update built from loss "
        "gradients has a component in P^perp. The budget gamma_N, N = T (n + d), is a worst-case float64 "
        "forward-error bound, not a tuned tolerance; a broken invariance (Adam, below) exceeds it by about "
        "10 orders.",
        tables=(record_table("Worst relative defect over the batch", records, label="setting"),),
    )


@claim(
    "R1.weight_decay",
    title="with decay, Pi w_i(T) = c_T Pi w_i(0)",
    statement="With weight decay, Pi w_i(T) = (1 - eta*lam)^T Pi w_i(0) for GD and SGD, exp(-lam*t) Pi "
    "w_i(0) for gradient flow, and R1's second-order recurrence for heavy-ball momentum; the factor read off "
    "the trained weights is c_T.",
    results=("R1",),
    section=SECTION,
    needs=_needs(_decay_configs),
    cell=_per_cell(_DECAY_SCOPE),
)
def weight_decay_factor(ctx, pops) -> Outcome:
    verdicts, records = invariance_rule(pops)
    return Outcome(
        verdicts=tuple(verdicts),
        prediction="Pi W(T) = c_T Pi W(0) with R1's c_T at each run's (eta, lam, T): decay_gd for GD and "
        "SGD, decay_flow at t = eta T for the flow integrator, the momentum recurrence for the heavy ball",
        method="Coupled weight decay multiplies Pi w_i by (1 - eta*lam) every step and the loss gradient "
        "adds nothing there; the flow integrator treats the decay exactly (exp(-lam eta) per step). The "
        "read-off factor <Pi W(T), Pi W(0)> / ||Pi W(0)||^2 is the factor the trainer actually applied; its "
        "allowance follows from the budget by Cauchy-Schwarz. A factor off by one step is off by a relative "
        "eta*lam = 1e-3, far above both.",
        tables=(record_table("Worst relative defect and the decay factor", records, label="setting"),),
    )


def _adam_configs(profile: str) -> dict[str, dict]:
    return {
        "Adam, rotated P": dict(optimizer="adam", lr=1e-3),
        "Adam, axis-aligned P": dict(optimizer="adam", lr=1e-3, axis_aligned=True),
    }


@claim(
    "R1.adam_control",
    title="control: Adam breaks R1 for a rotated P only",
    statement="Negative control: Adam (coordinate-wise) breaks the invariance for a rotated subspace and "
    "keeps it for an axis-aligned one.",
    results=("R1",),
    section=SECTION,
    needs=_needs(_adam_configs),
    cell_note="it compares two populations (rotated and axis-aligned P)",
)
def adam_control(ctx, pops) -> Outcome:
    rotated, aligned = pops["Adam, rotated P"], pops["Adam, axis-aligned P"]
    # Adam has no decay factor; without weight decay the invariant factor is 1.
    rot, ali = (relative_defect(p.weights, 1.0) for p in (rotated, aligned))
    budget = _budget(rotated)
    rows = [
        {
            "setting": label,
            "optimizer": "adam",
            "lam": 0.0,
            "T": int(p.steps_taken.max()),
            "c_T (theory)": 1.0,
            "read-off factor": float(np.median(read_off_decay(p.weights))),
            "max |read-off - c_T|": float(np.abs(read_off_decay(p.weights) - 1.0).max()),
            "max relative defect": float(e.max()),
            "rounding budget": budget,
            "within budget": e.max() <= budget,
        }
        for label, p, e in (("rotated P", rotated, rot), ("axis-aligned P", aligned, ali))
    ]
    return Outcome(
        verdicts=(
            threshold("rotated P: min defect / budget", rot.min() / budget, ">", FAR_BEYOND, n=len(rot)),
            threshold("axis-aligned P: max defect / budget", ali.max() / budget, "<=", 1.0, n=len(ali)),
        ),
        prediction="rotated P: defect far beyond rounding on every network; axis-aligned P: within rounding",
        method="Adam divides each coordinate of the gradient by its own running RMS. For an axis-aligned P "
        "the orthogonal coordinates have zero gradient and never move; for a rotated P the coordinate-wise "
        f"rescaling of an in-P vector is no longer in P. 'Far beyond' means more than {FAR_BEYOND:g} "
        "budgets. An assumption violation, reported as such.",
        tables=(table("Worst relative defect under Adam", COLUMNS, rows),),
    )
