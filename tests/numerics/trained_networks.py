"""Populations of really trained networks for the attack, certificate and exact-radius tests (cached).

The recipe of the suite's R5/R6 populations, at test sizes: "gaussian_linear" data of n points in a random
subspace P of codimension ell, standard initialization, full-batch GD on the logistic loss (output layer
trained), and one held-out point x0 of P per network.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch

from numerics.datasets import make_dataset
from numerics.model import InitConfig, Network, initialize, preactivations
from numerics.subspace import Subspace
from numerics.train import TrainConfig, train


@dataclass(frozen=True)
class Trained:
    net: Network
    X0: torch.Tensor  # (R, 1, d) held-out points of P
    subspace: Subspace

    @property
    def perp_basis(self) -> torch.Tensor:
        """An orthonormal basis (d, ell) of P^perp."""
        return self.subspace.complement_basis()


@lru_cache(maxsize=32)
def trained(runs: int, d: int, ell: int, m: int, *, steps: int = 300, seed: int = 0, n: int = 40) -> Trained:
    """`runs` trained networks, each with one held-out x0 in P at which some neuron is active."""
    data = make_dataset("gaussian_linear", runs=runs, seed=seed, d=d, ell=ell, n=n + 1)
    assert data.subspace is not None
    net0 = initialize(InitConfig(m=m), d, runs, seed=seed + 1)
    result = train(net0, data.X[:, :n], data.y[:, :n], TrainConfig(lr=0.2, steps=steps))
    X0 = data.X[:, n:]
    keep = (
        torch.tensor([s != "diverged" for s in result.status])
        & (preactivations(result.net, X0) > 0).any(-1)[:, 0]
    )
    return Trained(result.net.select(keep), X0[keep], data.subspace)
