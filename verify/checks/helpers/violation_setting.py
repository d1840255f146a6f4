"""The shared setting of the assumption-violation studies: populations of two-layer networks on
gaussian_linear data, trained by GD unless a study says otherwise, with paired arms (the same seed tag,
hence the same data and, where the arms allow, the same initialization) with and without the violation.

Each study states its expectation in its prediction (written before running) and decides only what the
derivation still decides (an exact invariance, or a chi-square law that must survive); everything else
is reported, not judged.
"""

from __future__ import annotations

from verify.experiments import Request
from verify.experiments.population import PopulationSpec

__all__ = ["arm", "BASE", "describe", "FAR_BEYOND", "SECTION"]

SECTION = "Where the assumptions break"
#: "Far beyond rounding": the factor by which a defect must exceed its float64 budget (as R1's Adam control).
FAR_BEYOND = 1e3

BASE = PopulationSpec.of(runs=1, d=40, ell=25, n=30, m=32, lr=0.2, steps=200, measure=("gradient", "weights"))


def arm(study: str, runs: int, steps: int = 200, **changes) -> Request:
    """One arm of a study: the base setting with `changes`; the seed depends on the study only."""
    spec = BASE.with_settings(runs=runs, steps=steps, **changes)
    assert spec.d is not None
    return Request("population", spec, seed_parts=("violation", study))


def describe(spec: PopulationSpec) -> str:
    sizes = f"d={spec.d}, ell={spec.ell}, m={spec.m}, n={spec.n}"
    return f"{sizes}, {spec.optimizer} lr {spec.lr}, {spec.steps} steps"
