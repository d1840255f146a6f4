"""R1's measured defect, shared by every claim that holds trained weights to the invariance
Pi w_i(T) = c_T Pi w_i(0) (R1, R8, real data, the violation studies): the worst neuron's
||Pi w_i(T) - c_T Pi w_i(0)||, relative to the largest weight norm, against the float64 budget of
`verify.tolerance.invariance_budget`, with c_T the theory's factor for each run."""

from __future__ import annotations

import numpy as np

from verify.experiments.population import OrthogonalWeights

__all__ = ["orthogonal_motion", "read_off_allowance", "read_off_decay", "relative_defect"]


def relative_defect(weights: OrthogonalWeights, c_T: np.ndarray | float) -> np.ndarray:
    """max_i ||Pi w_i(T) - c_T Pi w_i(0)|| / max_i max(||w_i(T)||, ||w_i(0)||) per run (R,)."""
    c = np.asarray(c_T, dtype=np.float64).reshape(-1, 1, 1)
    return np.linalg.norm(weights.final - c * weights.initial, axis=-1).max(axis=-1) / weights.scale


def orthogonal_motion(weights: OrthogonalWeights) -> np.ndarray:
    """max_i ||Pi (w_i(T) - w_i(0))|| / max_i ||Pi w_i(0)|| per run: how far training moved the orthogonal
    weights, relative to their own size (the measure of a broken invariance)."""
    moved = np.linalg.norm(weights.final - weights.initial, axis=-1).max(axis=-1)
    return moved / np.linalg.norm(weights.initial, axis=-1).max(axis=-1)


def read_off_decay(weights: OrthogonalWeights) -> np.ndarray:
    """The factor the training applied, read off the weights: <Pi W(T), Pi W(0)>_F / ||Pi W(0)||_F^2."""
    return np.einsum("rmk,rmk->r", weights.final, weights.initial) / np.einsum(
        "rmk,rmk->r", weights.initial, weights.initial
    )


def read_off_allowance(weights: OrthogonalWeights, budget: float) -> np.ndarray:
    """How far the read-off factor may be from c_T when every neuron is within R1's budget:
    |<e, Pi W(0)>| / ||Pi W(0)||^2 <= budget * scale * sum_i ||Pi w_i(0)|| / ||Pi W(0)||_F^2
    (Cauchy-Schwarz)."""
    norms = np.linalg.norm(weights.initial, axis=-1)
    return budget * weights.scale * norms.sum(axis=-1) / np.square(norms).sum(axis=-1)
