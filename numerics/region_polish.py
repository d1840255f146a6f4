"""Polish a flip inside its activation region: the least-norm flip of the region's affine piece, repeated.

A flip found along the unit direction v at distance T crosses the boundary on a segment of the ray where
the activation pattern s is constant, so near c* = T v the network is affine on the region
R_s = {c : sign(h_i + <A_i, c>) = s_i for every i}: f = alpha_s + <g_s, c> with g_s = sum_{s_i = 1} u_i A_i
and alpha_s = sum_{s_i = 1} u_i h_i. The least-norm point of

    {c : sigma (alpha_s + <g_s, c>) <= 0} intersected with {c : s_i (h_i + <A_i, c>) >= 0, i in J},

J the `working` neurons whose switching hyperplanes are nearest to c* (a convex QP, solved through its dual
by `numerics.least_norm_qp`), is no longer than c* (c* is feasible) and is the shortest flip of the
region's piece when no other neuron's hyperplane cuts it off. Its direction gets the exact line search
again, which decides (the QP point may lie outside R_s, or touch zero without crossing); a shorter flip
replaces the old one and its region is polished next. The descent stops at a local minimum of the norm
over the union of regions or after `rounds` rounds.
"""

from __future__ import annotations

import torch

from numerics.breakpoints import first_crossing
from numerics.flip_search import Candidates
from numerics.least_norm_qp import least_norm_point
from numerics.restricted import RestrictedNetwork

__all__ = ["polish"]


def polish(problem: RestrictedNetwork, found: Candidates, *, rounds: int, working: int) -> torch.Tensor:
    """Shorten the flips of `found` (one row per row of `problem`) in place; returns where they shortened."""
    start = found.r.clone()
    m = problem.H.shape[-1]
    k = min(working, m)
    sigma = problem.sigma
    row_norm = problem.A.norm(dim=-1).unsqueeze(1)  # (R, 1, m)
    for _ in range(rounds):
        flipped = torch.isfinite(found.r)
        if not bool(flipped.any()):
            break
        T = torch.where(flipped, found.r, 0.0)
        slopes = problem.slopes(found.v)
        crossing = first_crossing(problem.H, slopes, problem.u)
        inside = torch.where(flipped, crossing.inside(), 0.0)
        active = problem.H + inside.unsqueeze(-1) * slopes > 0  # the pattern s on the crossing segment
        at = problem.H + T.unsqueeze(-1) * slopes  # h_i + <A_i, c*>
        distance = torch.where(
            row_norm > 0, at.abs() / torch.where(row_norm > 0, row_norm, 1.0), float("inf")
        )
        nearest = distance.topk(k, dim=-1, largest=False).indices  # J, (R, P, k)
        side = torch.where(active, 1.0, -1.0).to(problem.A.dtype).gather(2, nearest)
        g = problem.gradient_of(active)
        alpha = (torch.where(active, problem.u.unsqueeze(1), 0.0) * problem.H).sum(-1)
        R, P, q = g.shape
        rows = problem.A.unsqueeze(1).expand(R, P, m, q).gather(2, nearest.unsqueeze(-1).expand(R, P, k, q))
        # G c <= e: sigma (alpha_s + <g_s, c>) <= 0 and -s_i (h_i + <A_i, c>) <= 0 for i in J.
        G = torch.cat([(sigma.unsqueeze(-1) * g).unsqueeze(2), -side.unsqueeze(-1) * rows], 2)
        e = torch.cat([(-sigma * alpha).unsqueeze(-1), side * problem.H.gather(2, nearest)], -1)
        C = torch.where(flipped.unsqueeze(-1), least_norm_point(G, e), 0.0)
        if not bool(found.offer(problem, C).any()):
            break
    return found.r < start
