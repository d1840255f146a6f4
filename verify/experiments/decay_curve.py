"""The weight-decay experiment (R8): GD with decay continued segment after segment, and the raw
quantities whose shrinkage R8 predicts, measured from the weights at the end of every segment.

Raw quantities only: ||Pi W(t)||_F / ||Pi W(0)||_F per run at each segment end, and at a held-out x0 after
the last segment the orthogonal gradient g beside G0 = sum_{i in I(T)} u_i(T) Pi w_i(0) (its value if
Pi w_i had never shrunk), L = sum_i |u_i| ||Pi w_i|| beside L0 = sum_i |u_i(T)| ||Pi w_i(0)||, and the
output change |N(x0 + z) - N(x0)| along a random orthogonal z with ||z|| = ||x0||.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from numerics.datasets import make_dataset
from numerics.measure import orthogonal_weight_norm
from numerics.model import InitConfig, initialize
from numerics.train import TrainConfig, train
from verify.experiments import experiment
from verify.experiments.shrinkage import measure_shrinkage

__all__ = ["decay_curve", "DecayCurve", "DecayCurveSpec"]


@dataclass(frozen=True)
class DecayCurveSpec:
    runs: int
    d: int
    ell: int
    m: int
    n: int
    segments: int
    steps: int  # per segment
    lr: float
    weight_decay: float

    @property
    def cost(self) -> float:
        """A rough time in seconds (runs x width x dimension x every step): it only orders the work."""
        return self.runs * self.m * self.d * self.steps * self.segments * 1e-9


@dataclass(frozen=True)
class DecayCurve:
    spec: DecayCurveSpec
    steps: np.ndarray  # (segments + 1, R) cumulative steps taken at each segment end (0 first)
    weight_ratio: np.ndarray  # (segments + 1, R) ||Pi W(t)||_F / ||Pi W(0)||_F
    g: np.ndarray  # (R, p, d) at the end
    g_initial: np.ndarray  # (R, p, d) G0 = sum_{i in I(T)} u_i(T) Pi w_i(0)
    lipschitz: np.ndarray  # (R,) L at the end
    lipschitz_initial: np.ndarray  # (R,) L0 = sum_i |u_i(T)| ||Pi w_i(0)||
    variation: np.ndarray  # (R,) |N(x0 + z) - N(x0)|
    z_norm: np.ndarray  # (R,) ||z||


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().to(torch.float64).numpy()


@experiment("decay_curve")
def decay_curve(spec: DecayCurveSpec, seed: int, device: str) -> DecayCurve:
    data = make_dataset(
        "gaussian_linear", runs=spec.runs, seed=seed, d=spec.d, ell=spec.ell, n=spec.n + 1, device=device
    )
    assert data.subspace is not None
    X, y, X0 = data.X[:, :-1], data.y[:, :-1], data.X[:, -1:]
    perp = data.subspace.perp_projector()
    net0 = initialize(InitConfig(m=spec.m), spec.d, spec.runs, seed=seed + 1, device=device)
    config = TrainConfig(optimizer="gd", lr=spec.lr, weight_decay=spec.weight_decay, steps=spec.steps)
    initial_norm = orthogonal_weight_norm(net0, perp)
    net, taken = net0, torch.zeros(spec.runs, dtype=torch.int64)
    steps, ratios = [taken.numpy().copy()], [np.ones(spec.runs)]
    for _ in range(spec.segments):
        result = train(net, X, y, config)  # continuing from the last segment: the factors multiply
        net, taken = result.net, taken + result.steps_taken
        steps.append(taken.numpy().copy())
        ratios.append(_np(orthogonal_weight_norm(net, perp) / initial_norm))
    shrunk = measure_shrinkage(net, net0, X0, perp, torch.Generator().manual_seed(seed + 2))
    return DecayCurve(
        spec=spec,
        steps=np.stack(steps),
        weight_ratio=np.stack(ratios),
        g=shrunk.g,
        g_initial=shrunk.g_initial,
        lipschitz=shrunk.lipschitz,
        lipschitz_initial=shrunk.lipschitz_initial,
        variation=shrunk.variation[:, 0],
        z_norm=shrunk.z_norm[:, 0],
    )
