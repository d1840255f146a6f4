"""R9's verdicts and tables: the ordering tests of one figure and R6's sandwich on every training point of
its three settings, with the training and radius tables (the settings themselves:
`verify.checks.helpers.figure_settings`)."""

from __future__ import annotations

import numpy as np
import torch

from numerics.attacks import check_sandwich
from verify.checks.helpers.figure_settings import (
    BASELINE,
    TARGET_MARGIN,
    FigureSpec,
    medians,
    ordering_tests,
)
from verify.checks.r6_sandwich import SANDWICH_RTOL
from verify.claim import Outcome, table
from verify.design import reversed_direction_detection
from verify.experiments.population import PopulationMeasurement
from verify.tolerance import Threshold, threshold

__all__ = ["figure_outcome", "sandwich_verdict", "tightest_ratio"]


def tightest_ratio(certified: np.ndarray, radius: np.ndarray) -> float | None:
    """max certified/r_perp over the points with a finite, positive r_perp (None where there is none): a
    point without a flip (r_perp = inf) or on the decision boundary (r_perp = 0, so certified = 0) has no
    ratio, and 0/0 would make the table's maximum NaN."""
    usable = np.isfinite(radius) & (radius > 0)
    return float(np.max(certified[usable] / radius[usable])) if usable.any() else None


def figure_outcome(
    ctx, figure: FigureSpec, pops: dict[str, PopulationMeasurement], picture: str, extra: str
) -> Outcome:
    """The ordering verdicts of one figure and its sandwich, with the training and radius tables."""
    tests = ordering_tests(pops, ctx.test_alpha)
    sandwich = sandwich_verdict(pops)
    train_rows, radius_rows = [], []
    for key, pop in pops.items():
        ok, steps = ~pop.diverged, pop.steps_taken
        reached = sum(s == "converged" for s in pop.status)
        train_rows.append(
            {
                "setting": key,
                "beta": pop.spec.beta,
                "lam": pop.spec.weight_decay,
                "eta": pop.spec.lr,
                "networks": len(steps),
                "reached margin": reached,
                "median steps": int(np.median(steps)),
                "min steps": int(steps.min()),
                "max steps": int(steps.max()),
                "median final margin": float(np.median(pop.final_margin)),
                "train acc": pop.train_accuracy.mean(),
            }
        )
        normal = pop.normal
        assert normal is not None, "the figure settings measure the normal radii"
        finite = np.isfinite(normal.radius[ok])
        bound = max(float(np.max(c[ok])) for c in normal.condition.values())
        radius_rows.append(
            {
                "setting": key,
                "median r_perp (all points)": float(np.median(normal.radius[ok])),
                "median of per-network medians": float(np.median(medians(pop))),
                "median certified |N|/L": float(np.median(normal.certified[ok])),
                "median gradient flip": float(np.median(normal.gradient_flip[ok])),
                "median best-of attack": float(np.median(normal.attack[ok])),
                "fraction without flip": 1 - finite.mean(),
                "max certified/r_perp": tightest_ratio(normal.certified[ok], normal.radius[ok]),
                "max rounding bound": bound,
            }
        )
    first = next(iter(pops.values())).normal
    assert first is not None
    n = first.radius.shape[1]
    return Outcome(
        verdicts=(*tests.values(), sandwich),
        detections=tuple(
            reversed_direction_detection(
                f"ordering of r_perp, {key} against {BASELINE}",
                "one-sided Mann-Whitney test",
                t.n_a + t.n_b,
                ctx.test_alpha,
            )
            for key, t in tests.items()
        ),
        prediction="r_perp(small init) > r_perp(vanilla) (R7.exponent_certified_radius_beta < 0) and "
        "r_perp(weight decay) > r_perp(vanilla) (R8.decay_gd below 1 at the runs' steps): per-network median "
        "radius, stochastically larger",
        method=(
            f"**Training.** {figure.dataset} set, width m={figure.m}, full-batch GD on the logistic loss, "
            f"eta={figure.lr}, biases trained, stopped at training margin >= {TARGET_MARGIN} (the authors' "
            f"rule) or after {figure.max_steps} steps. Vanilla: w_i ~ N(0, I/d), b_i ~ N(0, 1/d), u_i = "
            f"+-1/sqrt(m). Small init: W and b scaled by beta={figure.beta}. Weight decay: coupled, "
            f"lam={figure.lam} on every parameter. {figure.runs[ctx.profile]} independently seeded networks "
            f"per setting ({ctx.profile} profile; {', '.join(f'{p} {k}' for p, k in figure.runs.items())}). "
            "**Radii.** r_perp is exact: the smaller first flip along +-n, n = "
            f"{tuple(round(v, 4) for v in figure.normal)} (the breakpoint walk). The gradient flip (R5) and "
            "the best-of attack within span{n} (numerics.minimal_flip) are upper bounds and the certificate "
            "|N(x0)|/L (R6) a lower bound; the sandwich certificate <= r_perp <= both attacks is asserted on "
            f"every point (a violation raises), with an allowance of {SANDWICH_RTOL:g} plus both sides' "
            "first-order rounding bounds (numerics.conditioning; large only where the network is nearly flat "
            "along n, as R8's decay makes it: the table's last column). **Test.** Per network, the median of "
            f"r_perp over the {n} training points; a one-sided Mann-Whitney test per non-vanilla setting "
            "against vanilla, at the per-test rate. A network with no flip at all (inf) ranks above every "
            "finite radius. Panels show the network of median radius in each setting; segments mark each "
            f"point's nearest orthogonal flip. {extra}"
        ),
        tables=(
            table(
                "Training (per setting)",
                [
                    "setting",
                    ("beta", "g"),
                    ("lam", "g"),
                    ("eta", "g"),
                    ("networks", "d"),
                    ("reached margin", "d"),
                    ("median steps", "d"),
                    ("min steps", "d"),
                    ("max steps", "d"),
                    ("median final margin", ".3f"),
                    ("train acc", ".3f"),
                ],
                train_rows,
            ),
            table(
                "Orthogonal radii at the training points",
                [
                    "setting",
                    ("median r_perp (all points)", ".4g"),
                    ("median of per-network medians", ".4g"),
                    ("median certified |N|/L", ".4g"),
                    ("median gradient flip", ".4g"),
                    ("median best-of attack", ".4g"),
                    ("fraction without flip", ".3f"),
                    ("max certified/r_perp", ".3f"),
                    ("max rounding bound", ".2g"),
                ],
                radius_rows,
            ),
        ),
        figures=(picture,),
        details={
            "medians": {k: medians(p) for k, p in pops.items()},
            "steps": {k: p.steps_taken for k, p in pops.items()},
        },
    )


def sandwich_verdict(pops: dict[str, PopulationMeasurement]) -> Threshold:
    """R6's sandwich on every training point of every setting: certified <= r_perp <= both attacks, each
    comparison allowed SANDWICH_RTOL plus both sides' rounding bounds (check_sandwich raises on a violation:
    a bug in one of the routes, never a statistic). The verdict's value is the largest lower/upper ratio
    relative to its point's allowance."""
    worst, points = 0.0, 0
    for pop in pops.values():
        r = pop.normal
        assert r is not None, "the figure settings measure the normal radii"
        ends = {
            key: torch.from_numpy(getattr(r, key))
            for key in ("certified", "radius", "gradient_flip", "attack")
        }
        bounds = {key: torch.from_numpy(c) for key, c in r.condition.items()}
        for low, high in (("certified", "radius"), ("radius", "gradient_flip"), ("radius", "attack")):
            condition = bounds[low] + bounds[high]
            worst = max(worst, check_sandwich(ends[low], ends[high], rtol=SANDWICH_RTOL, condition=condition))
        points += r.radius.size
    return threshold(
        "max lower/upper end of the sandwich, relative to its rounding allowance",
        worst,
        "<=",
        1 + SANDWICH_RTOL,
        n=points,
    )
