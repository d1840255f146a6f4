"""Scaling laws of the orthogonal gradient (R3/R7 made into exponents).

From R3, E||g||^2 = c_T^2 s_w^2 S ell / d exactly. Each sweep varies one quantity x, measures per network
a quantity Y whose expectation is an exact power of x, and fits log E[Y] against log x by weighted least
squares on the group means (delta-method standard errors): the fitted slope, halved, is the exponent of
||g||. The predicted exponents come from theory.results (symbolic d log / d log), not typed in here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from numerics.model import InitConfig
from numerics.train import TrainConfig
from theory.results import get as result
from verify import figures
from verify.population import Population, derive_seed, trained_population
from verify.registry import Context, Outcome, Table, check
from verify.statistics import weighted_slope_test

SECTION = "Scaling laws of the orthogonal gradient"


@dataclass(frozen=True)
class Sweep:
    """What one sweep varies, how it builds each population, and the per-network quantity Y."""

    tag: str
    x_name: str
    xs: Sequence[float]
    build: Callable[[Context, float], Population]
    quantity: Callable[[Population], np.ndarray]  # Y per network, E[Y] an exact power of x
    y_name: str


def sweep_populations(ctx: Context, sweep: Sweep) -> list[Population]:
    return [sweep.build(ctx, x) for x in ctx.progress(sweep.xs, desc=sweep.tag)]


def exponent_outcome(
    ctx: Context, sweep: Sweep, pops: list[Population], predicted_exponent: float, alpha: float | None = None
) -> Outcome:
    """Fit the exponent of ||g|| (half the slope of log E[Y] on log x) and test it against the theory."""
    alpha = ctx.false_fail_rate if alpha is None else alpha
    groups = [
        (x, sweep.quantity(p)[p.ok.cpu().numpy()], p.result.train_accuracy.mean().item())
        for x, p in zip(sweep.xs, pops, strict=True)
    ]
    xs = np.array([g[0] for g in groups], dtype=float)
    means = np.array([g[1].mean() for g in groups])
    ses = np.array([g[1].std(ddof=1) / np.sqrt(len(g[1])) for g in groups])
    test = weighted_slope_test(xs, means, ses, 2 * predicted_exponent, alpha=alpha, log=True)
    fitted, half = test.slope / 2, test.half_width / 2
    fig, ax = figures.new()
    a = ax[0, 0]
    a.errorbar(xs, means, yerr=2 * ses, fmt="o", label=f"mean {sweep.y_name} (+-2 se)")
    grid = np.geomspace(xs.min(), xs.max(), 50)
    a.plot(grid, np.exp(test.intercept) * grid**test.slope, "-", label=f"fit: exponent of ||g|| {fitted:.3f}")
    a.plot(
        grid,
        np.exp(test.intercept_at_predicted) * grid ** (2 * predicted_exponent),
        "k--",
        label=f"predicted exponent {predicted_exponent:g}",
    )
    a.set_xscale("log")
    a.set_yscale("log")
    a.set_xlabel(sweep.x_name)
    a.set_ylabel(sweep.y_name)
    a.legend(fontsize=7)
    name = figures.save(fig, ctx.figure_path(f"scaling_{sweep.tag}.png"))
    rows = tuple(
        (f"{x:g}", len(y), f"{y.mean():.4g}", f"{se:.2g}", f"{acc:.3f}")
        for (x, y, acc), se in zip(groups, ses, strict=True)
    )
    return Outcome(
        passed=test.passed,
        predicted=f"exponent of ||g|| in {sweep.x_name}: {predicted_exponent:g}",
        measured=f"{fitted:.3f} +- {half:.3f}",
        statistic=f"{1 - alpha:.6g} CI of the exponent [{fitted - half:.3f}, {fitted + half:.3f}] "
        f"{'contains' if test.passed else 'excludes'} {predicted_exponent:g}",
        notes=f"Weighted least squares of log(mean {sweep.y_name}) on log {sweep.x_name}, weights from the "
        f"delta-method standard error of each group mean; the interval is normal at level "
        f"1 - {alpha:.2g}. It detects a deviation of the exponent larger than {half:.3f}.",
        tables=[
            Table(
                f"Groups of the {sweep.x_name} sweep",
                (sweep.x_name, "networks", f"mean {sweep.y_name}", "std. error", "train acc"),
                rows,
            )
        ],
        figures=[name],
        details={"test": test.as_dict(), "fitted_exponent": fitted, "half_width": half},
    )


def run_sweep(ctx: Context, sweep: Sweep, predicted_exponent: float) -> Outcome:
    return exponent_outcome(ctx, sweep, sweep_populations(ctx, sweep), predicted_exponent)


SIZES: dict[str, dict[str, Any]] = {
    "quick": dict(runs=200, steps=100, d=48, m=32, widths=(16, 32, 64, 128)),
    "standard": dict(runs=500, steps=300, d=100, m=100, widths=(16, 32, 64, 128, 256)),
    "full": dict(runs=2000, steps=1000, d=200, m=128, widths=(32, 64, 128, 256, 512, 1024)),
}


def _population(
    ctx: Context, tag: str, x: float, *, d: int, ell: int, init: InitConfig, train_output: bool = True
) -> Population:
    s = ctx.size(SIZES)
    return trained_population(
        seed=derive_seed(ctx.seed, tag, x),
        runs=s["runs"],
        d=d,
        ell=ell,
        n=40,
        init=init,
        config=TrainConfig(lr=0.2, steps=s["steps"], train_output=train_output),
        device=ctx.device,
    )


def _g2_over_S(pop: Population) -> np.ndarray:
    return (pop.grad_norm[:, 0] ** 2 / pop.S[:, 0]).cpu().numpy()


def _g2_over_active_fraction(pop: Population) -> np.ndarray:
    m = pop.net.width
    return (pop.grad_norm[:, 0] ** 2 * m / pop.k[:, 0].clamp(min=1)).cpu().numpy()


@check(
    "scaling.ell",
    claim="||g|| grows like (ell/d)^(1/2) at fixed S",
    result="R3",
    statistical=True,
    section=SECTION,
)
def ell_exponent(ctx: Context) -> Outcome:
    s = ctx.size(SIZES)
    d = s["d"]
    ells = [d // 8, d // 4, d // 2, d - d // 8]
    sweep = Sweep(
        "ell",
        "ell/d",
        [e / d for e in ells],
        lambda c, x: _population(c, "ell", x, d=d, ell=round(x * d), init=InitConfig(m=s["m"])),
        _g2_over_S,
        "||g||^2 / S",
    )
    return run_sweep(ctx, sweep, float(result("R7").exponent("ell_over_d")))


def _width_check(ctx: Context, scaling: str, exponent_key: str) -> Outcome:
    s = ctx.size(SIZES)
    d = s["d"]
    widths = s["widths"]
    sweep = Sweep(
        f"width_{scaling}",
        "m",
        widths,
        lambda c, m: _population(
            c,
            f"width_{scaling}",
            m,
            d=d,
            ell=d // 2,
            init=InitConfig(m=int(m), output_scaling=scaling),
            train_output=False,
        ),
        _g2_over_active_fraction,
        "||g||^2 m / k",
    )
    return run_sweep(ctx, sweep, float(result("R7").exponent(exponent_key)))


@check(
    "scaling.width_sqrt",
    claim="at a fixed active fraction ||g|| is flat in m under 1/sqrt(m) output scale",
    result="R3",
    statistical=True,
    section=SECTION,
)
def width_sqrt(ctx: Context) -> Outcome:
    return _width_check(ctx, "sqrt", "width_sqrt")


@check(
    "scaling.width_mean_field",
    claim="at a fixed active fraction ||g|| ~ m^(-1/2) under 1/m output scale",
    result="R3",
    statistical=True,
    section=SECTION,
)
def width_mean_field(ctx: Context) -> Outcome:
    return _width_check(ctx, "mean_field", "width_mean_field")
