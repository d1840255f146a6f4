"""R9, Figure 2: 7 points on the diagonal of R^2, width 100, in the paper's three settings."""

from __future__ import annotations

import numpy as np

from theory.results import get
from verify.checks.helpers.figure_drawing import figure2_picture
from verify.checks.helpers.figure_settings import FIGURE2, SECTION, SETTINGS, figure_requests
from verify.checks.helpers.figure_verdicts import figure_outcome
from verify.claim import Outcome, claim

__all__ = ["figure2"]


@claim(
    "R9.figure2",
    title="Figure 2: vanilla has the smallest r_perp",
    statement="Figure 2: the orthogonal flip radius of the diagonal points is smallest for the vanilla "
    "network (smaller initialization and weight decay both enlarge it).",
    results=("R7", "R8"),
    section=SECTION,
    needs=figure_requests(FIGURE2),
    tests=len(SETTINGS) - 1,
)
def figure2(ctx, pops) -> Outcome:
    wd = pops["weight_decay"]
    c_T = float(
        np.median(
            get("R8").array(
                "decay_gd",
                {"eta": wd.spec.lr, "lam": wd.spec.weight_decay, "T": wd.steps_taken.astype(float)},
            )
        )
    )
    return figure_outcome(
        ctx, FIGURE2, pops, figure2_picture(ctx, pops),
        extra="P = span{(1, 1)} is linear, so c_T = (1 - eta*lam)^T is the exact shrink factor of Pi w_i "
            f"under weight decay (R1, R8); at the target margin it is only {c_T:.2f} (median), against 0.1 "
            "for the small initialization's scale of Pi w_i(0), consistent with the weaker weight-decay "
            "ordering.",
    )  # fmt: skip
