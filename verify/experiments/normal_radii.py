"""R9's radii where the complement of the data is one direction n (the paper's figure sets): at every
training point the exact orthogonal radius along +-n, the gradient flip, the best-of attack within span{n}
and the certificate |N(x0)|/L, each with its first-order rounding bound (`numerics.conditioning`)."""

from __future__ import annotations

from typing import Any

import torch

from numerics.attacks import certified_orthogonal_radius, flip_along, orthogonal_gradient_flip
from numerics.conditioning import certificate_condition, flip_condition
from numerics.minimal_flip import minimal_flip
from numerics.model import Network
from verify.experiments.measurements import Normal, to_numpy

__all__ = ["NORMAL_RESTARTS", "normal_radii"]


#: Random starts of the best-of attack within span{n}: its only directions are +-n, so 8 seeded starts
#: reach the side that the candidates from c = 0 do not take with probability 1 - 2^-8, at a fifth of the
#: default's cost (4.7 s instead of 12 s for one Figure 3 setting of the quick profile).
NORMAL_RESTARTS = 8


def normal_radii(net: Network, X: torch.Tensor, spec: Any, seed: int) -> Normal:
    """R9's radii at the training points, P^perp = span{n}: the exact r_perp = min(t_+, t_-) (first sign
    changes along x0 +- t n, by the breakpoint walk), the gradient flip, the best-of attack within span{n},
    the certificate |N(x0)|/L, and each one's rounding bound."""
    assert spec.normal is not None, "the 'normal' measurement needs spec.normal"
    normal = torch.tensor(spec.normal, dtype=X.dtype, device=X.device)
    perp = torch.outer(normal, normal)
    V = normal.expand_as(X).contiguous()
    up, down = flip_along(net, X, V), flip_along(net, X, -V)
    nearer = (up.norm <= down.norm).unsqueeze(-1)
    gradient = orthogonal_gradient_flip(net, X, perp)
    attack = minimal_flip(
        net, X, normal.unsqueeze(-1), seed=seed, iterations=spec.attack_iterations, restarts=NORMAL_RESTARTS
    )
    flips = {
        "radius": torch.where(nearer, up.delta, down.delta),
        "gradient_flip": gradient.delta,
        "attack": attack.delta,
    }
    condition = {key: to_numpy(flip_condition(net, X, delta, perp)) for key, delta in flips.items()}
    condition["certified"] = to_numpy(certificate_condition(net, X, perp))
    return Normal(
        radius=to_numpy(torch.minimum(up.norm, down.norm)),
        side=to_numpy(torch.where(nearer.squeeze(-1), 1.0, -1.0).to(X)),
        gradient_flip=to_numpy(gradient.norm),
        attack=to_numpy(attack.norm),
        certified=to_numpy(certified_orthogonal_radius(net, X, perp)),
        condition=condition,
    )
