"""How each measurement of the population experiment is taken from a trained batch: one function per
measurement (`MEASURE`, dispatched in `MEASUREMENTS` order by `verify.experiments.population`), each
returning its fields of `PopulationMeasurement`. The measurements of every run come first and may exclude
runs (no active neuron at x0); the rest are taken on the runs left measured."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from numerics.attacks import AttackResult, certified_orthogonal_radius, orthogonal_gradient_flip
from numerics.certificates import certified_flip_radius
from numerics.measure import active_set, batch_points, orthogonal_gradient, orthogonal_lipschitz
from numerics.minimal_flip import METHODS, minimal_flip
from numerics.model import Network, forward
from numerics.subspace import Subspace
from verify.experiments import derive_seed
from verify.experiments.measurements import Exact, Flip, Gradient, OrthogonalWeights, scatter, to_numpy
from verify.experiments.normal_radii import normal_radii
from verify.experiments.shrinkage import measure_shrinkage

__all__ = ["ATTACK_METHODS", "ATTACK_SPACES", "CERTIFICATE_BATCH", "EVERY_RUN", "MEASURE", "Trained"]

#: The subspaces the "attacks" measurement searches, by the names of `PopulationMeasurement.radii`.
ATTACK_SPACES = ("orthogonal", "on_manifold", "unrestricted")
#: The iterations of the best-of attack, by the indices of `PopulationMeasurement.attack_methods`.
ATTACK_METHODS = METHODS
#: Elements (runs x points x m^2) of one batch of the tight certificate, whose piecewise bound builds
#: (R, p, m + 1, m) tensors: 2^22 float64 entries (32 MiB) per tensor whatever the population's size.
CERTIFICATE_BATCH = 2**22


@dataclass
class Trained:
    """A trained population and its evaluation points: what every measurement function reads. `measured`
    narrows as measurements of every run exclude runs (no active neuron at x0); `select` then keeps the
    measured runs (`rows`, `sub`, `X0s`) for the measurements made on those only."""

    spec: Any  # the PopulationSpec
    seed: int
    net: Network
    net0: Network
    X: torch.Tensor
    y: torch.Tensor
    X0: torch.Tensor
    subspace: Subspace | None
    measured: np.ndarray
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    sub: Network | None = None
    X0s: torch.Tensor | None = None
    attacks: dict[str, AttackResult] = field(default_factory=dict)

    @property
    def runs(self) -> int:
        return self.spec.runs

    @property
    def perp_space(self) -> Subspace:
        assert self.subspace is not None, "this measurement needs a linear data subspace"
        return self.subspace

    def select(self) -> None:
        self.rows = np.flatnonzero(self.measured)
        index = torch.as_tensor(self.rows, device=self.X0.device)
        self.sub, self.X0s = self.net.select(index), self.X0[index]


def _gradient(t: Trained) -> dict[str, Any]:
    perp = t.perp_space.perp_projector()
    act = active_set(t.net, t.X0)
    gradient = Gradient(
        g_norm=to_numpy(orthogonal_gradient(t.net, t.X0, perp).norm(dim=-1)),
        k=to_numpy(act.k),
        S=to_numpy(act.S),
        N0=to_numpy(forward(t.net, batch_points(t.net, t.X0))),
        x0_norm=to_numpy(t.X0.norm(dim=-1)),
    )
    t.measured &= gradient.S[:, 0] > 0
    return {"gradient": gradient}


def _weights(t: Trained) -> dict[str, Any]:
    complement = t.perp_space.complement_basis()
    net, net0 = t.net, t.net0
    scale = torch.maximum(net.W.norm(dim=-1).amax(dim=-1), net0.W.norm(dim=-1).amax(dim=-1))
    weights = OrthogonalWeights(
        initial=to_numpy(net0.W @ complement), final=to_numpy(net.W @ complement), scale=to_numpy(scale)
    )
    return {"weights": weights}


def _flip(t: Trained) -> dict[str, Any]:
    assert t.sub is not None and t.X0s is not None
    flip = orthogonal_gradient_flip(t.sub, t.X0s, t.perp_space.perp_projector())
    rows, R = t.rows, t.runs
    return {
        "flip": Flip(
            distance=scatter(flip.norm, rows, R),
            t_star=scatter(flip.t_star, rows, R),
            first_segment=scatter(flip.certified_first_segment, rows, R) == 1,
            verified=scatter(flip.success, rows, R) == 1,
        )
    }


def _attacks(t: Trained) -> dict[str, Any]:
    assert t.sub is not None and t.X0s is not None
    t.attacks = _minimal_flips(t.sub, t.X0s, t.perp_space, t.spec, t.seed)
    rows, R = t.rows, t.runs
    return {
        "radii": {name: scatter(a.norm, rows, R) for name, a in t.attacks.items()},
        "successes": {
            name: float(a.success.double().mean()) if rows.size else math.nan for name, a in t.attacks.items()
        },
        "attack_methods": {name: _methods(a, rows, R) for name, a in t.attacks.items()},
    }


def _certificate(t: Trained) -> dict[str, Any]:
    assert t.sub is not None and t.X0s is not None
    perp = t.perp_space.perp_projector()
    rows, R = t.rows, t.runs
    return {
        "certified": scatter(certified_orthogonal_radius(t.sub, t.X0s, perp), rows, R),
        "tight_certified": scatter(_tight_certificate(t.sub, t.X0s, perp), rows, R),
        "lipschitz": scatter(orthogonal_lipschitz(t.sub, perp), rows, R),
    }


def _exact(t: Trained) -> dict[str, Any]:
    assert t.sub is not None and t.X0s is not None
    return {"exact": _exact_radius(t.sub, t.X0s, t.perp_space, t.attacks["orthogonal"], t.rows, t.runs)}


def _normal(t: Trained) -> dict[str, Any]:
    return {"normal": normal_radii(t.net, t.X0, t.spec, derive_seed(t.seed, "attacks", "normal"))}


def _networks(t: Trained) -> dict[str, Any]:
    net, net0 = t.net, t.net0
    arrays = {"W": net.W, "b": net.b, "u": net.u, "W0": net0.W, "b0": net0.b, "X": t.X, "y": t.y}
    return {"networks": {key: to_numpy(value) for key, value in arrays.items()}}


def _shrinkage(t: Trained) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(derive_seed(t.seed, "shrinkage"))
    return {"shrinkage": measure_shrinkage(t.net, t.net0, t.X0, t.perp_space.perp_projector(), generator)}


#: measurement -> the function taking it (its fields of PopulationMeasurement), run in MEASUREMENTS order.
MEASURE: dict[str, Callable[[Trained], dict[str, Any]]] = {
    "gradient": _gradient,
    "weights": _weights,
    "flip": _flip,
    "attacks": _attacks,
    "certificate": _certificate,
    "exact": _exact,
    "normal": _normal,
    "networks": _networks,
    "shrinkage": _shrinkage,
}
#: The measurements made on every run; the others only on the runs left measured after them.
EVERY_RUN = ("gradient", "weights", "shrinkage")


def _methods(attack: AttackResult, rows: np.ndarray, runs: int) -> np.ndarray:
    """The best-of attack's method index (into ATTACK_METHODS) per point of the measured runs `rows`, placed
    into an (R, p) int64 array: -1 where no flip was found and for runs not measured."""
    assert attack.method is not None, "minimal_flip reports the method of each flip"
    out = np.full((runs, *attack.method.shape[1:]), -1, dtype=np.int64)
    out[rows] = np.where(attack.success.cpu().numpy(), attack.method.cpu().numpy(), -1)
    return out


def _minimal_flips(
    net: Network, X0: torch.Tensor, subspace: Subspace, spec: Any, seed: int
) -> dict[str, AttackResult]:
    """The best-of minimal flip (`numerics.minimal_flip`) within each of ATTACK_SPACES: z in P^perp (basis
    of the complement), z in P (basis B) and z in R^d, seeded per space from the experiment's seed."""
    bases = {"orthogonal": subspace.complement_basis(), "on_manifold": subspace.basis, "unrestricted": None}
    return {
        name: minimal_flip(
            net, X0, bases[name], seed=derive_seed(seed, "attacks", name), iterations=spec.attack_iterations
        )
        for name in ATTACK_SPACES
    }


def _tight_certificate(net: Network, X0: torch.Tensor, perp: torch.Tensor) -> torch.Tensor:
    """`numerics.certificates.certified_flip_radius` within P^perp (R, p), in batches of runs of at most
    CERTIFICATE_BATCH elements p m^2 each. No attack radius is passed as its `upper`: the certificate must
    stay independent of the flips the sandwich holds it against."""
    R, p, _ = batch_points(net, X0).shape
    step = max(1, CERTIFICATE_BATCH // max(1, p * net.W.shape[1] ** 2))
    parts = []
    for start in range(0, R, step):
        index = torch.arange(start, min(R, start + step), device=X0.device)
        parts.append(certified_flip_radius(net.select(index), batch_points(net, X0)[index], perp))
    return torch.cat(parts) if parts else torch.empty(0, p, dtype=X0.dtype, device=X0.device)


def _exact_radius(
    net: Network, X0: torch.Tensor, subspace: Subspace, orthogonal: AttackResult, rows: np.ndarray, runs: int
) -> Exact:
    """r_perp(x0) by SCIP within P^perp, bounded above by the orthogonal attack and started from its flip."""
    from numerics.exact_radius import exact_flip_radius  # pyscipopt is optional (checked before training)

    upper = torch.where(orthogonal.success, orthogonal.norm, float("inf"))
    exact = exact_flip_radius(net, X0, subspace.complement_basis(), upper, starts=orthogonal.delta)
    optimal = torch.tensor([[s.startswith("optimal") for s in row] for row in exact.status], dtype=torch.bool)
    return Exact(
        radius=scatter(exact.radius, rows, runs),
        lower=scatter(exact.lower, rows, runs),
        optimal=scatter(optimal.reshape(exact.radius.shape), rows, runs) == 1,
        proven=scatter(exact.proven, rows, runs) == 1,
        seconds=exact.seconds,
    )
