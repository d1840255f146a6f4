"""Scaling laws of the orthogonal gradient (R3/R7 made into exponents).

From R3, E||g||^2 = c_T^2 (beta s_w)^2 S ell / d exactly. Each sweep varies one quantity x, measures per
network a Y whose expectation is an exact power of x, and fits log E[Y] on log x by weighted least
squares on the group means (delta-method standard errors). Prediction: the exponent of ||g||, from
theory.results R7 (symbolic d log / d log); the fitted slope of E[Y] is twice it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from theory.results import get
from verify import figures
from verify.claim import Detection, Outcome, claim, table
from verify.experiments import Request
from verify.experiments.population import PopulationMeasurement, PopulationSpec
from verify.statistics import slope_power, weighted_slope_test

__all__ = [
    "ell_exponent",
    "exponent_rule",
    "EXPONENT_TARGET",
    "SECTION",
    "SIZES",
    "width_mean_field",
    "width_sqrt",
]

SECTION = "Scaling laws of the orthogonal gradient"

SIZES: dict[str, dict[str, Any]] = {
    "quick": dict(runs=200, steps=100, d=48, m=32, widths=(16, 32, 64, 128)),
    "standard": dict(runs=350, steps=300, d=100, m=100, widths=(16, 32, 64, 128, 256)),
    "full": dict(runs=2000, steps=1000, d=200, m=128, widths=(32, 64, 128, 256, 512, 1024)),
}


def _request(tag: str, x: float, s: dict, **spec) -> Request:
    return Request(
        "population",
        PopulationSpec.of(runs=s["runs"], n=40, lr=0.2, steps=s["steps"], **spec),
        seed_parts=(tag, x),
    )


def _ells(d: int) -> list[int]:
    return [d // 8, d // 4, d // 2, d - d // 8]


def _g2_over_S(pop: PopulationMeasurement) -> np.ndarray:
    g = pop.gradient
    assert g is not None
    return (g.g_norm[:, 0] ** 2 / g.S[:, 0])[pop.ok]


def _g2_over_active_fraction(pop: PopulationMeasurement) -> np.ndarray:
    g = pop.gradient
    assert g is not None
    return (g.g_norm[:, 0] ** 2 * pop.spec.m / np.maximum(g.k[:, 0], 1))[pop.ok]


#: The detection target of every exponent claim: an exponent of ||g|| off by 0.1 (a slope of E||g||^2 off by
#: 0.2).
EXPONENT_TARGET = 0.1


def exponent_rule(
    ctx,
    pops,
    xs: list[float],
    quantity: Callable[[PopulationMeasurement], np.ndarray],
    predicted: float,
    x_name: str,
    y_name: str,
    tag: str,
) -> Outcome:
    """Fit the exponent of ||g|| (half the slope of log E[Y] on log x) and test it against the theory."""
    samples = [quantity(p) for p in pops.values()]
    means = np.array([y.mean() for y in samples])
    ses = np.array([y.std(ddof=1) / np.sqrt(len(y)) for y in samples])
    x = np.array(xs, dtype=float)
    test = weighted_slope_test(
        x,
        means,
        ses,
        2 * predicted,
        alpha=ctx.test_alpha,
        samples=sum(len(y) for y in samples),
        name=f"log mean {y_name} on log {x_name} (twice the exponent of ||g||)",
    )
    fig, ax = figures.new()
    a = ax[0, 0]
    a.errorbar(x, means, yerr=2 * ses, fmt="o", label=f"mean {y_name} (+-2 se)")
    grid = np.geomspace(x.min(), x.max(), 50)
    a.plot(
        grid,
        np.exp(test.intercept) * grid**test.slope,
        "-",
        label=f"fit: exponent of ||g|| {test.slope / 2:.3f}",
    )
    a.plot(
        grid,
        np.exp(test.intercept_at_predicted) * grid ** (2 * predicted),
        "k--",
        label=f"theory: exponent {predicted:g}",
    )
    a.set_xscale("log")
    a.set_yscale("log")
    a.set_xlabel(x_name)
    a.set_ylabel(y_name)
    a.legend(fontsize=7)
    rows = [
        {x_name: xv, "networks": len(y), f"mean {y_name}": y.mean(), "std. error": se}
        | {"train acc": p.train_accuracy.mean()}
        for xv, y, se, p in zip(xs, samples, ses, pops.values(), strict=True)
    ]
    return Outcome(
        verdicts=(test,),
        prediction=f"exponent of ||g|| in {x_name}: {predicted:g} (theory.results R7, d log / d log of "
        f"E||g||^2)",
        method=f"Weighted least squares of log(mean {y_name}) on log {x_name}, weights from the delta-method "
        "standard error of each group mean; the interval is normal. The fitted slope is twice the exponent "
        f"of ||g||: exponent {test.slope / 2:.4g} +- {test.half_width / 2:.3g}; a deviation of the exponent "
        f"of {test.detectable / 2:.3g} is caught at power {test.power:g}.",
        tables=(
            table(
                f"Groups of the {x_name} sweep",
                [
                    (x_name, "g"),
                    ("networks", "d"),
                    (f"mean {y_name}", ".4g"),
                    ("std. error", ".2g"),
                    ("train acc", ".3f"),
                ],
                rows,
            ),
        ),
        figures=(figures.save(fig, ctx.figure_path(f"scaling_{tag}.png")),),
        detections=(
            Detection(
                f"exponent of ||g|| in {x_name} off by {EXPONENT_TARGET:g}",
                "weighted slope test (plug-in standard error)",
                test.n,
                test.alpha,
                slope_power(test.stderr, test.half_width, 2 * EXPONENT_TARGET),
            ),
        ),
    )


def _ell_needs(profile: str) -> dict[str, Request]:
    s = SIZES[profile]
    d = s["d"]
    return {f"ell/d={e / d:g}": _request("ell", e / d, s, d=d, ell=e, m=s["m"]) for e in _ells(d)}


@claim(
    "scaling.ell",
    title="||g|| grows like (ell/d)^(1/2) at fixed S",
    statement="At fixed S, E||g||^2 grows linearly in ell/d: the exponent of ||g|| in ell/d is 1/2.",
    results=("R7",),
    section=SECTION,
    needs=_ell_needs,
    tests=1,
)
def ell_exponent(ctx, pops) -> Outcome:
    d = SIZES[ctx.profile]["d"]
    xs = [e / d for e in _ells(d)]
    return exponent_rule(
        ctx, pops, xs, _g2_over_S, float(get("R7").exponent("ell_over_d")), "ell/d", "||g||^2 / S", "ell"
    )


def _width_needs(scaling: str):
    def requests(profile: str) -> dict[str, Request]:
        s = SIZES[profile]
        d = s["d"]
        return {
            f"m={m}": _request(
                f"width_{scaling}",
                m,
                s,
                d=d,
                ell=d // 2,
                m=int(m),
                output_scaling=scaling,
                train_output=False,
            )
            for m in s["widths"]
        }

    return requests


def _width_rule(ctx, pops, scaling: str, key: str) -> Outcome:
    xs = list(SIZES[ctx.profile]["widths"])
    predicted = float(get("R7").exponent(key))
    return exponent_rule(
        ctx, pops, xs, _g2_over_active_fraction, predicted, "m", "||g||^2 m / k", f"width_{scaling}"
    )


@claim(
    "scaling.width_sqrt",
    title="||g|| flat in m under 1/sqrt(m) output scale",
    statement="With a fixed output layer |u_i| = s_u/sqrt(m) and a fixed active fraction, ||g|| does not "
    "depend on m.",
    results=("R7",),
    section=SECTION,
    needs=_width_needs("sqrt"),
    tests=1,
)
def width_sqrt(ctx, pops) -> Outcome:
    return _width_rule(ctx, pops, "sqrt", "width_sqrt")


@claim(
    "scaling.width_mean_field",
    title="||g|| ~ m^(-1/2) under 1/m output scale",
    statement="With a fixed mean-field output layer |u_i| = s_u/m and a fixed active fraction, ||g|| ~ "
    "m^(-1/2).",
    results=("R7",),
    section=SECTION,
    needs=_width_needs("mean_field"),
    tests=1,
)
def width_mean_field(ctx, pops) -> Outcome:
    return _width_rule(ctx, pops, "mean_field", "width_mean_field")
