"""Uniform (non-Gaussian) hidden initialization: R1 is intact but R3's exact law needs Gaussian Pi w_i(0).

The Gaussian arm must pass KS and the exact mean test against R3's law; the uniform arm (same covariance)
is reported with its KS distance and the distance the sample could detect.
"""

from __future__ import annotations

import math

import numpy as np

from verify.checks.helpers.chi_square_law import TESTS_PER_LAW, law_verdicts
from verify.checks.helpers.invariance_rule import relative_defect
from verify.checks.helpers.violation_setting import SECTION, arm, describe
from verify.claim import Outcome, claim, table
from verify.design import chi_square_detections, chi_square_ks_detections, design_alpha, runs_for_chi_square
from verify.predictions import chi_square_statistic, law_of_q

__all__ = ["RUNS", "SMALL", "STEPS", "uniform_init", "variance_z"]

#: Networks per arm at least; more where the exact mean test needs them to catch a 1/d variance scale.
RUNS = {"quick": 1500, "standard": 8000, "full": 30000}
STEPS = {"quick": 100, "standard": 100, "full": 200}
SMALL = dict(d=20, ell=10, m=16, n=20)


def variance_z(Q: np.ndarray, ell: int) -> float:
    """(s^2 - 2 ell) / se for the sample variance s^2 of n chi2_ell values: se^2 = (mu_4 - sigma^4)/n with
    the chi2_ell moments sigma^2 = 2 ell, mu_4 = 12 ell (ell + 4) (large-sample normal approximation)."""
    se = math.sqrt((12 * ell * (ell + 4) - 4 * ell**2) / len(Q))
    return float((Q.var(ddof=1) - 2 * ell) / se)


def _needs(profile: str):
    runs = max(
        RUNS[profile],
        runs_for_chi_square(SMALL["ell"], SMALL["d"], design_alpha("violation.uniform_init", profile)),
    )
    return {
        init: arm("uniform", runs, STEPS[profile], hidden_init=init, **SMALL)
        for init in ("gaussian", "uniform")
    }


@claim(
    "violation.uniform_init",
    title="uniform init: how far Q departs from chi2_ell",
    statement="Uniform hidden initialization: Q is close to chi-square(ell) by the CLT but not exactly; the "
    "Gaussian arm must follow the exact law.",
    results=("R3",),
    section=SECTION,
    cell_note="an assumption-violation study: it compares arms inside and outside the hypotheses",
    needs=_needs,
    tests=TESTS_PER_LAW,
    violation=True,
)
def uniform_init(ctx, pops) -> Outcome:
    rows, tests = [], {}
    for init, pop in pops.items():
        Q = chi_square_statistic(pop)
        alpha = ctx.test_alpha if init == "gaussian" else ctx.reference_alpha
        tests[init] = law_verdicts(Q, law_of_q(pop.ell), alpha, name=f"Q ({init} init)")
        ks, mean = tests[init]
        rows.append(
            {
                "hidden init": init,
                "networks": len(Q),
                "train acc": pop.train_accuracy.mean(),
                "R1 defect": float(relative_defect(pop.weights, 1.0).max()),
                "mean Q": Q.mean(),
                "var Q (chi2: 2 ell)": Q.var(ddof=1),
                "z of var Q": variance_z(Q, pop.ell),
                "KS D": ks.statistic,
                "KS p": ks.p_value,
                "mean p": mean.p_value,
                "KS detectable": ks.detectable,
            }
        )
    first, n = pops["gaussian"], tests["gaussian"][0].n
    return Outcome(
        verdicts=tests["gaussian"],
        detections=(
            *chi_square_detections(first.ell, first.d, n, ctx.test_alpha, "Gaussian arm"),
            *chi_square_ks_detections(first.ell, first.d, n, ctx.test_alpha, "Gaussian arm"),
        ),
        reported=tests["uniform"],
        prediction="Gaussian init: Q ~ chi2 with R3.degrees_of_freedom exactly; uniform init: close to "
        "chi-square by the CLT (Pi w_i(0) mixes d uniform entries) but not exactly (reported, not judged)",
        method=f"{first.runs} networks per arm ({describe(first.spec)}), small on purpose so that the CLT "
        "has little to average and a departure is as large as it gets. The uniform entries have the "
        "Gaussian's variance, so E Q is unchanged; the departure is in the shape (uniform entries have "
        "excess kurtosis -1.2, diluted by the d-fold mixing of Pi and the sum over active neurons), which "
        "predicts a variance of Q below 2 ell; 'z of var Q' is the sample variance's distance from 2 ell in "
        "its large-sample standard errors (asymptotic, reported only). The Gaussian arm is judged by KS and "
        "the exact mean test; its size is the larger of the profile's and the fewest networks at which the "
        "mean test catches a variance scale off by 1/d with power 0.9.",
        tables=(
            table(
                "Q against chi2_ell by hidden initialization",
                [
                    "hidden init",
                    ("networks", "d"),
                    ("train acc", ".3f"),
                    ("R1 defect", ".1e"),
                    ("mean Q", ".3f"),
                    ("var Q (chi2: 2 ell)", ".2f"),
                    ("z of var Q", "+.2f"),
                    ("KS D", ".4f"),
                    ("KS p", ".3g"),
                    ("mean p", ".3g"),
                    ("KS detectable", ".4f"),
                ],
                rows,
            ),
        ),
    )
