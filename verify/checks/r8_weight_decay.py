"""R8: weight decay shrinks the orthogonal weights by exactly c_T = (1 - eta*lam)^T.

Exact rules on one regularized GD population continued segment after segment: ||Pi W(t)||_F = c_t ||Pi
W(0)||_F
per run at every segment end, g = c_T sum_{i in I} u_i(T) Pi w_i(0) and L = c_T sum_i |u_i(T)| ||Pi w_i(0)||
at the end, with c_t from R8's decay_gd, all within the float64 budget; and |N(x0 + z) - N(x0)| <= L ||z||
for a random orthogonal z. As c_T -> 0 the network becomes constant along P^perp (stationary points have
Pi w_i = 0).

Per cell (a sweep or `verify at` cell with weight decay, GD or SGD): the same four rules on the cell's one
training run, T its steps taken, from the population's "weights" and "shrinkage" measurements.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from theory.results import get
from verify import figures
from verify.checks.r1_invariance import trained_runs
from verify.claim import Outcome, claim, table
from verify.experiments import Request
from verify.experiments.decay_curve import DecayCurveSpec
from verify.per_cell import Headline, PerCell, Scope, column, hidden
from verify.statistics import Verdict
from verify.tolerance import compare, invariance_budget, threshold

__all__ = [
    "decide_shrinkage",
    "LIPSCHITZ_RTOL",
    "measure_curve_shrinkage",
    "measure_population_shrinkage",
    "SECTION",
    "shrinkage",
    "shrinkage_headline",
    "ShrinkageRecord",
    "SIZES",
]

SECTION = "R8: weight decay"

SIZES: dict[str, dict[str, Any]] = {
    "quick": dict(runs=32, d=60, ell=40, m=64, n=40, segments=8, steps=250),
    "standard": dict(runs=64, d=100, ell=70, m=100, n=50, segments=10, steps=500),
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


@dataclass(frozen=True)
class ShrinkageRecord:
    """R8's numbers on one population: c_t (theory) against ||Pi W(t)|| / ||Pi W(0)||, g against c_T G0, L
    against c_T L0, and the worst output change along z relative to L ||z||."""

    T: int = column("d", "steps T")
    c_T: float = column(".10g", "c_T (theory)")
    ratio: float = column(".10g", "median ||Pi W(T)|| / ||Pi W(0)||")
    ratio_error: float = column(".1e", "max |ratio - c_t|")
    variation: float = column(".3g", "max |N(x0+z) - N(x0)| / (L ||z||)")
    budget: float = column(".1e", "rounding budget")
    ratios: np.ndarray = hidden()  # ||Pi W(t)|| / ||Pi W(0)||, per segment end and run
    decay: np.ndarray = hidden()  # c_t at the same steps
    g: np.ndarray = hidden()
    g_predicted: np.ndarray = hidden()  # c_T G0
    lipschitz: np.ndarray = hidden()
    lipschitz_predicted: np.ndarray = hidden()  # c_T L0
    points: int = hidden()  # the output changes the bound was checked on


def _record(ratios, steps, eta, lam, budget, shrunk_g, g0, lip, lip0, variation, z_norm) -> ShrinkageRecord:
    """The record from the measured arrays: `ratios` and `steps` per segment end (or once) and run."""
    c = get("R8").array("decay_gd", {"eta": eta, "lam": lam, "T": steps.astype(float)})
    c_T = c[-1]
    bound = variation / (lip[:, None] * z_norm) if variation.ndim == 2 else variation / (lip * z_norm)
    return ShrinkageRecord(
        T=int(steps[-1].max()),
        c_T=float(np.median(c_T)),
        ratio=float(np.median(ratios[-1])),
        ratio_error=float(np.abs(ratios - c).max()),
        variation=float(bound.max()),
        budget=budget,
        ratios=ratios,
        decay=c,
        g=shrunk_g,
        g_predicted=c_T.reshape(-1, *[1] * (g0.ndim - 1)) * g0,
        lipschitz=lip,
        lipschitz_predicted=c_T * lip0,
        points=int(bound.size),
    )


def measure_curve_shrinkage(curve) -> ShrinkageRecord:
    """R8's record on the decay curve: every segment end of every run."""
    spec = curve.spec
    budget = invariance_budget(int(curve.steps[-1].max()), spec.n, spec.d)
    return _record(
        curve.weight_ratio, curve.steps, spec.lr, spec.weight_decay, budget, curve.g, curve.g_initial,
        curve.lipschitz, curve.lipschitz_initial, curve.variation, curve.z_norm,
    )  # fmt: skip


def measure_population_shrinkage(pop) -> ShrinkageRecord:
    """R8's record on one population trained with weight decay (the runs that did not diverge), T the
    steps each run took."""
    keep = ~pop.diverged
    pop = trained_runs(pop)
    w, shrunk = pop.weights, pop.shrinkage
    ratios = np.linalg.norm(w.final, axis=(1, 2)) / np.linalg.norm(w.initial, axis=(1, 2))
    budget = invariance_budget(int(pop.steps_taken.max()), pop.n, pop.d)
    return _record(
        ratios[None], pop.steps_taken[None], pop.spec.lr, pop.spec.weight_decay, budget, shrunk.g[keep],
        shrunk.g_initial[keep], shrunk.lipschitz[keep], shrunk.lipschitz_initial[keep],
        shrunk.variation[keep], shrunk.z_norm[keep],
    )  # fmt: skip


def decide_shrinkage(records, alpha=None) -> tuple[Verdict, ...]:
    """Per population (exact rules): the weight ratio = c_t, g = c_T G0 and L = c_T L0 within the float64
    budget, and |N(x0 + z) - N(x0)| <= L ||z||."""
    verdicts: list[Verdict] = []
    for label, r in records.items():
        name = f"{label}: " if label else ""
        verdicts += [
            compare(
                r.ratios,
                r.decay,
                rtol=r.budget,
                what=f"{name}||Pi W(t)|| / ||Pi W(0)|| = c_t, every run and segment",
            ),
            compare(
                r.g,
                r.g_predicted,
                rtol=r.budget,
                atol=r.budget * float(np.abs(r.g_predicted).max()),
                what=f"{name}g = c_T sum_I u_i Pi w_i(0)",
            ),
            compare(
                r.lipschitz,
                r.lipschitz_predicted,
                rtol=r.budget,
                what=f"{name}L = c_T sum |u_i| ||Pi w_i(0)||",
            ),
            threshold(
                f"{name}max |N(x0+z) - N(x0)| / (L ||z||)", r.variation, "<=", 1 + LIPSCHITZ_RTOL, n=r.points
            ),
        ]
    return tuple(verdicts)


def shrinkage_headline(r: ShrinkageRecord) -> Headline:
    return Headline(r.c_T, r.ratio, {"tightness": r.ratio_error / r.budget})


def _why_not(point) -> str | None:
    if not point["weight_decay"]:
        return (
            "weight_decay=0: R8 is about training with weight decay (c_T = 1; R1.invariance covers lam = 0)"
        )
    if point["optimizer"] not in ("gd", "sgd"):
        return (
            f"optimizer={point['optimizer']!r}: R8's c_T = (1 - eta*lam)^T is for gd or sgd "
            "(R1.weight_decay covers momentum and flow)"
        )
    return None


@claim(
    "R8.shrinkage",
    title="decay shrinks Pi W, g and L by exactly c_T",
    statement="GD with weight decay shrinks Pi W, g and L by exactly c_T = (1 - eta*lam)^T.",
    results=("R8",),
    section=SECTION,
    needs=_needs,
    cell=PerCell(
        measure_population_shrinkage,
        decide_shrinkage,
        tests=0,
        measurements=("weights", "shrinkage"),
        quantity="c_T: theory (median over runs) vs ||Pi W(T)|| / ||Pi W(0)|| (median)",
        headline=shrinkage_headline,
        scope=Scope("weight_decay > 0, optimizer gd or sgd", _why_not),
    ),
)
def shrinkage(ctx, measurements) -> Outcome:
    curve = measurements["curve"]
    spec = curve.spec
    record = measure_curve_shrinkage(curve)
    c, budget = record.decay, record.budget
    c_T = c[-1]
    fig, ax = figures.new()
    ts = curve.steps[:, 0]
    ax[0, 0].plot(ts, c[:, 0], "k-", label="(1 - eta*lam)^t (theory)")
    ax[0, 0].plot(ts, curve.weight_ratio.mean(axis=1), "o", label="measured ||Pi W(t)||/||Pi W(0)||")
    ax[0, 0].set_yscale("log")
    ax[0, 0].set_xlabel("GD step t")
    ax[0, 0].legend(fontsize=7)
    ax[0, 0].set_title(f"eta={spec.lr}, lam={spec.weight_decay}")
    rows = [
        {
            "step t": int(t),
            "c_t (theory)": float(ct[0]),
            "mean measured ratio": float(r.mean()),
            "max |ratio - c_t|": float(np.abs(r - ct).max()),
        }
        for t, ct, r in zip(ts, c, curve.weight_ratio, strict=True)
    ]
    return Outcome(
        verdicts=decide_shrinkage({"": record}),
        prediction=f"||Pi W(T)||/||Pi W(0)|| = R8.decay_gd (c_T = {float(c_T[0]):.6g} at T={int(ts[-1])}); "
        f"g and L scaled by c_T",
        method=f"{spec.runs} networks (d={spec.d}, ell={spec.ell}, m={spec.m}, n={spec.n}), GD "
        f"eta={spec.lr}, lam={spec.weight_decay}, {spec.segments} segments of {spec.steps} steps. Rounding "
        f"budget {budget:.1e} (forward-error bound over T (n + d) operations). The output along a random "
        "orthogonal direction of norm ||x0|| is bounded by L ||z|| on every network and shrinks with c_T: "
        "long regularized training makes the network constant orthogonally to the data, as at the stationary "
        "points of the regularized objective, where Pi w_i = 0.",
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
