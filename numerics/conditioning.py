"""How many digits a computed radius has: first-order rounding bounds for the two ends of R6's sandwich.

Radii are compared across numerical routes (an exact walk, attacks, certificates), and a comparison is only
as sharp as the worse-conditioned side. Where the network is nearly flat along the allowed directions (R8's
decay drives <w_i, n> to 1e-13 ||w_i|| on the figures' weight-decay networks, and r_perp to 1e12), the
rounding of a_i = <w_i, v> alone moves a root by a relative 1e-4, far past the fixed allowance that serves
well-conditioned points. Both bounds below are first order, from Higham's dot-product bound
|fl(<w, x>) - <w, x>| <= gamma_d <|w|, |x|> (Accuracy and Stability of Numerical Algorithms, section 3.1),
with gamma taken generously as `numerics.breakpoints.rounding_factor`.
"""

from __future__ import annotations

import torch

from numerics.attacks import VERIFY_NUDGE
from numerics.breakpoints import rounding_factor
from numerics.measure import batch_points, orthogonal_lipschitz, project
from numerics.model import Network, forward, preactivations

__all__ = ["certificate_condition", "flip_condition"]


def _preactivation_error(net: Network, X0: torch.Tensor) -> torch.Tensor:
    """Bound on the rounding of h_i = <w_i, x0> + b_i: gamma (<|w_i|, |x0|> + |b_i|), (R, p, m)."""
    gamma = rounding_factor(X0.shape[-1], X0.dtype)
    return gamma * torch.baddbmm(net.b.abs().unsqueeze(1), X0.abs(), net.W.abs().transpose(1, 2))


def flip_condition(
    net: Network, X0: torch.Tensor, delta: torch.Tensor, projector: torch.Tensor | None
) -> torch.Tensor:
    """Relative first-order error bound of ||delta|| as the first flip along its direction within
    range(projector).

    With t = ||delta||, v = delta/t and f(t) = sum_i u_i relu(h_i + t a_i), rounding perturbs h_i by dh_i and
    a_i by da_i = gamma <|w_i|, |v|> + |<w_i, v - Pi v>| (the second term: the part of v outside the allowed
    subspace, which a route in R^d carries to rounding). relu is 1-Lipschitz, so f moves by at most
    E(t) = sum_i |u_i| (dh_i + t da_i) + gamma_m sum_i |u_i| (|h_i| + t |a_i|), and the root by E(t) / |S|,
    S the slope of the segment that crosses zero: the bound is E(t) / (t |S|).

    Args:
        net: R networks.
        X0: points (R, p, d) or (p, d).
        delta: flips (R, p, d); rows of zeros or non-finite norms (no flip) get 0.
        projector: the allowed subspace's projector (d, d) or (R, d, d); None for R^d.
    Returns:
        (R, p) non-negative; inf where the crossing segment is flat (S = 0).
    """
    X0 = batch_points(net, X0)
    t = delta.norm(dim=-1)
    flipped = torch.isfinite(t) & (t > 0)
    v = torch.where(flipped.unsqueeze(-1), delta / torch.where(flipped, t, 1.0).unsqueeze(-1), 0.0)
    t = torch.where(flipped, t, 0.0)
    d, m = X0.shape[-1], net.W.shape[1]
    h = preactivations(net, X0)
    a = torch.bmm(v, net.W.transpose(1, 2))
    da = rounding_factor(d, X0.dtype) * torch.bmm(v.abs(), net.W.abs().transpose(1, 2))
    if projector is not None:
        off = v - project(v, projector)
        # The computed off-part is itself rounded: its true norm is at most this much larger.
        spill = off.norm(dim=-1) + rounding_factor(d, X0.dtype) * v.norm(dim=-1)
        da = da + spill.unsqueeze(-1) * net.W.norm(dim=-1).unsqueeze(1)
    T = t.unsqueeze(-1)
    u = net.u.abs().unsqueeze(1)
    error = (u * (_preactivation_error(net, X0) + T * da)).sum(-1)
    error = error + rounding_factor(m, X0.dtype) * (u * (h.abs() + T * a.abs())).sum(-1)
    before = (h + (1.0 - VERIFY_NUDGE) * T * a) > 0  # the crossing segment's active set
    slope = (torch.where(before, a, 0.0) * net.u.unsqueeze(1)).sum(-1).abs()
    bound = error / torch.where(slope > 0, t * slope, 1.0)
    bound = torch.where(slope > 0, bound, float("inf"))
    return torch.where(flipped, bound, 0.0)


def certificate_condition(net: Network, X0: torch.Tensor, projector: torch.Tensor) -> torch.Tensor:
    """Relative first-order error bound of R6's certificate |N(x0)| / L, L = sum_i |u_i| ||Pi w_i||.

    A quotient's relative error is at most the sum of its parts': |dN| / |N| with
    |dN| <= sum_i |u_i| dh_i + gamma_m sum_i |u_i| |h_i|, and |dL| / L with ||Pi w_i|| perturbed by at most
    gamma (|| |w_i| |Pi| || + ||Pi w_i||). Returns (R, p); inf where N(x0) = 0 or L = 0.
    """
    X0 = batch_points(net, X0)
    d, m = X0.shape[-1], net.W.shape[1]
    h = preactivations(net, X0)
    u = net.u.abs().unsqueeze(1)
    dN = (u * _preactivation_error(net, X0)).sum(-1) + rounding_factor(m, X0.dtype) * (u * h.abs()).sum(-1)
    gamma = rounding_factor(d, X0.dtype)
    dPw = gamma * (
        torch.matmul(net.W.abs(), projector.abs()).norm(dim=-1) + project(net.W, projector).norm(dim=-1)
    )
    L = orthogonal_lipschitz(net, projector)
    dL = (net.u.abs() * dPw).sum(-1) + rounding_factor(m, X0.dtype) * L
    N = forward(net, X0).abs()
    relative_L = torch.where(L > 0, dL / torch.where(L > 0, L, 1.0), float("inf")).unsqueeze(-1)
    return torch.where(N > 0, dN / torch.where(N > 0, N, 1.0), float("inf")) + relative_L
