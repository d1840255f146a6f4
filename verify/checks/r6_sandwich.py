"""R6: L = sum_i |u_i| ||Pi w_i|| bounds the orthogonal Lipschitz constant, so |N(x0)|/L is a certified
orthogonal radius: no orthogonal perturbation shorter than it flips the label.

Rule (exact): on every point of the R5 populations, certified <= every orthogonal flip radius found (a
violation raises SandwichViolation: a bug in one of the two, never a statistic), and the median ratio
shows how tight the sandwich is.
"""

from __future__ import annotations

import numpy as np
import torch

from numerics.attacks import check_sandwich
from verify.checks.r5_flip import SECTION, _radii_of, attacked_populations
from verify.claim import Outcome, claim, table
from verify.tolerance import threshold

#: check_sandwich's allowance for float64 rounding of both sides (its docstring derives it).
SANDWICH_RTOL = 1e-9


@claim(
    "R6.sandwich",
    title="certified |N(x0)|/L <= every orthogonal flip",
    statement="The certified radius |N(x0)|/L never exceeds the radius of any orthogonal flip, on every point.",
    results=("R6",),
    section=SECTION,
    needs=attacked_populations,
)
def sandwich(ctx, pops) -> Outcome:
    rows, tight, points = [], 0.0, 0
    for pop in pops.values():
        r = _radii_of(pop)
        for name in ("orthogonal", "gradient flip"):
            found = np.isfinite(r[name])
            ratio = check_sandwich(torch.from_numpy(r["certified"][found]), torch.from_numpy(r[name][found]), rtol=SANDWICH_RTOL)
            tight, points = max(tight, ratio), points + int(found.sum())
            rows.append((pop.ell, name, int(found.sum()), float(np.median(r["certified"][found] / r[name][found])), ratio))
    return Outcome(
        verdicts=(threshold("max certified/attack radius", tight, "<=", 1 + SANDWICH_RTOL, n=points),),
        prediction="R6.certified_radius = |N(x0)|/L <= the radius of every orthogonal flip found",
        method="The orthogonal flip radius r_perp(x0) is sandwiched between the certificate and any orthogonal attack. "
        "A violation raises SandwichViolation and the claim is reported as an internal error (exit 3). The median "
        "ratio says how tight the sandwich is.",
        tables=(table("Certified radius against orthogonal attacks", [("ell", "d"), "attack", ("points", "d"), ("median certified/attack", ".4f"), ("max certified/attack", ".4f")], rows),),
    )
