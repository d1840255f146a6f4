"""A population of independently trained networks and the measurements every check reads.

Checks that test a law over networks (R3, R4, R5, R7, scaling) all need the same thing: R networks
trained on independent draws of subspace data, a fresh evaluation point x0 in P per network, and at
x0 the orthogonal gradient g, the active set (k, S) and Q = d ||g||^2 / (c_T^2 s_w^2 S). One function
builds it so every check measures the same way.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import torch

from numerics.datasets import Dataset, make_dataset
from numerics.measure import active_set, chi_square_statistic, orthogonal_gradient
from numerics.model import InitConfig, Network, forward, initialize
from numerics.subspace import Subspace
from numerics.train import TrainConfig, TrainResult, train


def derive_seed(master: int, *parts: object) -> int:
    """A stable seed for one experiment from the master seed and a description of the experiment."""
    return zlib.crc32(repr((master, *parts)).encode()) & 0x7FFFFFFF


@dataclass
class Population:
    """R trained networks and their measurements at one evaluation point x0 in P per network."""

    data: Dataset
    result: TrainResult
    init: InitConfig
    X0: torch.Tensor  # (R, p, d) evaluation points in P, held out from training
    N0: torch.Tensor  # (R, p) N(x0)
    g: torch.Tensor  # (R, p, d) Pi grad_x N(x0)
    k: torch.Tensor  # (R, p) active neurons at x0
    S: torch.Tensor  # (R, p) sum of u_i^2 over the active set
    Q: torch.Tensor  # (R, p) d ||g||^2 / (c_T^2 s_w^2 S); NaN where S = 0 (no active neuron)
    c_T: torch.Tensor  # (R,) decay factor actually applied

    @property
    def subspace(self) -> Subspace:
        """The data subspace P (populations are only built on linear subspaces)."""
        assert self.data.subspace is not None
        return self.data.subspace

    @property
    def net(self) -> Network:
        return self.result.net

    @property
    def ok(self) -> torch.Tensor:
        """Runs that trained without diverging and have at least one active neuron at x0."""
        fine = torch.tensor([s != "diverged" for s in self.result.status], device=self.S.device)
        return fine & (self.S[:, 0] > 0)

    @property
    def grad_norm(self) -> torch.Tensor:
        return self.g.norm(dim=-1)


def trained_population(
    *,
    seed: int,
    runs: int,
    d: int,
    ell: int,
    n: int,
    init: InitConfig,
    config: TrainConfig,
    dataset: str = "gaussian_linear",
    points: int = 1,
    device: str = "cpu",
    axis_aligned: bool = False,
    noise: float = 0.0,
) -> Population:
    """Train `runs` networks on independent data drawn in one fixed subspace; measure at held-out x0."""
    data = make_dataset(
        dataset,
        runs=runs,
        seed=seed,
        d=d,
        ell=ell,
        n=n + points,
        noise=noise,
        axis_aligned=axis_aligned,
        device=device,
    )
    # The last `points` draws are held out; they lie in P even when training data carry noise.
    X, y = data.X[:, :n], data.y[:, :n]
    X0 = data.X[:, n:]
    if noise > 0 and data.subspace is not None:
        X0 = X0 - data.subspace.project_perp(X0)
    train_data = Dataset(data.name, X, y, data.subspace, info=dict(data.info))
    net0 = initialize(init, d, runs, seed=seed + 1, device=device)
    result = train(net0, X, y, config)
    return measure_population(train_data, result, init, X0)


def measure_population(data: Dataset, result: TrainResult, init: InitConfig, X0: torch.Tensor) -> Population:
    """Measure g, k, S and Q of R3 at the points X0 for trained networks."""
    assert data.subspace is not None, "the orthogonal gradient needs a linear data subspace"
    perp = data.subspace.perp_projector()
    net = result.net
    g = orthogonal_gradient(net, X0, perp)
    act = active_set(net, X0)
    c_T = result.decay_factor.to(device=g.device, dtype=g.dtype)  # train() reports it on the CPU
    Q = chi_square_statistic(g, act.S, d=data.subspace.d, s_w=init.hidden_std, c_T=c_T)
    Q = torch.where(act.S > 0, Q, torch.full_like(Q, float("nan")))
    return Population(data, result, init, X0, forward(net, X0), g, act.k, act.S, Q, c_T)
