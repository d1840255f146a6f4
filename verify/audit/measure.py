"""What the audit measures on the user's networks, per network and point, by the suite's numerics only.

For N(x) = sum_i u_i relu(<w_i, x> + b_i) + c at each x0: the gradient split ||Pi grad N(x0)|| and
||P grad N(x0)|| (`numerics.model.input_gradient`, projected on P^perp and P), the active set's k and
S = sum_{i in I} u_i^2, the shortest verified flip in P^perp, in P and unrestricted (the best-of attack,
`numerics.minimal_flip`), R5's flip along -sign(N(x0)) g/||g|| (`numerics.attacks.orthogonal_gradient_flip`),
the certificates in P^perp (`numerics.certificates`: R6's |N(x0)|/L and the tight one, computed without any
attack radius so nothing ties them to the flips), L = sum_i |u_i| ||Pi w_i||, and the exact orthogonal
radius (`numerics.exact_radius`, SCIP) where the network is small enough. The output bias c enters the
numerics as one more neuron with w = 0, b = 1, u = c (relu(1) = 1): it moves no gradient and no L.
Three-layer networks get the gradient split and the attacks of `numerics.deep.projected_flip` only.
Shapes: R networks, p points; every array is (R, p) float64 (NaN where not computed).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from numerics.attacks import certified_orthogonal_radius, orthogonal_gradient_flip
from numerics.certificates import certificates
from numerics.deep import DeepNetwork, projected_flip
from numerics.deep import forward as deep_forward
from numerics.deep import input_gradient as deep_input_gradient
from numerics.exact_radius import exact_flip_radius
from numerics.measure import active_set, orthogonal_lipschitz
from numerics.minimal_flip import minimal_flip
from numerics.model import Network, forward, input_gradient
from verify.audit.loading import LoadedNetwork
from verify.audit.subspace import DataSubspace

__all__ = ["EXACT_LIMITS", "Measurements", "measure", "stack"]

#: The exact solver runs where the network is small: width m and the attack's dimension min(ell, m) at most
#: these (its cost grows exponentially in the unstable neurons; numerics/exact_radius.py), and at most
#: `points` instances in all, each within `seconds`.
EXACT_LIMITS = {"m": 16, "dimension": 10, "points": 100, "seconds": 5.0}
ATTACKS = ("orthogonal", "on_manifold", "unrestricted")


@dataclass
class Measurements:
    """Per network (R) and point (p): the quantities of the module docstring, NaN where not computed."""

    N0: np.ndarray  # N(x0), output bias included
    orthogonal_gradient_norm: np.ndarray  # ||Pi grad N(x0)||
    subspace_gradient_norm: np.ndarray  # ||P grad N(x0)||
    gradient: np.ndarray  # (R, p, d) grad N(x0), for the tests against autograd
    k: np.ndarray  # active neurons at x0 (two layers)
    S: np.ndarray  # sum_{i in I} u_i^2 (two layers)
    radii: dict[str, np.ndarray]  # ATTACKS -> shortest verified flip; inf where none found
    deltas: dict[str, np.ndarray]  # ATTACKS -> (R, p, d) the flips (zeros where none)
    gradient_flip: np.ndarray  # R5's walked flip along -sign(N) g/||g||; inf where none
    t_star: np.ndarray  # |N(x0)| / ||g||
    first_segment: np.ndarray  # bool: t* precedes the first breakpoint
    gradient_flip_verified: np.ndarray  # bool
    certified_global: (
        np.ndarray
    )  # R6's |N(x0)|/L (numerics.attacks.certified_orthogonal_radius), NaN for deep
    certified_tight: np.ndarray  # the tight certificate, NaN for deep networks
    exact: np.ndarray  # SCIP's proven r_perp (lower end), NaN where not computed
    lipschitz: np.ndarray  # (R,) L = sum_i |u_i| ||Pi w_i||, NaN for deep networks
    x0_residual: np.ndarray  # (p,) ||Pi x0||
    notes: list[str] = field(default_factory=list)


def stack(networks: list[LoadedNetwork]) -> Network:
    """The two-layer networks as one batched `Network` (R, m_max, d), narrower ones padded by zero neurons
    (w = 0, b = 0, u = 0: dead everywhere, so N, its gradient and L are unchanged)."""
    R, d = len(networks), networks[0].d
    m = max(net.m for net in networks)
    W, b, u = np.zeros((R, m, d)), np.zeros((R, m)), np.zeros((R, m))
    for r, net in enumerate(networks):
        W[r, : net.m], b[r, : net.m], u[r, : net.m] = net.W, net.b, net.u
    return Network(*(torch.from_numpy(t) for t in (W, b, u)))


def _with_output_bias(net: Network, c: np.ndarray) -> Network:
    """N + c as a network of the suite: one more neuron with w = 0, b = 1, u = c."""
    R, _, d = net.W.shape
    ones = torch.ones(R, 1, dtype=net.W.dtype)
    return Network(
        torch.cat([net.W, torch.zeros(R, 1, d, dtype=net.W.dtype)], 1),
        torch.cat([net.b, ones], 1),
        torch.cat([net.u, torch.from_numpy(c).reshape(R, 1)], 1),
    )


def _deep(networks: list[LoadedNetwork]) -> DeepNetwork:
    """Three-layer networks batched; the output bias c as one more second-layer neuron (row 0, bias 1,
    v = c)."""
    R, d = len(networks), networks[0].d
    m1 = max(net.m for net in networks)
    m2 = max(int(net.A.shape[0]) for net in networks if net.A is not None) + 1
    W, b = np.zeros((R, m1, d)), np.zeros((R, m1))
    A, a, v = np.zeros((R, m2, m1)), np.zeros((R, m2)), np.zeros((R, m2))
    for r, net in enumerate(networks):
        assert net.A is not None and net.a is not None
        k = net.A.shape[0]
        W[r, : net.m], b[r, : net.m] = net.W, net.b
        A[r, :k, : net.m], a[r, :k], v[r, :k] = net.A, net.a, net.u
        a[r, -1], v[r, -1] = 1.0, net.c
    return DeepNetwork(*(torch.from_numpy(t) for t in (W, b, A, a, v)))


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float64) if t.dtype.is_floating_point else t.cpu().numpy()


def measure(
    networks: list[LoadedNetwork], P: DataSubspace, X0: np.ndarray, *, seed: int, exact: bool = True
) -> Measurements:
    """Every quantity of the module docstring for `networks` (all two-layer or all three-layer) at X0
    (p, d)."""
    B = P.subspace.basis
    C = P.subspace.complement_basis()
    Pi = P.subspace.perp_projector()
    X = torch.from_numpy(np.ascontiguousarray(X0))
    R, p = len(networks), X.shape[0]
    nan = np.full((R, p), np.nan)
    c = np.array([net.c for net in networks])
    residual = P.subspace.project_perp(X).norm(dim=-1).numpy()
    if networks[0].deep:
        deep = _deep(networks)
        grad = deep_input_gradient(deep, X)
        Xb = X.unsqueeze(0).expand(R, -1, -1)
        deep_N0 = deep_forward(deep, Xb)
        flips = {
            name: projected_flip(deep, Xb, proj)
            for name, proj in zip(ATTACKS, (Pi, B @ B.T, torch.eye(P.d, dtype=B.dtype)), strict=True)
        }
        return Measurements(
            N0=_np(deep_N0),
            orthogonal_gradient_norm=_np(P.subspace.project_perp(grad).norm(dim=-1)),
            subspace_gradient_norm=_np((grad @ B).norm(dim=-1)),
            gradient=_np(grad),
            k=nan,
            S=nan,
            radii={k: _np(f.norm) for k, f in flips.items()},
            deltas={k: _np(f.delta) for k, f in flips.items()},
            gradient_flip=nan,
            t_star=nan,
            first_segment=np.zeros((R, p), bool),
            gradient_flip_verified=np.zeros((R, p), bool),
            certified_global=nan,
            certified_tight=nan,
            exact=nan,
            lipschitz=np.full(R, np.nan),
            x0_residual=residual,
            notes=[
                "three-layer networks: the gradient split and the attacks (DeepFool restricted to the "
                "subspace, shortened by bisection, numerics.deep.projected_flip) only; no certificate, no "
                "exact radius and none of R1-R6's two-layer claims"
            ],
        )
    net = stack(networks)
    full = _with_output_bias(net, c)
    grad = input_gradient(net, X.unsqueeze(0).expand(R, -1, -1))
    active = active_set(net, X)
    radii, deltas = {}, {}
    # A bar on a terminal only (tqdm's disable=None): piped output and the tests stay clean.
    bar = tqdm(
        total=len(ATTACKS) + 1,
        desc="audit: attacks and certificates",
        disable=None,
        file=sys.stderr,
        leave=False,
    )
    for name, basis in zip(ATTACKS, (C, B, None), strict=True):
        found = minimal_flip(full, X, basis, seed=seed)
        radii[name], deltas[name] = _np(found.norm), _np(found.delta)
        bar.update()
    along = orthogonal_gradient_flip(full, X, Pi)
    certs = certificates(full, X, C)
    bar.close()
    notes: list[str] = []
    exact_radius = nan.copy()
    small = (
        net.width <= EXACT_LIMITS["m"]
        and min(P.ell, net.width) <= EXACT_LIMITS["dimension"]
        and R * p <= EXACT_LIMITS["points"]
    )
    if exact and small:
        try:
            solved = exact_flip_radius(
                full,
                X,
                C,
                torch.from_numpy(radii["orthogonal"]),
                starts=torch.from_numpy(deltas["orthogonal"]),
                time_limit=EXACT_LIMITS["seconds"],
            )
            exact_radius = np.where(_np(solved.proven), _np(solved.lower), np.nan)
        except ImportError:
            notes.append(
                "exact radius not computed: pyscipopt is not installed (pip install 'offsub[exact]')"
            )
    elif exact:
        notes.append(
            f"exact radius not computed: the exact solver runs for width <= {EXACT_LIMITS['m']}, "
            f"min(ell, m) <= {EXACT_LIMITS['dimension']} and <= {EXACT_LIMITS['points']} points in all"
        )
    N0 = _np(forward(full, X.unsqueeze(0).expand(R, -1, -1)))
    return Measurements(
        N0=N0,
        orthogonal_gradient_norm=_np(P.subspace.project_perp(grad).norm(dim=-1)),
        subspace_gradient_norm=_np((grad @ B).norm(dim=-1)),
        gradient=_np(grad),
        k=_np(active.k).astype(np.float64),
        S=_np(active.S),
        radii=radii,
        deltas=deltas,
        gradient_flip=_np(along.norm),
        t_star=_np(along.t_star),
        first_segment=_np(along.certified_first_segment),
        gradient_flip_verified=_np(along.success),
        certified_global=_np(certified_orthogonal_radius(full, X, Pi)),
        certified_tight=_np(certs.radius),
        exact=exact_radius,
        lipschitz=_np(orthogonal_lipschitz(net, Pi)),
        x0_residual=residual,
        notes=notes,
    )
