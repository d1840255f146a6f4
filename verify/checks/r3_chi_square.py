"""R3: conditional on training, Q = d ||g||^2 / (c_T^2 (beta s_w)^2 S) is exactly chi-square with ell
degrees of freedom, for every (d, ell, m), with the output layer trained or fixed.

Prediction: Q's normalisation (R3's `chi_square_statistic`) and its law (R3's `degrees_of_freedom`), from
theory. Measurement: ||g|| and S at one held-out x0 in P per network, for R independently trained
networks per configuration. Rule: KS and the exact mean test per configuration, at the per-test rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from theory.chi_square import ChiSquareLaw
from verify import figures
from verify.checks.helpers.chi_square_law import TESTS_PER_LAW, draw_histogram, law_verdicts
from verify.checks.helpers.designed_populations import (
    DECAY_LABEL,
    decay_population,
    decay_scale_detection,
    small_law,
)
from verify.claim import Detection, Outcome, claim
from verify.design import chi_square_detections
from verify.experiments import Request
from verify.experiments.population import PopulationSpec
from verify.per_cell import Headline, PerCell, Scope, column, gradient_scope, hidden, record_table
from verify.predictions import chi_square_statistic, law_of_q

__all__ = [
    "chi_square_fixed",
    "chi_square_rule",
    "chi_square_trained",
    "CONFIGS",
    "decide_law",
    "law_headline",
    "law_per_cell",
    "LawRecord",
    "measure_law",
    "needs",
    "RUNS",
    "SECTION",
    "SMALL_LABEL",
    "STEPS",
]

SECTION = "R3: the exact chi-square law of the orthogonal gradient"

CONFIGS = {  # (d, ell, m) per profile
    "quick": [(40, 25, 32)],
    "standard": [(60, 40, 80), (100, 90, 64), (30, 10, 128)],
    "full": [(60, 40, 80), (100, 90, 64), (30, 10, 128), (400, 300, 256)],
}
RUNS = {"quick": 300, "standard": 700, "full": 4000}
STEPS = {"quick": 200, "standard": 300, "full": 1000}


SMALL_LABEL = "small law (d=6, ell=3)"


def needs(label: str, train_output: bool):
    """The profile's configurations, the small-law population (powered against degrees of freedom and a
    variance scale off by one) and, output trained, the weight-decay population (against a wrong c_T)."""

    def requests(profile: str) -> dict[str, Request]:
        designed = {
            SMALL_LABEL: small_law(f"R3.chi_square_{label}", profile, label, train_output=train_output)
        }
        if train_output:
            designed[DECAY_LABEL] = decay_population(profile)
        return designed | {
            f"d={d}, ell={ell}, m={m}": Request(
                "population",
                PopulationSpec.of(
                    runs=RUNS[profile],
                    d=d,
                    ell=ell,
                    n=50,
                    m=m,
                    lr=0.2,
                    steps=STEPS[profile],
                    train_output=train_output,
                ),
                seed_parts=("R3", label, d, ell, m),
            )
            for d, ell, m in CONFIGS[profile]
        }

    return requests


@dataclass(frozen=True)
class LawRecord:
    """One population's Q against R3's law: the sample (hidden) and its summary columns."""

    eta_lam: float = column("g", "eta lam")
    T: int = column("d")
    networks: int = column("d")
    train_acc: float = column(".3f", "train acc")
    mean_Q: float = column(".3f", "mean Q")
    predicted_mean: float = column(".0f", "predicted mean")
    Q: np.ndarray = hidden()
    law: ChiSquareLaw = hidden()


def measure_law(pop) -> LawRecord:
    """R3's Q per network (theory's normalisation) and its predicted law chi2_ell."""
    Q = chi_square_statistic(pop)
    law = law_of_q(pop.ell)
    return LawRecord(
        eta_lam=pop.spec.lr * pop.spec.weight_decay,
        T=pop.spec.steps,
        networks=len(Q),
        train_acc=float(pop.train_accuracy.mean()),
        mean_Q=float(Q.mean()),
        predicted_mean=law.mean,
        Q=Q,
        law=law,
    )


def decide_law(records, alpha) -> tuple[Any, ...]:
    """KS and the exact mean test of each population's Q against its law, each at the per-test `alpha`."""
    return tuple(v for r in records.values() for v in law_verdicts(r.Q, r.law, alpha))


def law_headline(r: LawRecord) -> Headline:
    return Headline(r.law.mean, r.mean_Q, {"tightness": r.mean_Q / r.law.mean})


def _scope(train_output: bool) -> Scope:
    layer = "trained" if train_output else "fixed"

    def why_not(point) -> str | None:
        if point["train_output"] != train_output:
            return f"train_output={point['train_output']}: this claim is R3 with the output layer {layer}"
        return gradient_scope(point)

    return Scope(
        f"output layer {layer} (train_output = {str(train_output).lower()}), {gradient_scope.where}", why_not
    )


def law_per_cell(scope) -> PerCell:
    """R3's law decided on one population (also R7's, at the cell's init scale)."""
    return PerCell(
        measure_law, decide_law, tests=TESTS_PER_LAW, measurements=("gradient",),
        quantity="mean of Q: chi2_ell's (theory) vs measured", headline=law_headline, scope=scope,
    )  # fmt: skip


def chi_square_rule(ctx, pops, label: str) -> Outcome:
    records = {key: measure_law(pop) for key, pop in pops.items()}
    verdicts = decide_law(records, ctx.test_alpha)
    detections: list[Detection] = []
    decided: dict[str, dict[str, Any]] = {}
    fig, axes = figures.new(len(pops), width=3.8, height=3.0)
    for j, ((key, pop), ks, mean) in enumerate(zip(pops.items(), verdicts[::2], verdicts[1::2], strict=True)):
        Q, law = records[key].Q, records[key].law
        if key == SMALL_LABEL:
            detections += chi_square_detections(pop.ell, pop.d, len(Q), ctx.test_alpha, SMALL_LABEL)
        elif key == DECAY_LABEL:
            detections.append(decay_scale_detection(pop, len(Q), ctx.test_alpha, DECAY_LABEL))
        decided[key] = {
            "KS D": ks.statistic, "KS p": ks.p_value, "mean p": mean.p_value, "KS detectable": ks.detectable,
            "mean detectable": mean.detectable, "pass": ks.passed and mean.passed,
        }  # fmt: skip
        draw_histogram(
            axes[0, j],
            Q,
            law,
            f"d={pop.d}, ell={pop.ell}, m={pop.spec.m}, output {label}",
            "Q = ||g||^2 / (R3 variance scale)",
        )
    spec = pops[next(k for k in pops if k not in (SMALL_LABEL, DECAY_LABEL))].spec
    return Outcome(
        verdicts=tuple(verdicts),
        prediction="Q = R3.chi_square_statistic (d ||g||^2 / (c_T^2 (beta s_w)^2 S)) follows chi2 with "
        "R3.degrees_of_freedom (= ell) degrees of freedom, for every configuration",
        method=f"{spec.runs} independently trained networks per configuration (GD, lr {spec.lr}, "
        f"{spec.steps} steps, logistic loss, output layer {label}); one held-out x0 in P per network, so the "
        "Q are independent. Networks with no active neuron at x0 (S = 0) are excluded. Each configuration is "
        "tested by KS (shape; 'KS detectable' is the sup-distance between CDFs caught at power 0.9) and by "
        "the exact test of the mean (scale; 'mean detectable' is the relative scale error caught at power "
        f"0.9). Besides the profile's configurations, the '{SMALL_LABEL}' population is sized "
        "(verify.design) so the mean test catches degrees of freedom off by one and a variance scale off by "
        "1/d with power 0.9"
        + (
            f", and the '{DECAY_LABEL}' population (GD with weight decay) a decay factor off by one step"
            if label == "trained"
            else ""
        )
        + "; the detection table gives each power at the sample and rate used.",
        tables=(
            record_table(
                "Q against the predicted law",
                records,
                more=decided,
                extra=(
                    ("KS D", ".4f"),
                    ("KS p", ".3g"),
                    ("mean p", ".3g"),
                    ("KS detectable", ".3f"),
                    ("mean detectable", ".3f"),
                    "pass",
                ),
            ),
        ),  # fmt: skip
        figures=(figures.save(fig, ctx.figure_path(f"R3_{label}_hist.png")),),
        detections=tuple(detections),
    )


def _tests(train_output: bool):
    return lambda profile: TESTS_PER_LAW * (len(CONFIGS[profile]) + 1 + train_output)


@claim(
    "R3.chi_square_trained",
    title="Q ~ chi2_ell, output layer trained",
    statement="With the output layer trained, Q = d ||g||^2 / (c_T^2 (beta s_w)^2 S) is chi-square with ell "
    "degrees of freedom.",
    results=("R3",),
    section=SECTION,
    needs=needs("trained", True),
    tests=_tests(True),
    cell=law_per_cell(_scope(True)),
)
def chi_square_trained(ctx, pops) -> Outcome:
    return chi_square_rule(ctx, pops, "trained")


@claim(
    "R3.chi_square_fixed",
    title="Q ~ chi2_ell, output layer fixed",
    statement="With the output layer fixed (S = s_u^2 k/m), Q is chi-square with ell degrees of freedom.",
    results=("R3",),
    section=SECTION,
    needs=needs("fixed", False),
    tests=_tests(False),
    cell=law_per_cell(_scope(False)),
)
def chi_square_fixed(ctx, pops) -> Outcome:
    return chi_square_rule(ctx, pops, "fixed")
