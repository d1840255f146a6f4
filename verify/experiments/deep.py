"""The three-layer experiment (violation.deep): three-layer networks and, on the same data and first-layer
initialization, two-layer networks of width m1, measured at one held-out x0 in P per network.

Raw quantities only: ||g|| and ||grad_x N|| at x0, ||z||^2 for the first-layer backward vector z (R3d),
the first layer's orthogonal coordinates before and after training (R1), orthogonal flip radii of both
networks, and their training accuracies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from numerics import deep
from numerics.attacks import minimal_l2_attack
from numerics.datasets import make_dataset
from numerics.model import InitConfig, initialize, input_gradient
from numerics.train import TrainConfig, train
from verify.experiments import experiment
from verify.experiments.population import OrthogonalWeights

__all__ = ["deep_population", "DeepMeasurement", "DeepSpec"]


@dataclass(frozen=True)
class DeepSpec:
    """Data of dimension r in R^(r + ell), widths m1 and m2, full-batch GD."""

    runs: int
    ell: int
    r: int = 10
    m1: int = 32
    m2: int = 32
    n: int = 30
    steps: int = 200
    lr: float = 0.2
    s_w: float = 1.0


@dataclass(frozen=True)
class DeepMeasurement:
    """Per network (R,): the three-layer quantities, and the two-layer comparison on the same data."""

    spec: DeepSpec
    d: int
    finite: np.ndarray  # bool: the three-layer training stayed finite
    g_norm: np.ndarray
    grad_norm: np.ndarray  # ||grad_x N(x0)||
    z_norm_sq: np.ndarray
    x0_norm: np.ndarray
    radius: np.ndarray  # orthogonal DeepFool + bisection (an upper bound on r_perp)
    weights: OrthogonalWeights  # the first layer
    train_accuracy: float
    two_layer_g_norm: np.ndarray
    two_layer_radius: np.ndarray
    two_layer_train_accuracy: float


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().to(torch.float64).numpy()


@experiment("deep")
def deep_population(spec: DeepSpec, seed: int, device: str) -> DeepMeasurement:
    d = spec.r + spec.ell
    data = make_dataset(
        "gaussian_linear", runs=spec.runs, seed=seed, d=d, ell=spec.ell, n=spec.n + 1, device=device
    )
    assert data.subspace is not None
    X, y, X0 = data.X[:, :-1], data.y[:, :-1], data.X[:, -1:]
    perp = data.subspace.perp_projector()
    config = deep.DeepInitConfig(m1=spec.m1, m2=spec.m2, s_w=spec.s_w)
    net0 = deep.initialize_deep(config, d, spec.runs, seed=seed + 1, device=device)
    res = deep.train_deep(net0, X, y, lr=spec.lr, steps=spec.steps)
    grad = deep.input_gradient(res.net, X0)[:, 0]
    z = deep.first_layer_backward(res.net, X0)[:, 0]
    complement = data.subspace.complement_basis()
    two = train(
        initialize(InitConfig(m=spec.m1, s_w=spec.s_w), d, spec.runs, seed=seed + 1, device=device),
        X,
        y,
        TrainConfig(optimizer="gd", lr=spec.lr, steps=spec.steps),
    )
    return DeepMeasurement(
        spec=spec,
        d=d,
        finite=res.finite.cpu().numpy(),
        g_norm=_np((grad @ perp).norm(dim=-1)),
        grad_norm=_np(grad.norm(dim=-1)),
        z_norm_sq=_np(z.square().sum(-1)),
        x0_norm=_np(X0.norm(dim=-1)[:, 0]),
        radius=_np(deep.projected_flip(res.net, X0, perp).norm[:, 0]),
        weights=OrthogonalWeights(
            initial=_np(res.net0.W @ complement),
            final=_np(res.net.W @ complement),
            scale=_np(
                torch.maximum(res.net.W.norm(dim=-1).amax(dim=-1), res.net0.W.norm(dim=-1).amax(dim=-1))
            ),
        ),
        train_accuracy=float(res.train_accuracy.mean()),
        two_layer_g_norm=_np((input_gradient(two.net, X0)[:, 0] @ perp).norm(dim=-1)),
        two_layer_radius=_np(minimal_l2_attack(two.net, X0, perp).norm[:, 0]),
        two_layer_train_accuracy=float(two.train_accuracy.mean()),
    )
