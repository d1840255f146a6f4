"""Certified flip radii: radii r such that no z in the allowed subspace with ||z|| < r changes sign N(x0 + z).

Write ũ_i = sigma u_i with sigma = sign N(x0), so that sigma N(x0 + z) = sum_i ũ_i relu(h_i + t_i), with
h_i = <w_i, x0> + b_i, a_i the projection of w_i on the allowed subspace (Pi w_i for R6) and t_i = <a_i, z>.
On the ball ||z|| <= r, |t_i| <= rho_i = r ||a_i||, so neuron i is stably active (SA, h_i >= rho_i), stably
off (SO, h_i <= -rho_i) or unstable (U). Each bound below is a lower bound LB(r) <= sigma N(x0 + z) for every
z of the ball; every r with LB(r) > 0 is certified, and the function returns the largest such r it finds.

global (R6): LB = N' - r L, L = sum_i |u_i| ||a_i||, N' = |N(x0)|; radius N'/L.

piecewise (the construction of the issue): SA neurons are linear on the ball, SO ones constant, and an
    unstable one is bounded alone: ũ_i relu(h_i + t_i) >= 0 if ũ_i > 0 (a loss ũ_i relu(h_i) against
    N(x0)), >= ũ_i (h_i + rho_i) if ũ_i < 0 (a loss |ũ_i| (rho_i + min(h_i, 0))). Hence
        LB(r) = N' - r ||sum_SA ũ_i a_i|| - sum_{U, ũ>0} ũ_i relu(h_i) - sum_{U, ũ<0} |ũ_i| (rho_i +
        min(h_i, 0)).
    Between consecutive breakpoints r_i = |h_i| / ||a_i|| the classes are fixed and LB is affine and
    decreasing in r; at a breakpoint it jumps down or not at all, so the certified radius is its first
    zero, found exactly by a scan of the sorted breakpoints. Every term is at most its global counterpart
    (relu(h_i) < rho_i for unstable i, and the norm of a sum is at most the sum of norms), so this radius is
    never below the global one.

spectral (ours; `numerics.spectral_certificate`): every neuron gets a bound linear or quadratic in t_i,
    and the sum is bounded over the ball as a whole, where the directions a_i, nearly orthogonal in high
    dimension, stop adding up.

A certified r keeps a margin against rounding (`numerics.certificate_geometry.MARGIN`). The returned
radius is the largest of the three, so never below the global one.

Shapes: R runs, p points; results (R, p). Inf where nothing in the subspace moves N (L = 0), 0 where N(x0) =
0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from numerics.certificate_geometry import MARGIN, Geometry, geometry
from numerics.model import Network
from numerics.restricted import restrict
from numerics.spectral_certificate import spectral_radius
from numerics.subspace import Subspace
from theory.parameters import ParameterError

__all__ = ["Certificates", "certificates", "certified_flip_radius"]


@dataclass
class Certificates:
    """Certified radii of the three bounds of the module docstring, and their maximum."""

    global_: torch.Tensor  # (R, p) N' / L
    piecewise: torch.Tensor  # (R, p) first zero of the stable/unstable bound
    spectral: torch.Tensor  # (R, p) largest r found with the spectral bound > margin (0: none)
    radius: torch.Tensor  # (R, p) the maximum of the three


def _quadratic_form(G: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """w^T G w for w (R, P, T, m) and G (R, m, m): (R, P, T), clamped at 0 (G is a Gram matrix)."""
    R, P, T, m = w.shape
    Gw = torch.bmm(w.reshape(R, P * T, m), G).reshape(R, P, T, m)
    return (Gw * w).sum(-1).clamp_min(0)


def _global_radius(geo: Geometry) -> torch.Tensor:
    L = (geo.ut.abs() * geo.norms).sum(-1)  # (R, p): |ũ_i| = |u_i|
    return torch.where(L > 0, geo.N / torch.where(L > 0, L, 1.0), float("inf"))


def _piecewise_radius(geo: Geometry) -> torch.Tensor:
    """The first zero of the piecewise bound, by a scan of its sorted breakpoints (module docstring)."""
    h, ut, norms = geo.h, geo.ut, geo.norms.expand_as(geo.h)
    R, p, m = h.shape
    moving = norms > 0
    r_break = torch.where(moving, h.abs() / torch.where(moving, norms, 1.0), float("inf"))
    r_sorted, order = r_break.sort(-1)
    start = torch.cat(
        [torch.zeros_like(r_sorted[..., :1]), r_sorted], -1
    )  # interval j: [start_j, start_{j+1})
    # In interval j the neurons with r_i <= start_j are unstable (index order: the j smallest r_i).
    rank = torch.empty_like(order).scatter_(-1, order, torch.arange(m, device=h.device).expand_as(order))
    j = torch.arange(m + 1, device=h.device).reshape(1, 1, -1, 1)
    unstable = rank.unsqueeze(2) < j  # (R, p, m + 1, m)
    active = (h > 0).unsqueeze(2) & ~unstable  # SA: stable and h > 0 (stable with h <= 0 is SO)
    norm_SA = _quadratic_form(geo.G, torch.where(active, ut.unsqueeze(2), 0.0)).sqrt()  # (R, p, m + 1)
    pos = (ut > 0).unsqueeze(2) & unstable
    neg = (ut < 0).unsqueeze(2) & unstable
    # LB(r) = alpha_j - beta_j r on interval j, minus the margin (affine in r too).
    alpha = geo.N.unsqueeze(-1) - torch.where(pos, (ut * torch.relu(h)).unsqueeze(2), 0.0).sum(-1)
    alpha = alpha - torch.where(neg, (ut.abs() * torch.clamp(h, max=0)).unsqueeze(2), 0.0).sum(-1)
    beta = norm_SA + torch.where(neg, (ut.abs() * norms).unsqueeze(2), 0.0).sum(-1)
    alpha = alpha - MARGIN * (ut.abs() * h.abs()).sum(-1, keepdim=True)
    beta = beta + MARGIN * (ut.abs() * norms).sum(-1, keepdim=True)
    end = torch.cat([r_sorted, torch.full_like(r_sorted[..., :1], float("inf"))], -1)
    finite_start = torch.isfinite(start)
    value_at_start = alpha - beta * torch.where(finite_start, start, 0.0)
    root = torch.where(beta > 0, alpha / torch.where(beta > 0, beta, 1.0), float("inf"))
    # The first interval that is not certified all through: LB <= 0 at its start, or its root before its end.
    fails_at_start = finite_start & (value_at_start <= 0)
    fails_inside = finite_start & ~fails_at_start & (root < end)
    first = ((fails_at_start | fails_inside).cumsum(-1) == 0).sum(-1, keepdim=True).clamp(max=m)
    radius = torch.where(
        fails_at_start.gather(-1, first), start.gather(-1, first), root.gather(-1, first).clamp_min(0)
    ).squeeze(-1)
    none_fails = ~(fails_at_start | fails_inside).any(-1)
    return torch.where(none_fails, float("inf"), radius)


def certificates(
    net: Network,
    X0: torch.Tensor,
    perp: torch.Tensor | None,
    *,
    upper: torch.Tensor | None = None,
    data_subspace: Subspace | None = None,
) -> Certificates:
    """The global, piecewise and spectral certified radii (module docstring) and their maximum.

    Args:
        net: R networks.
        X0: points (R, p, d) or (p, d).
        perp: the allowed subspace: Pi (d, d) or (R, d, d) for R6, or orthonormal columns (d, q) or (R, d, q);
            None for all of R^d.
        upper: optional flip radii (R, p) (an attack's norms) that bracket the spectral search: faster, and
            the result never exceeds them. They must be radii of flips (no check reads them as proof).
        data_subspace: the data subspace P; if given, every x0 must lie in P (to rounding).
    Returns:
        Certificates, every field (R, p).
    """
    problem = restrict(net, X0, perp, data_subspace=data_subspace)
    R, p, _ = problem.H.shape
    if upper is not None:
        if upper.shape != (R, p) or upper.dtype != problem.H.dtype:
            raise ParameterError(
                f"upper of shape {tuple(upper.shape)} is invalid: expected ({R}, {p}) floats"
            )
        if bool(torch.isnan(upper).any()) or bool((upper < 0).any()):
            raise ParameterError("upper is invalid: expected nonnegative radii (inf where no flip is known)")
    geo = geometry(problem)
    zero = geo.N == 0
    global_ = torch.where(zero, 0.0, _global_radius(geo))
    piecewise = torch.where(zero, 0.0, torch.maximum(_piecewise_radius(geo), global_))
    low = torch.maximum(global_, piecewise)
    spectral = torch.where(zero | torch.isinf(global_), global_, spectral_radius(geo, low, upper))
    return Certificates(global_, piecewise, spectral, torch.maximum(low, spectral))


def certified_flip_radius(
    net: Network,
    X0: torch.Tensor,
    perp: torch.Tensor | None,
    *,
    upper: torch.Tensor | None = None,
    data_subspace: Subspace | None = None,
) -> torch.Tensor:
    """The best certified radius of `certificates` (R, p): no z in the subspace shorter than it flips N.

    Same arguments as `certificates`; never below |N(x0)|/L (R6's `certified_orthogonal_radius`).
    """
    return certificates(net, X0, perp, upper=upper, data_subspace=data_subspace).radius
