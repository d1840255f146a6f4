"""The one place where a population's settings become the theory's symbols, and the predictions every
population-based claim shares: R1's decay factor per run, R3's Q and its chi-square law.

The numerics spell the step size and weight decay `lr` and `weight_decay` (PyTorch's names); the theory
spells them eta and lam. `symbols_of` maps one to the other, and nothing else does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory.chi_square import ChiSquareLaw
from theory.results import chi_square_law, get, momentum_decay
from verify.experiments.population import PopulationMeasurement, PopulationSpec

__all__ = ["chi_square_statistic", "decay_factor", "law_of_q", "population_decay", "symbols_of"]


def symbols_of(spec: PopulationSpec, steps_taken: np.ndarray, d: int, ell: int) -> dict[str, Any]:
    """The theory's symbols at a population: sizes, scales, eta, lam and T (one per run, as float)."""
    return {
        "d": d,
        "ell": ell,
        "m": spec.m,
        "n": spec.n,
        "s_w": spec.s_w,
        "s_u": spec.s_u,
        "beta": spec.beta,
        "eta": spec.lr,
        "lam": spec.weight_decay,
        "mu": spec.momentum,
        "T": np.asarray(steps_taken, dtype=np.float64),
        "t": spec.lr * np.asarray(steps_taken, dtype=np.float64),  # gradient flow integrates time eta T
    }


def decay_factor(result_id: str, optimizer: str, values: dict[str, Any]) -> np.ndarray:
    """c_T per run from `result_id`'s decay expressions (R1, R8, R1a): GD and SGD (1 - eta lam)^T, gradient
    flow exp(-lam t), heavy ball its recurrence; NaN for Adam, which has no such factor."""
    T = np.asarray(values["T"], dtype=np.float64)
    if optimizer in ("gd", "sgd"):
        return get(result_id).array("decay_gd", values)
    if optimizer == "flow":
        return get(result_id).array("decay_flow", values)
    if optimizer == "momentum":
        steps = T.astype(np.int64)
        factors = momentum_decay(
            result_id, {k: values[k] for k in ("eta", "lam", "mu")}, int(steps.max(initial=0))
        )
        return np.array([float(f) for f in factors])[steps]
    return np.full(T.shape, np.nan)


def population_decay(pop: PopulationMeasurement) -> np.ndarray:
    """R1's c_T for each run of `pop`, at the steps it took."""
    return decay_factor("R1", pop.spec.optimizer, symbols_of(pop.spec, pop.steps_taken, pop.d, pop.ell))


def chi_square_statistic(pop: PopulationMeasurement, point: int = 0) -> np.ndarray:
    """R3's Q = ||g||^2 / variance_scale at one evaluation point, for the runs that trained and have an
    active neuron there (`pop.ok`); gradient flow uses the flow form of R3's expression."""
    if pop.spec.optimizer not in ("gd", "sgd", "flow") and pop.spec.weight_decay:
        raise ValueError(f"R3's scale has no decay factor for {pop.spec.optimizer!r} with weight decay")
    assert pop.gradient is not None
    ok = pop.ok
    values = symbols_of(pop.spec, pop.steps_taken[ok], pop.d, pop.ell)
    values.update(g_norm=pop.gradient.g_norm[ok, point], S=pop.gradient.S[ok, point])
    return get("R3").array("chi_square_statistic", values, flow=pop.spec.optimizer == "flow")


def law_of_q(ell: int) -> ChiSquareLaw:
    """R3's law of Q at codimension ell (its `degrees_of_freedom` expression)."""
    return chi_square_law("R3", {"ell": ell})
