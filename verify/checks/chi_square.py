"""R3: conditional on training, Q = d ||g||^2 / (c_T^2 s_w^2 S) is exactly chi-square with ell degrees of
freedom, for every (d, ell, m), with the output layer trained or fixed.

Each configuration trains R independent networks (one held-out x0 in P per network) and applies two
tests at the check's false-fail rate split over all sub-tests: Kolmogorov-Smirnov against chi2_ell
(shape) and the exact test of the sample mean (sum of R chi2_ell is chi2_{R ell}; scale).
"""

from __future__ import annotations

import numpy as np
import scipy.stats as st

from numerics.model import InitConfig
from numerics.train import TrainConfig
from verify import figures
from verify.population import Population, derive_seed, trained_population
from verify.registry import Context, Outcome, Table, check
from verify.statistics import ChiSquareMeanResult, GofResult, ks_test, mean_test_chi_square, split_rate

SECTION = "R3: the exact chi-square law of the orthogonal gradient"

CONFIGS = {  # (d, ell, m) per profile
    "quick": [(40, 25, 32)],
    "standard": [(60, 40, 80), (100, 90, 64), (30, 10, 128)],
    "full": [(60, 40, 80), (100, 90, 64), (30, 10, 128), (400, 300, 256)],
}
RUNS = {"quick": 300, "standard": 1000, "full": 4000}
STEPS = {"quick": 200, "standard": 300, "full": 1000}


def q_sample(pop: Population) -> np.ndarray:
    """Q at x0 for every network that trained and has an active neuron there (S > 0)."""
    ok = pop.ok.cpu().numpy()
    return pop.Q[:, 0].cpu().numpy()[ok]


def law_tests(Q: np.ndarray, ell: int, alpha: float) -> tuple[GofResult, ChiSquareMeanResult]:
    """KS and exact-mean tests of Q against chi2_ell, each at `alpha`."""
    return (
        ks_test(Q, lambda q: st.chi2.cdf(q, ell), alpha=alpha, name=f"chi2_{ell}"),
        mean_test_chi_square(Q, ell, alpha=alpha),
    )


def chi_square_outcome(
    ctx: Context,
    *,
    train_output: bool,
    label: str,
    init: InitConfig | None = None,
    configs: list[tuple[int, int, int]] | None = None,
    tag: str = "R3",
) -> Outcome:
    """Train a population per (d, ell, m), test Q against chi2_ell, and draw the histograms."""
    configs = configs or ctx.size(CONFIGS)
    runs, steps = ctx.size(RUNS), ctx.size(STEPS)
    alpha = split_rate(ctx.false_fail_rate, 2 * len(configs))
    rows, details, all_pass = [], {}, True
    fig, axes = figures.new(len(configs), width=3.8, height=3.0)
    for j, (d, ell, m) in enumerate(ctx.progress(configs, desc=tag)):
        pop = trained_population(
            seed=derive_seed(ctx.seed, tag, label, d, ell, m),
            runs=runs,
            d=d,
            ell=ell,
            n=50,
            init=init or InitConfig(m=m),
            device=ctx.device,
            config=TrainConfig(optimizer="gd", lr=0.2, steps=steps, train_output=train_output),
        )
        Q = q_sample(pop)
        ks, mean = law_tests(Q, ell, alpha)
        all_pass &= ks.passed and mean.passed
        acc = pop.result.train_accuracy.mean().item()
        rows.append(
            (
                d,
                ell,
                m,
                len(Q),
                f"{acc:.3f}",
                f"{Q.mean():.3f}",
                ell,
                f"{ks.statistic:.4f}",
                f"{ks.p_value:.3g}",
                f"{mean.p_value:.3g}",
                f"{ks.detectable:.3f}",
                "pass" if ks.passed and mean.passed else "FAIL",
            )
        )
        details[f"d={d},ell={ell},m={m}"] = {
            "ks": ks.as_dict(),
            "mean": mean.as_dict(),
            "n": len(Q),
            "train_accuracy": acc,
        }
        ax = axes[0, j]
        ax.hist(Q, bins=40, density=True, alpha=0.6, label="measured Q")
        q = np.linspace(max(Q.min(), 1e-9), Q.max(), 400)
        ax.plot(q, st.chi2.pdf(q, ell), "k-", lw=1.5, label=f"chi2_{ell} density")
        ax.set_title(f"d={d}, ell={ell}, m={m}, {label}")
        ax.set_xlabel("Q = d ||g||^2 / (c_T^2 s_w^2 S)")
        ax.legend(fontsize=7)
    fig_name = figures.save(
        fig, ctx.figure_path(f"{tag.replace('.', '_')}_{label.replace(' ', '_')}_hist.png")
    )
    worst_ks = min(float(r[8]) for r in rows)
    return Outcome(
        passed=all_pass,
        predicted="Q ~ chi2_ell exactly (mean ell) for every configuration",
        measured="; ".join(f"ell={r[1]}: mean Q {r[5]}" for r in rows),
        statistic=f"KS and exact-mean tests at {alpha:.1g} each; smallest KS p = {worst_ks:.3g}",
        notes=f"{runs} independently trained networks per configuration (GD, lr 0.2, {steps} steps, logistic "
        f"loss, output layer {label}); one held-out x0 in P per network, so the Q are independent. "
        f"With false-fail rate {alpha:.1g} per test, {runs} networks detect a sup-distance of "
        f"{rows[0][10]} between the law of Q and chi2_ell (KS) at power 1/2. Networks with no active "
        "neuron at x0 (S = 0, g = 0) are excluded and counted.",
        tables=[
            Table(
                "Q against chi2_ell",
                (
                    "d",
                    "ell",
                    "m",
                    "networks",
                    "train acc",
                    "mean Q",
                    "predicted mean",
                    "KS D",
                    "KS p",
                    "mean p",
                    "KS detectable",
                    "verdict",
                ),
                tuple(rows),
            )
        ],
        figures=[fig_name],
        details=details,
    )


@check(
    "R3.chi_square_trained",
    claim="Q is chi-square(ell) with the output layer trained",
    result="R3",
    statistical=True,
    section=SECTION,
)
def chi_square_trained(ctx: Context) -> Outcome:
    return chi_square_outcome(ctx, train_output=True, label="trained")


@check(
    "R3.chi_square_fixed",
    claim="Q is chi-square(ell) with the output layer fixed (S = s_u^2 k/m)",
    result="R3",
    statistical=True,
    section=SECTION,
)
def chi_square_fixed(ctx: Context) -> Outcome:
    return chi_square_outcome(ctx, train_output=False, label="fixed")
