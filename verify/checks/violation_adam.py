"""Adam (coordinate-wise) with a rotated subspace moves Pi W (R1 fails), and with it the law of g."""

from __future__ import annotations

import numpy as np

from verify.checks.helpers.invariance_rule import orthogonal_motion, relative_defect
from verify.checks.helpers.violation_setting import FAR_BEYOND, SECTION, arm, describe
from verify.claim import Outcome, claim, table
from verify.predictions import chi_square_statistic, law_of_q
from verify.statistics import ks_test
from verify.tolerance import invariance_budget, threshold

__all__ = ["adam", "ADAM_LR", "RUNS", "STEPS"]

RUNS = {"quick": 150, "standard": 600, "full": 2000}
STEPS = {"quick": 200, "standard": 200, "full": 500}
ADAM_LR = 1e-3


def _needs(profile: str):
    runs, steps = RUNS[profile], STEPS[profile]
    return {"GD": arm("adam", runs, steps), "Adam": arm("adam", runs, steps, optimizer="adam", lr=ADAM_LR)}


@claim(
    "violation.adam",
    title="Adam moves Pi W far beyond rounding",
    statement="Adam with a rotated subspace moves Pi W far beyond rounding on every network (R1 fails), "
    "while GD on the same data and initialization keeps it.",
    results=("R1",),
    section=SECTION,
    cell_note="an assumption-violation study: it compares arms inside and outside the hypotheses",
    needs=_needs,
    violation=True,
)
def adam(ctx, pops) -> Outcome:
    gd, adam_pop = pops["GD"], pops["Adam"]
    budget = invariance_budget(gd.spec.steps, gd.n, gd.d)
    rows, reported = [], []
    for label, pop in pops.items():
        move = orthogonal_motion(pop.weights)
        Q = chi_square_statistic(pop)
        ks = ks_test(Q, law_of_q(pop.ell), alpha=ctx.reference_alpha, name=f"of Q under {label} vs chi2_ell")
        reported.append(ks)
        rows.append(
            {
                "arm": label,
                "networks": len(Q),
                "train acc": pop.train_accuracy.mean(),
                "min movement": move.min(),
                "median movement": float(np.median(move)),
                "max movement": move.max(),
                "median ||g||": float(np.median(pop.gradient.g_norm[:, 0])),
                "median S": float(np.median(pop.gradient.S[:, 0])),
                "mean Q": Q.mean(),
                "KS D vs chi2_ell": ks.statistic,
                "KS p": ks.p_value,
            }
        )
    gd_defect = relative_defect(gd.weights, 1.0)
    adam_move = orthogonal_motion(adam_pop.weights)
    return Outcome(
        verdicts=(
            threshold(
                "Adam: min orthogonal motion / budget",
                adam_move.min() / budget,
                ">",
                FAR_BEYOND,
                n=len(adam_move),
            ),
            threshold("GD: max R1 defect / budget", gd_defect.max() / budget, "<=", 1.0, n=len(gd_defect)),
        ),
        reported=tuple(reported),
        prediction=f"Adam: Pi W moves far beyond rounding on every network (> {FAR_BEYOND:g} x the budget); "
        "GD on the same data and initialization: within the budget (R1). The law of Q under Adam: not "
        "predicted (reported)",
        method=f"{gd.runs} networks per arm ({describe(gd.spec)}; Adam lr {ADAM_LR}), a Haar-random P, the "
        "same data and initialization in both arms. Movement is max_i ||Pi(w_i(T) - w_i(0))|| / max_i ||Pi "
        "w_i(0)||. Adam divides each coordinate of an in-P gradient by its own running RMS, which takes it "
        "out of P; Pi w_i then carries training information, Pi w_i(T) is no longer independent of the "
        "active set, and nothing forces Q to be chi2_ell. The KS tests are at one claim's rate, for "
        "reference.",
        tables=(
            table(
                "Adam against GD at the same data",
                [
                    "arm",
                    ("networks", "d"),
                    ("train acc", ".3f"),
                    ("min movement", ".2e"),
                    ("median movement", ".2e"),
                    ("max movement", ".2e"),
                    ("median ||g||", ".4f"),
                    ("median S", ".4f"),
                    ("mean Q", ".2f"),
                    ("KS D vs chi2_ell", ".4f"),
                    ("KS p", ".3g"),
                ],
                rows,
            ),
        ),
    )
