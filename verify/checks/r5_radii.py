"""R5.radii: as ell grows (data of fixed dimension r in R^(r + ell)), the orthogonal flip radius falls
relative to the on-manifold one. Prediction: the sign of R7's exponent of ||g|| in ell/d. Measurement:
the minimal flips in P^perp, in P and unrestricted, the gradient flip and R6's certificate on R5's
populations (`verify.checks.r5_flip.attacked_populations`). Rule: a one-sided OLS slope test of
log(orthogonal / on-manifold radius) on log ell.
"""

from __future__ import annotations

import numpy as np

from theory.results import get
from verify import figures
from verify.checks.r5_flip import SECTION, SIZES, attacked_populations
from verify.claim import Outcome, claim, table
from verify.design import reversed_direction_detection
from verify.statistics import slope_test

__all__ = ["RADII", "radii"]


RADII = ("certified", "orthogonal", "gradient flip", "on_manifold", "unrestricted")


def _radii_of(pop) -> dict[str, np.ndarray]:
    m = pop.measured
    return {
        "certified": pop.certified[m, 0],
        "orthogonal": pop.radii["orthogonal"][m, 0],
        "gradient flip": pop.flip.distance[m, 0],
        "on_manifold": pop.radii["on_manifold"][m, 0],
        "unrestricted": pop.radii["unrestricted"][m, 0],
    }


@claim(
    "R5.radii",
    title="orthogonal/on-manifold radius falls as ell grows",
    statement="As ell grows (data of fixed dimension in R^(r + ell)), the orthogonal flip radius falls "
    "relative to the on-manifold one: R7's exponent of ||g|| in ell/d is positive, and the network on P does "
    "not change.",
    results=("R7",),
    section=SECTION,
    needs=attacked_populations,
    tests=1,
)
def radii(ctx, pops) -> Outcome:
    xs, ys, rows = [], [], []
    for pop in pops.values():
        r = _radii_of(pop)
        x = pop.gradient.x0_norm[pop.measured, 0]
        both = np.isfinite(r["orthogonal"]) & np.isfinite(r["on_manifold"])
        ratio = r["orthogonal"][both] / r["on_manifold"][both]
        xs += [pop.ell] * int(both.sum())
        ys += list(ratio)
        medians = {
            k.replace("_", "-"): float(np.median(v[np.isfinite(v)] / x[np.isfinite(v)])) for k, v in r.items()
        }
        rows.append(
            {"ell": pop.ell, "networks": int(both.sum())}
            | medians
            | {"median orth/on-manifold": float(np.median(ratio))}
            | {
                "orth success": pop.successes["orthogonal"],
                "on-manifold success": pop.successes["on_manifold"],
            }
        )
    # ||g|| grows with ell (R7's exponent > 0) while the network on P does not change, so the orthogonal
    # radius |N(x0)|/||g|| falls relative to the on-manifold one: the predicted sign of the trend.
    exponent = float(get("R7").exponent("ell_over_d"))
    test = slope_test(
        np.array(xs, float),
        np.array(ys),
        0.0,
        alpha=ctx.test_alpha,
        log=True,
        name="orthogonal/on-manifold radius on ell",
        alternative="less" if exponent > 0 else "greater",
    )
    ells = SIZES[ctx.profile]["ells"]
    fig, axes = figures.new(len(ells), width=3.2, height=3.2)
    for j, pop in enumerate(pops.values()):
        r, x = _radii_of(pop), pop.gradient.x0_norm[pop.measured, 0]
        vals = [
            r[k][np.isfinite(r[k])] / x[np.isfinite(r[k])]
            for k in ("certified", "orthogonal", "on_manifold", "unrestricted")
        ]
        axes[0, j].boxplot(vals, showfliers=False)
        axes[0, j].set_xticks([1, 2, 3, 4], ["certified", "orth.", "on-manif.", "unrestr."], fontsize=7)
        axes[0, j].set_yscale("log")
        axes[0, j].set_title(f"ell={pop.ell}, d={pop.d}")
        axes[0, j].set_ylabel("radius / ||x0||")
    return Outcome(
        verdicts=(test,),
        detections=(
            reversed_direction_detection(
                "sign of R7.exponent_ell_over_d", "one-sided OLS slope test", test.n, ctx.test_alpha
            ),
        ),
        prediction=f"the slope of log(orthogonal/on-manifold radius) on log ell is "
        f"{'negative' if exponent > 0 else 'positive'} "
        f"(R7.exponent_ell_over_d = {exponent:g} > 0: ||g|| grows like (ell/d)^{exponent:g})",
        method="Data of fixed dimension r = 10 embedded in R^d with d = r + ell. Radii are minimal-norm "
        "attacks restricted to P^perp, to P and unrestricted, each finished by an exact line search and "
        "verified by a forward pass; 'certified' is R6's lower bound. The trend test is a one-sided OLS "
        "slope on one x0 per network (independent).",
        tables=(
            table(
                "Median radius / ||x0|| by attack",
                [
                    ("ell", "d"),
                    ("networks", "d"),
                    ("certified", ".4f"),
                    ("orthogonal", ".4f"),
                    ("gradient flip", ".4f"),
                    ("on-manifold", ".4f"),
                    ("unrestricted", ".4f"),
                    ("median orth/on-manifold", ".3f"),
                    ("orth success", ".3f"),
                    ("on-manifold success", ".3f"),
                ],
                rows,
            ),
        ),
        figures=(figures.save(fig, ctx.figure_path("R5_radii.png")),),
    )
