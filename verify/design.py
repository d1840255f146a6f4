"""Sample sizes from detection targets: each statistical claim states the realistic wrong predictions it
must catch (degrees of freedom off by one, a variance scale off by 1/d, a constant off by a factor, an
exponent off by 0.1, a decay factor off by one step), and its networks per configuration are the fewest
with which its tests catch each of them with power at least POWER at the claim's per-test rate
(TFP's "min samples"). The rule reports a `Detection` per target: the power at the sample it actually got.

Sizes are designed at the default family rate, so they do not change with --false-fail-rate; the powers
reported are at the rate the run actually used.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from theory.chi_square import ChiSquareLaw
from verify.claim import Detection, get, per_test_rate
from verify.statistics import (
    binomial_two_sided_power,
    chi_square_mean_power,
    ks_power_lower_bound,
    samples_for_binomial_two_sided,
    samples_for_chi_square_mean,
)

__all__ = [
    "chi_square_alternatives",
    "chi_square_detections",
    "chi_square_ks_detections",
    "design_alpha",
    "DESIGN_FAMILY_RATE",
    "inflate",
    "LOSS",
    "POWER",
    "rate_detections",
    "reversed_direction_detection",
    "runs_for_chi_square",
    "runs_for_rate",
]

POWER = 0.9
DESIGN_FAMILY_RATE = 1e-3
#: Networks a population loses to the rule's exclusions (no active neuron at x0, divergence): designed
#: sizes are inflated by this fraction so the tested sample still reaches its target.
LOSS = 0.05


def design_alpha(claim_id: str, profile: str) -> float:
    """The per-test rate a claim's sizes are designed at (the default family rate)."""
    rate = per_test_rate(get(claim_id), profile, DESIGN_FAMILY_RATE)
    assert rate is not None, f"{claim_id} is not statistical"
    return rate


def inflate(n: int) -> int:
    return math.ceil(n / (1 - LOSS))


def chi_square_alternatives(ell: int, d: int) -> dict[str, dict[str, Any]]:
    """The wrong predictions of a chi-square law of Q at (ell, d), as (predicted law, true law of Q) pairs:
    degrees of freedom off by one either way, and Q's variance scale off by 1/d either way (s_w^2/(d-1)
    for s_w^2/d in the theory, or in the initialization)."""
    out: dict[str, dict[str, Any]] = {
        "degrees of freedom ell + 1 predicted": dict(law=ChiSquareLaw(ell + 1), true_ell=ell)
    }
    if ell > 1:
        out["degrees of freedom ell - 1 predicted"] = dict(law=ChiSquareLaw(ell - 1), true_ell=ell)
    out["variance scale s_w^2/(d-1) in the theory"] = dict(law=ChiSquareLaw(ell), scale=(d - 1) / d)
    out["variance s_w^2/(d-1) in the initialization"] = dict(law=ChiSquareLaw(ell), scale=d / (d - 1))
    return out


def runs_for_chi_square(ell: int, d: int, alpha: float) -> int:
    """Networks for which the exact mean test catches every chi-square alternative at (ell, d)."""
    needed = [
        samples_for_chi_square_mean(
            a["law"], alpha, true_ell=a.get("true_ell"), scale=a.get("scale", 1.0), power=POWER
        )
        for a in chi_square_alternatives(ell, d).values()
    ]
    return inflate(max(needed))


def chi_square_detections(ell: int, d: int, n: int, alpha: float, where: str) -> list[Detection]:
    """The power of the exact mean test (n values at `alpha`) against each chi-square alternative."""
    out = []
    for target, a in chi_square_alternatives(ell, d).items():
        power = chi_square_mean_power(
            n, a["law"], alpha, true_ell=a.get("true_ell"), scale=a.get("scale", 1.0)
        )
        out.append(Detection(f"{target} (ell={ell}, d={d})", f"exact mean test, {where}", n, alpha, power))
    return out


def chi_square_ks_detections(ell: int, d: int, n: int, alpha: float, where: str) -> list[Detection]:
    """The KS test's power (its DKW lower bound) against each chi-square alternative at (ell, d): the
    alternative's sup-distance from the predicted CDF, on a fine grid of the true law's quantiles."""
    out = []
    grid = np.linspace(1e-6, 1 - 1e-6, 20001)
    for target, a in chi_square_alternatives(ell, d).items():
        x = a.get("scale", 1.0) * stats.chi2.ppf(grid, a.get("true_ell", ell))
        delta = float(np.max(np.abs(stats.chi2.cdf(x, a["law"].ell) - grid)))
        out.append(
            Detection(
                f"{target} (ell={ell}, d={d}; sup-distance {delta:.3f})",
                f"KS test, {where}",
                n,
                alpha,
                ks_power_lower_bound(n, alpha, delta),
            )
        )
    return out


def runs_for_rate(p0: float, alternatives: dict[str, float], alpha: float) -> int:
    """Networks for which the exact two-sided binomial test of rate p0 catches every alternative rate."""
    return inflate(max(samples_for_binomial_two_sided(p0, p1, alpha, POWER) for p1 in alternatives.values()))


def rate_detections(
    p0: float, alternatives: dict[str, float], n: int, alpha: float, where: str
) -> list[Detection]:
    return [
        Detection(
            target, f"two-sided exact binomial, {where}", n, alpha, binomial_two_sided_power(n, p0, p1, alpha)
        )
        for target, p1 in alternatives.items()
    ]


def reversed_direction_detection(target: str, test: str, n: int, alpha: float) -> Detection:
    """A direction claim (a slope's sign, a stochastic ordering) against the wrong prediction that reverses
    it.

    The reversed theory asks the one-sided test to confirm the opposite direction; when the truth lies in the
    predicted direction the test confirms that with probability <= alpha, so the claim fails with probability
    >= 1 - alpha at any n (a lower bound, stated as the power). The smallest effect in the predicted direction
    that the test confirms at power 0.9 is in its verdict line."""
    return Detection(f"{target} (direction reversed)", f"{test} (power >= 1 - rate)", n, alpha, 1.0 - alpha)
