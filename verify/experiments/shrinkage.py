"""The quantities whose shrinkage under weight decay R8 predicts, measured at evaluation points x0 from a
trained batch and its initialization: shared by the decay-curve experiment and the population's
"shrinkage" measurement, so that both measure them the same way.

At x0 (R, p, d): the orthogonal gradient g = Pi grad_x N(x0) beside G0 = sum_{i in I(T)} u_i(T) Pi w_i(0)
(its value had Pi w_i never shrunk), L = sum_i |u_i| ||Pi w_i|| beside L0 = sum_i |u_i(T)| ||Pi w_i(0)||,
and the output change |N(x0 + z) - N(x0)| along a random orthogonal z with ||z|| = ||x0||.
"""

from __future__ import annotations

import torch

from numerics.measure import (
    active_set,
    orthogonal_gradient,
    orthogonal_lipschitz,
    output_variation_along,
    project,
)
from numerics.model import Network
from verify.experiments.measurements import Shrinkage, to_numpy

__all__ = ["measure_shrinkage"]


def measure_shrinkage(
    net: Network, net0: Network, X0: torch.Tensor, perp: torch.Tensor, generator: torch.Generator
) -> Shrinkage:
    """g, G0, L, L0 and |N(x0 + z) - N(x0)| at X0 (R, p, d), z = ||x0|| Pi xi / ||Pi xi|| with xi drawn
    from `generator` (standard normal, on the CPU)."""
    mask = active_set(net, X0).mask.to(X0.dtype)
    orth0 = project(net0.W, perp)
    Z = torch.randn(X0.shape, generator=generator, dtype=X0.dtype).to(X0.device) @ perp
    Z = Z / Z.norm(dim=-1, keepdim=True) * X0.norm(dim=-1, keepdim=True)
    return Shrinkage(
        g=to_numpy(orthogonal_gradient(net, X0, perp)),
        g_initial=to_numpy(torch.einsum("rpm,rm,rmd->rpd", mask, net.u, orth0)),
        lipschitz=to_numpy(orthogonal_lipschitz(net, perp)),
        lipschitz_initial=to_numpy((net.u.abs() * orth0.norm(dim=-1)).sum(-1)),
        variation=to_numpy(output_variation_along(net, X0, Z).abs()),
        z_norm=to_numpy(Z.norm(dim=-1)),
    )
