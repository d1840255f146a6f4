"""Populations sized for power, shared by several claims (`verify.design`).

Two settings where a realistic wrong prediction moves the measured quantity far, so a few hundred networks
catch it at the claims' per-test rates:
- `small_law`: (d, ell) = (6, 3). A chi-square law with 3 degrees of freedom is a third away from its
  neighbours with 2 or 4, and a variance scale off by 1/d is off by a sixth; at the profiles' own (d, ell)
  (25 degrees of freedom or more) both are a few percent and out of reach of a quick run.
- `decay_population`: GD with weight decay, eta lam = 0.1 over T = 20 steps, so c_T = 0.9^20 and a decay
  factor off by one step changes c_T by 10%: Q's scale by 1/0.81 (R3), and the event ||g|| < R4 bound (=
  t* > R5 bound) from chi2_ell < ell/2 to chi2_ell < 0.81 ell/2, at ell = 8 a rate of 0.143 against 0.082
  (R4, R5). Without decay in the population no claim could see a wrong c_T at all.
"""

from __future__ import annotations

import functools

from theory.results import get
from verify.claim import Detection
from verify.design import (
    design_alpha,
    rate_detections,
    runs_for_chi_square,
    runs_for_rate,
)
from verify.experiments import Request
from verify.experiments.population import PopulationMeasurement, PopulationSpec
from verify.predictions import law_of_q
from verify.statistics import chi_square_mean_power

__all__ = [
    "DECAY",
    "DECAY_LABEL",
    "decay_population",
    "decay_rate_detections",
    "decay_scale_detection",
    "DECAY_TARGET",
    "DECAY_USERS",
    "SMALL_LAW",
    "small_law",
]

SMALL_LAW = PopulationSpec.of(runs=1, d=6, ell=3, n=20, m=32, lr=0.2, steps=150)
DECAY = PopulationSpec.of(runs=1, d=16, ell=8, n=40, m=32, lr=0.5, weight_decay=0.2, steps=20)

#: The label under which claims request the decay population, and the one-step-off alternative's name.
DECAY_LABEL = "decay (eta lam = 0.1, T = 20)"
DECAY_TARGET = "decay factor off by one step, (1 - eta lam)^(T+1)"
#: The claims that share the decay population (one spec, so one training): sized at the smallest of their
#: rates.
DECAY_USERS = ("R3.chi_square_trained", "R4.lower_bound", "R5.flip")


def small_law(claim_id: str, profile: str, label: str, **changes) -> Request:
    """The (d, ell) = (6, 3) population for `claim_id`, sized so its exact mean test catches every
    alternative of `verify.design.chi_square_alternatives` with power 0.9."""
    assert SMALL_LAW.d is not None and SMALL_LAW.ell is not None
    runs = runs_for_chi_square(SMALL_LAW.ell, SMALL_LAW.d, design_alpha(claim_id, profile))
    spec = SMALL_LAW.with_settings(runs=runs, **changes)
    return Request("population", spec, seed_parts=("small law", claim_id, label))


def _decay_rates() -> tuple[float, dict[str, float]]:
    """The rate of ||g|| < R4 bound at DECAY (R4's failure_probability_exact) and under the one-step-off
    decay factor (the bound shrinks by 1 - eta lam: R3's law of Q below (1 - eta lam)^2 ell/2)."""
    assert DECAY.ell is not None
    shrink = (1 - DECAY.lr * DECAY.weight_decay) ** 2
    p0 = float(get("R4").predict({"ell": DECAY.ell})["failure_probability_exact"])
    return p0, {DECAY_TARGET: float(law_of_q(DECAY.ell).cdf_array(shrink * DECAY.ell / 2))}


@functools.cache
def _decay_runs(profile: str) -> int:
    p0, alternatives = _decay_rates()
    return runs_for_rate(p0, alternatives, min(design_alpha(c, profile) for c in DECAY_USERS))


def decay_population(profile: str) -> Request:
    """The weight-decay population, sized for the two-sided binomial test of R4's exact rate against the
    one-step-off decay factor at the smallest per-test rate of its users, and shared by all of them."""
    runs = _decay_runs(profile)
    spec = DECAY.with_settings(runs=runs, measure=("gradient", "flip"))
    return Request("population", spec, seed_parts=("decay population",))


def decay_rate_detections(n: int, alpha: float, where: str) -> list[Detection]:
    p0, alternatives = _decay_rates()
    return rate_detections(p0, alternatives, n, alpha, where)


def decay_scale_detection(pop: PopulationMeasurement, n: int, alpha: float, where: str) -> Detection:
    """R3 on the decay population: a one-step-off c_T scales Q by 1/(1 - eta lam)^2."""
    scale = 1 / (1 - pop.spec.lr * pop.spec.weight_decay) ** 2
    power = chi_square_mean_power(n, law_of_q(pop.ell), alpha, scale=scale)
    return Detection(
        f"{DECAY_TARGET} (Q scaled by {scale:.4g})", f"exact mean test, {where}", n, alpha, power
    )
