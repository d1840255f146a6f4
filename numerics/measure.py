"""What the results speak about, measured directly on batched networks at points x0.

Everything here is a measurement by a route that never reads a prediction: the orthogonal gradient
g = Pi grad_x N(x0) of R3, the active set I = {i : h_i > 0} with k = |I| and S = sum_{i in I} u_i^2, the
statistic Q = d ||g||^2 / (c_T^2 s_w^2 S) that R3 derives to be chi-square with ell degrees of freedom,
the invariance error of R1 (max_i ||Pi (w_i(T) - c_T w_i(0))||), the orthogonal Lipschitz constant
L = sum_i |u_i| ||Pi w_i|| of R6 and ||Pi W||_F of R8, and margins and accuracy. Everything is batched over
R runs and p points without Python loops.

Shapes: W (R, m, d), b (R, m), u (R, m); points X (R, p, d) (a shared (p, d) is broadcast to every run);
projectors Pi (d, d) or per run (R, d, d), symmetric (x @ Pi is then the projection of each row).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from numerics.model import Network, forward, input_gradient, preactivations
from theory.parameters import ParameterError, validate

__all__ = [
    "accuracy",
    "active_set",
    "ActiveSet",
    "batch_points",
    "chi_square_statistic",
    "invariance_error",
    "invariance_scale",
    "margins",
    "min_margin",
    "orthogonal_gradient",
    "orthogonal_gradient_from_initial",
    "orthogonal_lipschitz",
    "orthogonal_weight_norm",
    "output_variation_along",
    "project",
]


def batch_points(net: Network, X: torch.Tensor) -> torch.Tensor:
    """Points as (R, p, d): a shared (p, d) tensor is broadcast to every run, (R, p, d) is kept."""
    if X.dim() == 2:
        X = X.unsqueeze(0).expand(net.runs, -1, -1)
    if X.dim() != 3 or X.shape[0] != net.runs or X.shape[2] != net.dim:
        raise ParameterError(
            f"X of shape {tuple(X.shape)} is invalid: expected (p, {net.dim}) or ({net.runs}, p, {net.dim})"
        )
    return X


def project(vectors: torch.Tensor, projector: torch.Tensor) -> torch.Tensor:
    """Rows of `vectors` (R, q, d) mapped by the symmetric projector (d, d) or (R, d, d)."""
    d = vectors.shape[-1]
    ok = projector.shape == (d, d) or projector.shape == (vectors.shape[0], d, d)
    if not ok:
        raise ParameterError(
            f"projector of shape {tuple(projector.shape)} is invalid: expected ({d}, {d}) or "
            f"({vectors.shape[0]}, {d}, {d})"
        )
    # The projector is symmetric, so v @ Pi is (Pi v)^T for every row v.
    return torch.matmul(vectors, projector)


def _per_run(value: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor | float:
    """A scalar or an (R,) tensor shaped to broadcast against `like` (R, ...)."""
    if isinstance(value, torch.Tensor) and value.dim() == 1:
        return value.reshape(-1, *([1] * (like.dim() - 1))).to(device=like.device, dtype=like.dtype)
    return value


def orthogonal_gradient(net: Network, X0: torch.Tensor, perp: torch.Tensor) -> torch.Tensor:
    """g = Pi grad_x N(x0) = Pi sum_{i in I} u_i w_i for every run and point: (R, p, d).

    Args:
        net: R networks.
        X0: points (R, p, d) or (p, d).
        perp: Pi, the orthogonal projector onto P^perp, (d, d) or (R, d, d).
    """
    return project(input_gradient(net, batch_points(net, X0)), perp)


@dataclass
class ActiveSet:
    """The active set at x0: I = {i : h_i = <w_i, x0> + b_i > 0}."""

    mask: torch.Tensor  # (R, p, m) bool, i in I
    k: torch.Tensor  # (R, p) int64, k = |I|
    S: torch.Tensor  # (R, p) float, S = sum_{i in I} u_i^2


def active_set(net: Network, X0: torch.Tensor) -> ActiveSet:
    """I = {i : h_i > 0}, k = |I| and S = sum_{i in I} u_i^2 at every run and point."""
    mask = preactivations(net, batch_points(net, X0)) > 0
    S = (mask.to(net.u.dtype) * net.u.square().unsqueeze(1)).sum(-1)
    return ActiveSet(mask=mask, k=mask.sum(-1, dtype=torch.int64), S=S)


def chi_square_statistic(
    g: torch.Tensor, S: torch.Tensor, *, d: int, s_w: float, c_T: float | torch.Tensor = 1.0
) -> torch.Tensor:
    """Q = d ||g||^2 / (c_T^2 s_w^2 S), derived (R3) to be exactly chi-square with ell degrees of freedom.

    Args:
        g: orthogonal gradients (R, p, d) (or any (..., d)).
        S: sum_{i in I} u_i^2, shape g.shape[:-1]. Where S = 0 the result is NaN or inf (no active neuron).
        d: input dimension.
        s_w: the effective hidden scale, s_w * beta (InitConfig.hidden_std).
        c_T: the orthogonal decay factor, a float or one per run (R,).
    Returns:
        Q with shape g.shape[:-1].
    """
    validate(d=d, s_w=s_w)
    c = _per_run(c_T, S)
    return d * g.square().sum(-1) / (c**2 * s_w**2 * S)


def orthogonal_gradient_from_initial(
    net: Network, net0: Network, X0: torch.Tensor, perp: torch.Tensor, c_T: float | torch.Tensor = 1.0
) -> torch.Tensor:
    """R3's representation c_T sum_{i in I(T)} u_i(T) Pi w_i(0), from the initial hidden weights: (R, p, d).

    Equal to `orthogonal_gradient(net, ...)` exactly when R1's invariance Pi w_i(T) = c_T Pi w_i(0) holds.
    """
    mask = active_set(net, X0).mask.to(net.u.dtype)
    c = _per_run(c_T, mask)
    return c * torch.bmm(mask * net.u.unsqueeze(1), project(net0.W, perp))


def invariance_error(
    net: Network, net0: Network, perp: torch.Tensor, c_T: float | torch.Tensor = 1.0
) -> torch.Tensor:
    """R1's defect max_i ||Pi (w_i(T) - c_T w_i(0))|| per run: (R,). Zero when the invariance holds."""
    c = _per_run(c_T, net0.W)
    return project(net.W - c * net0.W, perp).norm(dim=-1).amax(-1)


def invariance_scale(net0: Network, perp: torch.Tensor) -> torch.Tensor:
    """max_i ||Pi w_i(0)|| per run: (R,), the scale against which `invariance_error` is relative."""
    return project(net0.W, perp).norm(dim=-1).amax(-1)


def orthogonal_lipschitz(net: Network, perp: torch.Tensor) -> torch.Tensor:
    """L = sum_i |u_i| ||Pi w_i|| per run: (R,). |N(x+z) - N(x)| <= L ||z|| for every z in P^perp (R6)."""
    return (net.u.abs() * project(net.W, perp).norm(dim=-1)).sum(-1)


def orthogonal_weight_norm(net: Network, perp: torch.Tensor) -> torch.Tensor:
    """||Pi W||_F = sqrt(sum_i ||Pi w_i||^2) per run: (R,); R8 derives it to vanish at stationary points."""
    return project(net.W, perp).flatten(1).norm(dim=-1)


def output_variation_along(net: Network, X0: torch.Tensor, Z: torch.Tensor) -> torch.Tensor:
    """N(x0 + z) - N(x0) for every run and point: X0 and Z (R, p, d) -> (R, p)."""
    X0 = batch_points(net, X0)
    return forward(net, X0 + Z) - forward(net, X0)


def margins(net: Network, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """y_j N(x_j) for every run and point: X (R, n, d) or (n, d), y (R, n) or (n,) -> (R, n)."""
    return y * forward(net, batch_points(net, X))


def accuracy(net: Network, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Fraction of points with y_j N(x_j) > 0, per run: (R,). A point exactly on the boundary counts wrong."""
    return (margins(net, X, y) > 0).to(net.u.dtype).mean(-1)


def min_margin(net: Network, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """min_j y_j N(x_j) per run: (R,)."""
    return margins(net, X, y).amin(-1)
