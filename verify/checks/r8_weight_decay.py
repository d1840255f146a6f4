"""R8: weight decay shrinks the orthogonal weights by exactly c_T = (1 - eta*lam)^T.

Exact rules on one regularized GD population continued segment after segment: ||Pi W(t)||_F = c_t ||Pi
W(0)||_F
per run at every segment end, g = c_T sum_{i in I} u_i(T) Pi w_i(0) and L = c_T sum_i |u_i(T)| ||Pi w_i(0)||
at the end, with c_t from R8's decay_gd, all within the float64 budget; and |N(x0 + z) - N(x0)| <= L ||z||
for a random orthogonal z. As c_T -> 0 the network becomes constant along P^perp (stationary points have
Pi w_i = 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory.results import get
from verify import figures
from verify.claim import Outcome, claim, table
from verify.experiments import Request
from verify.experiments.decay_curve import DecayCurveSpec
from verify.tolerance import compare, invariance_budget, threshold

__all__ = ["LIPSCHITZ_RTOL", "SECTION", "shrinkage", "SIZES"]

SECTION = "R8: weight decay"

SIZES: dict[str, dict[str, Any]] = {
    "quick": dict(runs=32, d=60, ell=40, m=64, n=40, segments=8, steps=250),
    "standard": dict(runs=128, d=100, ell=70, m=100, n=50, segments=10, steps=500),
    "full": dict(runs=512, d=200, ell=150, m=256, n=100, segments=20, steps=1000),
}
ETA, LAM = 0.1, 0.005
#: |N(x0 + z) - N(x0)| <= L ||z|| holds exactly; both sides carry float64 rounding (as R6's sandwich).
LIPSCHITZ_RTOL = 1e-9


def _needs(profile: str) -> dict[str, Request]:
    s = SIZES[profile]
    return {
        "curve": Request(
            "decay_curve",
            DecayCurveSpec(lr=ETA, weight_decay=LAM, **s),
            seed_parts=("R8",),
        )
    }


@claim(
    "R8.shrinkage",
    title="decay shrinks Pi W, g and L by exactly c_T",
    statement="GD with weight decay shrinks Pi W, g and L by exactly c_T = (1 - eta*lam)^T.",
    results=("R8",),
    section=SECTION,
    needs=_needs,
)
def shrinkage(ctx, measurements) -> Outcome:
    curve = measurements["curve"]
    spec = curve.spec
    c = get("R8").array(
        "decay_gd", {"eta": spec.lr, "lam": spec.weight_decay, "T": curve.steps.astype(float)}
    )
    budget = invariance_budget(int(curve.steps[-1].max()), spec.n, spec.d)
    c_T = c[-1]
    weights = compare(
        curve.weight_ratio, c, rtol=budget, what="||Pi W(t)|| / ||Pi W(0)|| = c_t, every run and segment"
    )
    g_pred = c_T[:, None, None] * curve.g_initial
    gradient = compare(
        curve.g,
        g_pred,
        rtol=budget,
        atol=budget * float(np.abs(g_pred).max()),
        what="g = c_T sum_I u_i Pi w_i(0)",
    )
    lipschitz = compare(
        curve.lipschitz, c_T * curve.lipschitz_initial, rtol=budget, what="L = c_T sum |u_i| ||Pi w_i(0)||"
    )
    bound = threshold(
        "max |N(x0+z) - N(x0)| / (L ||z||)",
        float((curve.variation / (curve.lipschitz * curve.z_norm)).max()),
        "<=",
        1 + LIPSCHITZ_RTOL,
        n=len(curve.variation),
    )
    fig, ax = figures.new()
    ts = curve.steps[:, 0]
    ax[0, 0].plot(ts, c[:, 0], "k-", label="(1 - eta*lam)^t (theory)")
    ax[0, 0].plot(ts, curve.weight_ratio.mean(axis=1), "o", label="measured ||Pi W(t)||/||Pi W(0)||")
    ax[0, 0].set_yscale("log")
    ax[0, 0].set_xlabel("GD step t")
    ax[0, 0].legend(fontsize=7)
    ax[0, 0].set_title(f"eta={spec.lr}, lam={spec.weight_decay}")
    rows = [
        (int(t), float(ct[0]), float(r.mean()), float(np.abs(r - ct).max()))
        for t, ct, r in zip(ts, c, curve.weight_ratio, strict=True)
    ]
    return Outcome(
        verdicts=(weights, gradient, lipschitz, bound),
        prediction=f"||Pi W(T)||/||Pi W(0)|| = R8.decay_gd (c_T = {float(c_T[0]):.6g} at T={int(ts[-1])}); "
        f"g and L scaled by c_T",
        method=f"{spec.runs} networks (d={spec.d}, ell={spec.ell}, m={spec.m}, n={spec.n}), GD "
        f"eta={spec.lr}, lam={spec.weight_decay}, "
        f"{spec.segments} segments of {spec.steps} steps. Rounding budget {budget:.1e} (forward-error bound "
        f"over "
        "T (n + d) operations). The output along a random orthogonal direction of norm ||x0|| is bounded by "
        "L ||z|| "
        "on every network and shrinks with c_T: long regularized training makes the network constant "
        "orthogonally "
        "to the data, as at the stationary points of the regularized objective, where Pi w_i = 0.",
        tables=(
            table(
                "Shrinkage of the orthogonal weights",
                [
                    ("step t", "d"),
                    ("c_t (theory)", ".10g"),
                    ("mean measured ratio", ".10g"),
                    ("max |ratio - c_t|", ".1e"),
                ],
                rows,
            ),
        ),
        figures=(figures.save(fig, ctx.figure_path("R8_shrinkage.png")),),
    )
