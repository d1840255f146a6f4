"""The least-norm point of a polyhedron, min ||c||^2 subject to G c <= e, batched, by its dual.

The dual of min (1/2)||c||^2 s.t. G c <= e (k constraints) is

    min_{mu >= 0} (1/2) mu^T Q mu + e^T mu,   Q = G G^T,   with c = -G^T mu,

a nonnegative quadratic programme in k variables however large c is. It is solved by a primal-dual
interior-point method (Wright, Primal-Dual Interior-Point Methods, ch. 1): Newton steps on the perturbed
optimality conditions Q mu + e = lambda, mu_i lambda_i = tau, mu, lambda > 0, with tau shrunk each step
and a fraction-to-the-boundary step length. Every batch entry takes the same fixed number of steps, so
the loop has no data-dependent branch. Used to polish an attack inside one activation region, where the
constraints are the region's half-spaces and the sign of the region's affine piece of N.
"""

from __future__ import annotations

import torch

__all__ = ["least_norm_point"]


def least_norm_point(G: torch.Tensor, e: torch.Tensor, *, steps: int = 12) -> torch.Tensor:
    """c = argmin ||c|| s.t. G c <= e for every batch entry: G (..., k, q), e (..., k) -> (..., q).

    The polyhedron must be nonempty (the callers pass one that contains a known point, to rounding);
    an empty one makes the dual unbounded and the result meaningless. The result is a heuristic's
    input, never reported as is: callers re-measure it exactly (a line search and a forward pass).
    """
    Q = G @ G.transpose(-1, -2)
    k = Q.shape[-1]
    # A relative ridge of 1e-12 keeps the Newton matrix definite when G has fewer columns than rows or
    # repeated rows; it moves the optimum by about that much.
    scale = Q.diagonal(dim1=-2, dim2=-1).mean(-1, keepdim=True).clamp_min(torch.finfo(Q.dtype).tiny)
    Q = Q + 1e-12 * scale.unsqueeze(-1) * torch.eye(k, dtype=Q.dtype, device=Q.device)
    mu = torch.ones_like(e)
    lam = torch.ones_like(e)
    for _ in range(steps):
        residual = Q @ mu.unsqueeze(-1)
        residual = residual.squeeze(-1) + e - lam
        tau = 0.1 * (mu * lam).mean(-1, keepdim=True)
        # Newton on (Q mu + e - lambda = 0, mu lambda = tau) with Delta lambda eliminated.
        rhs = -residual - (mu * lam - tau) / mu
        factor, _ = torch.linalg.cholesky_ex(Q + torch.diag_embed(lam / mu))
        step_mu = torch.cholesky_solve(rhs.unsqueeze(-1), factor).squeeze(-1)
        step_lam = (tau - mu * lam - lam * step_mu) / mu
        alpha = torch.minimum(_max_step(mu, step_mu), _max_step(lam, step_lam))
        alpha = (0.99 * alpha).clamp(max=1.0).unsqueeze(-1)
        mu = mu + alpha * step_mu
        lam = lam + alpha * step_lam
    return -(G.transpose(-1, -2) @ mu.unsqueeze(-1)).squeeze(-1)


def _max_step(x: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    """The largest alpha with x + alpha step >= 0 (inf where no entry decreases), over the last axis."""
    ratio = torch.where(step < 0, -x / torch.where(step < 0, step, -1.0), torch.full_like(x, float("inf")))
    return ratio.amin(-1)
