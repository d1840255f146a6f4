"""Real data: scikit-learn's handwritten digits (even vs odd), reduced to r dimensions and embedded
isometrically in a random r-dimensional subspace P of R^d, for growing codimension ell = d - r.

The derived results do not care where the points of P come from, so they must hold on real images too:
R1 (GD leaves Pi W unchanged, exact), R3 (Q ~ chi2_ell at held-out test digits, one per network) and the
adversarial picture of R5: as ell/d grows the orthogonal gradient ||g||^2 ~ S ell/d grows while the
network's behaviour on P does not depend on ell, so orthogonal attacks get cheaper relative to
on-manifold ones.

Subspace: one Haar-random P per d (shared by the batch), not one per run. Isotropic Gaussian
initialization and GD are rotation-equivariant, so the joint law of every quantity measured here is the
same for every P; one draw loses nothing, and given P the R runs (independent inits, independent
train/test splits of the digits) are independent. A fixed P also lets one projector serve the batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from numerics.attacks import minimal_l2_attack
from numerics.datasets import make_dataset
from numerics.measure import accuracy, active_set, chi_square_statistic, orthogonal_gradient
from numerics.model import InitConfig, initialize
from numerics.train import TrainConfig, TrainResult, train
from verify import figures
from verify.checks.chi_square import law_tests
from verify.checks.invariance import invariance_budget, relative_invariance_error
from verify.population import derive_seed
from verify.registry import Context, Outcome, Table, check
from verify.statistics import SlopeResult, slope_test, split_rate

SECTION = "Real data: handwritten digits"


@dataclass(frozen=True)
class RealSizes:
    """One profile's experiment: digits reduced to r dimensions, embedded in each d of `ds`."""

    r: int
    ds: tuple[int, ...]
    runs: int  # networks per d (independent inits and train/test splits)
    n: int  # training digits per network
    n_test: int  # held-out digits per network (the first one is the evaluation point x0)
    m: int
    steps: int
    lr: float = 0.2


SIZES = {
    "quick": RealSizes(r=10, ds=(20, 40, 80), runs=100, n=100, n_test=100, m=32, steps=120),
    "standard": RealSizes(r=20, ds=(40, 80, 160, 320), runs=200, n=150, n_test=200, m=32, steps=200),
    "full": RealSizes(r=20, ds=(40, 80, 160, 320, 640), runs=1000, n=300, n_test=300, m=64, steps=500),
}


@dataclass
class DigitsRun:
    """R networks trained on embedded digits in R^d, and what the three checks read."""

    d: int
    ell: int
    result: TrainResult
    invariance: np.ndarray  # (R,) relative invariance error
    budget: float
    Q: np.ndarray  # (R,) Q at the first held-out digit; NaN where S = 0
    test_accuracy: np.ndarray  # (R,)
    x_norm: np.ndarray  # (R,) ||x0||
    radii: dict[str, np.ndarray]  # "orthogonal" / "on_manifold" / "unrestricted": (R,) radius, inf if none


@lru_cache(maxsize=16)
def digits_run(seed: int, device: str, d: int, sizes: RealSizes) -> DigitsRun:
    """Train sizes.runs networks on digits embedded in R^d and measure everything at held-out digits."""
    ell = d - sizes.r
    data = make_dataset(
        "digits", runs=sizes.runs, seed=seed, d=d, ell=ell, n=sizes.n, n_test=sizes.n_test, device=device
    )
    assert data.subspace is not None and data.X_test is not None and data.y_test is not None
    init = InitConfig(m=sizes.m)
    net0 = initialize(init, d, sizes.runs, seed=seed + 1, device=device)
    result = train(net0, data.X, data.y, TrainConfig(optimizer="gd", lr=sizes.lr, steps=sizes.steps))
    net, B = result.net, data.subspace.basis
    perp = data.subspace.perp_projector()
    X0 = data.X_test[:, :1]  # one test digit per network: the Q and radii are independent across networks
    act = active_set(net, X0)
    Q = chi_square_statistic(
        orthogonal_gradient(net, X0, perp),
        act.S,
        d=d,
        s_w=init.hidden_std,
        c_T=result.decay_factor.to(device),
    )
    Q = torch.where(act.S > 0, Q, torch.full_like(Q, math.nan))
    projectors = {"orthogonal": perp, "on_manifold": B @ B.T, "unrestricted": None}
    radii = {name: minimal_l2_attack(net, X0, P).norm[:, 0].cpu().numpy() for name, P in projectors.items()}
    return DigitsRun(
        d,
        ell,
        result,
        relative_invariance_error(net.W, net0.W, perp),
        invariance_budget(sizes.steps, sizes.n, d),
        Q[:, 0].cpu().numpy(),
        accuracy(net, data.X_test, data.y_test).cpu().numpy(),
        X0.norm(dim=-1)[:, 0].cpu().numpy(),
        radii,
    )


def digits_runs(ctx: Context, sizes: RealSizes | None = None) -> list[DigitsRun]:
    """One DigitsRun per d of the profile (computed once per process, shared by the three checks)."""
    sizes = sizes or ctx.size(SIZES)
    seed = derive_seed(ctx.seed, "real", sizes.r)
    return [digits_run(seed, ctx.device, d, sizes) for d in ctx.progress(sizes.ds, desc="digits")]


def _setup(sizes: RealSizes) -> str:
    return (
        f"Digits even (+1) vs odd (-1), PCA to r = {sizes.r}, embedded in R^d for d in {list(sizes.ds)}; "
        f"{sizes.runs} networks per d (width {sizes.m}, standard init, GD lr {sizes.lr}, {sizes.steps} "
        f"steps, logistic loss, output layer trained) on {sizes.n} training digits each; x0 = the first of "
        f"{sizes.n_test} held-out digits of that network's split."
    )


# --- R1 on digits ------------------------------------------------------------------------------------


def invariance_outcome(runs: list[DigitsRun], sizes: RealSizes) -> Outcome:
    """Pass iff every network's relative invariance error is within its float64 budget."""
    rows = tuple(
        (
            r.d,
            r.ell,
            f"{r.invariance.max():.2e}",
            f"{r.budget:.1e}",
            "yes" if r.invariance.max() <= r.budget else "no",
        )
        for r in runs
    )
    worst = max(float((r.invariance / r.budget).max()) for r in runs)
    return Outcome(
        passed=worst <= 1.0,
        predicted="Pi W(T) = Pi W(0) exactly on every network (GD, no weight decay: c_T = 1)",
        measured=f"worst relative error {max(r.invariance.max() for r in runs):.1e}",
        statistic=f"max error/budget = {worst:.2g} (pass iff <= 1)",
        notes=_setup(sizes) + " The digits are points of P, so dL/dw_i = sum_j (...) x_j has no component in "
        "P^perp whatever the images look like. Budget: gamma_{T(n + d)} relative to max_i ||w_i||.",
        tables=[
            Table(
                "Worst relative invariance error over the networks",
                ("d", "ell", "relative error", "rounding budget", "within budget"),
                rows,
            )
        ],
        details={f"d={r.d}": {"max_error": float(r.invariance.max()), "budget": r.budget} for r in runs},
    )


# --- R3 on digits ------------------------------------------------------------------------------------


def chi_square_outcome(
    runs: list[DigitsRun], sizes: RealSizes, alpha: float, *, dof_shift: int = 0
) -> Outcome:
    """KS and exact-mean tests of Q against chi2_{ell + dof_shift} per d, each at alpha / (2 len(ds)).

    dof_shift = 0 is the derived law; the tests use a wrong one to show the verdict can fail.
    """
    each = split_rate(alpha, 2 * len(runs))
    rows, details, passed = [], {}, True
    for r in runs:
        Q = r.Q[np.isfinite(r.Q)]
        dof = r.ell + dof_shift
        ks, mean = law_tests(Q, dof, each)
        passed &= ks.passed and mean.passed
        rows.append(
            (
                r.d,
                r.ell,
                len(Q),
                f"{Q.mean():.3f}",
                dof,
                f"{ks.statistic:.4f}",
                f"{ks.p_value:.3g}",
                f"{mean.p_value:.3g}",
                f"{ks.detectable:.3f}",
                "pass" if ks.passed and mean.passed else "FAIL",
            )
        )
        details[f"d={r.d}"] = {"ks": ks.as_dict(), "mean": mean.as_dict()}
    return Outcome(
        passed=passed,
        predicted="Q = d ||g||^2 / (s_w^2 S) ~ chi2_ell at held-out digits"
        + (f" (deliberately wrong: chi2_(ell+{dof_shift}))" if dof_shift else ""),
        measured="; ".join(f"ell={row[1]}: mean Q {row[3]}" for row in rows),
        statistic=f"KS and exact-mean tests at {each:.1g} each; smallest p = "
        f"{min(min(float(row[6]), float(row[7])) for row in rows):.3g}",
        notes=_setup(sizes) + f" One test digit per network, so the Q are independent. With false-fail rate "
        f"{each:.1g} per test, {sizes.runs} networks detect a sup-distance of {rows[0][8]} between the CDF "
        "of Q and chi2_ell (KS, power 1/2). Networks with no active neuron at x0 are excluded.",
        tables=[
            Table(
                "Q at held-out digits against chi2_ell",
                (
                    "d",
                    "ell",
                    "networks",
                    "mean Q",
                    "predicted dof",
                    "KS D",
                    "KS p",
                    "mean p",
                    "KS detectable",
                    "verdict",
                ),
                tuple(rows),
            )
        ],
        details=details,
    )


# --- radii as ell/d grows ------------------------------------------------------------------------------


def ratio_slope(runs: list[DigitsRun], alpha: float) -> tuple[SlopeResult, np.ndarray, np.ndarray]:
    """OLS of log(orthogonal/on-manifold radius) on log ell, one point per network with both radii finite."""
    xs, ys = [], []
    for r in runs:
        both = np.isfinite(r.radii["orthogonal"]) & np.isfinite(r.radii["on_manifold"])
        xs.append(np.full(int(both.sum()), float(r.ell)))
        ys.append(r.radii["orthogonal"][both] / r.radii["on_manifold"][both])
    x, y = np.concatenate(xs), np.concatenate(ys)
    return slope_test(x, y, 0.0, alpha=alpha, log=True, name="orthogonal/on-manifold radius"), x, y


def radii_outcome(
    ctx: Context, runs: list[DigitsRun], sizes: RealSizes, alpha: float, *, expect_decrease: bool = True
) -> Outcome:
    """Pass iff the (1 - alpha) CI of the slope lies below 0 (above 0 when expect_decrease is False, the
    deliberately wrong prediction of the tests)."""
    test, _, _ = ratio_slope(runs, alpha)
    confirmed = test.ci_high < 0 if expect_decrease else test.ci_low > 0
    names = ("orthogonal", "on_manifold", "unrestricted")
    rows = []
    fig, axes = figures.new(width=5.0, height=3.6)
    ax = axes[0, 0]
    for r in runs:
        rel = {k: r.radii[k] / r.x_norm for k in names}
        ok = {k: np.isfinite(v) for k, v in rel.items()}
        both = ok["orthogonal"] & ok["on_manifold"]
        rows.append(
            (
                r.d,
                r.ell,
                f"{r.ell / r.d:.3f}",
                sizes.runs,
                f"{r.result.train_accuracy.mean().item():.3f}",
                f"{r.test_accuracy.mean():.3f}",
                *(f"{np.median(rel[k][ok[k]]):.4f}" for k in names),
                f"{np.median(rel['orthogonal'][both] / rel['on_manifold'][both]):.3f}",
                *(f"{ok[k].mean():.3f}" for k in names),
            )
        )
    ratios = np.array([r.ell / r.d for r in runs])
    for k, marker in zip(names, "osd", strict=True):
        found = [np.isfinite(r.radii[k]) for r in runs]
        q = np.array(
            [
                np.percentile(r.radii[k][f] / r.x_norm[f], [25, 50, 75])
                for r, f in zip(runs, found, strict=True)
            ]
        )
        ax.errorbar(
            ratios,
            q[:, 1],
            yerr=[q[:, 1] - q[:, 0], q[:, 2] - q[:, 1]],
            fmt=f"{marker}-",
            capsize=3,
            label=k.replace("_", "-"),
        )
    ax.set_xlabel("ell / d")
    ax.set_ylabel("flip radius / ||x0|| (median, IQR)")
    ax.set_yscale("log")
    ax.set_title(f"digits, r = {sizes.r}")
    ax.legend(fontsize=7)
    name = figures.save(fig, ctx.figure_path("real_radii.png"))
    direction = "< 0" if expect_decrease else "> 0 (deliberately wrong)"
    return Outcome(
        passed=bool(confirmed),
        predicted=f"slope of log(orthogonal/on-manifold radius) on log ell {direction}",
        measured=f"slope {test.slope:.3f}, CI [{test.ci_low:.3f}, {test.ci_high:.3f}]; median ratio "
        + ", ".join(f"ell={row[1]}: {row[9]}" for row in rows),
        statistic=f"{1 - alpha:.6g} CI {'upper' if expect_decrease else 'lower'} end "
        f"{test.ci_high if expect_decrease else test.ci_low:.3f} "
        f"{'<' if expect_decrease else '>'} 0: {'confirmed' if confirmed else 'NOT confirmed'}",
        notes=_setup(sizes)
        + " Expectation (stated before running): R3 gives ||g||^2 ~ S ell/d, growing with ell, "
        "while training, and so the network on P, does not depend on ell; hence the orthogonal radius "
        "shrinks relative to the on-manifold one. Radii are DeepFool attacks restricted to P^perp (Pi), "
        "to P (B B^T) and unrestricted, each finished by an exact line search and verified by a forward "
        "pass. The slope interval is the t interval of OLS on one point per network (independent), "
        "assuming Gaussian residuals in log scale; the orthogonal radius need not be smaller than the "
        "on-manifold one, only its ratio to it is predicted to fall.",
        tables=[
            Table(
                "Digits: accuracy and median flip radius / ||x0||",
                (
                    "d",
                    "ell",
                    "ell/d",
                    "networks",
                    "train acc",
                    "test acc",
                    "orthogonal",
                    "on-manifold",
                    "unrestricted",
                    "median orth/on",
                    "orth found",
                    "on found",
                    "unrestr. found",
                ),
                tuple(rows),
            )
        ],
        figures=[name],
        details={"slope_test": test.as_dict()},
    )


@check(
    "real.invariance",
    claim="GD on embedded digits leaves Pi W unchanged to float64 rounding",
    result="R1",
    statistical=False,
    section=SECTION,
)
def real_invariance(ctx: Context) -> Outcome:
    sizes = ctx.size(SIZES)
    return invariance_outcome(digits_runs(ctx, sizes), sizes)


@check(
    "real.chi_square",
    claim="Q at held-out digits is chi-square(ell) for every d",
    result="R3",
    statistical=True,
    section=SECTION,
)
def real_chi_square(ctx: Context) -> Outcome:
    sizes = ctx.size(SIZES)
    return chi_square_outcome(digits_runs(ctx, sizes), sizes, ctx.false_fail_rate)


@check(
    "real.radii",
    claim="on digits, orthogonal flips get cheaper relative to on-manifold ones as ell grows",
    result="R5",
    statistical=True,
    section=SECTION,
)
def real_radii(ctx: Context) -> Outcome:
    sizes = ctx.size(SIZES)
    return radii_outcome(ctx, digits_runs(ctx, sizes), sizes, ctx.false_fail_rate)
