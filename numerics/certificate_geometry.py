"""What every certified-radius bound of `numerics.certificates` reads, per run and point, and the margin
a certified radius keeps against rounding.

With sigma = sign N(x0), ũ_i = sigma u_i, h_i = <w_i, x0> + b_i, a_i the projection of w_i on the allowed
subspace and rho_i = r ||a_i||, a certified r must satisfy LB(r) > MARGIN * sum_i |ũ_i| (|h_i| + rho_i):
float64 evaluates each bound with a relative error of a few (m + q) eps of that sum (sums of m terms, an
eigendecomposition backward-stable to ~q eps ||K||), which for m, q <= 10^4 is below 10^-11; the margin 10^-9
is far above that and costs about 10^-9 of the radius.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from numerics.restricted import RestrictedNetwork

__all__ = ["Geometry", "geometry", "MARGIN"]

#: Relative margin a certified radius keeps against rounding (module docstring).
MARGIN = 1e-9


@dataclass
class Geometry:
    """What every bound reads, per run and point."""

    h: torch.Tensor  # (R, p, m)
    ut: torch.Tensor  # (R, p, m) ũ_i = sigma u_i
    G: torch.Tensor  # (R, m, m) Gram matrix <a_i, a_j>
    norms: torch.Tensor  # (R, 1, m) ||a_i||
    N: torch.Tensor  # (R, p) N' = |N(x0)|
    A: torch.Tensor  # (R, m, q) rows a_i in coordinates of the subspace (any factor of G)

    def margin(self, r: torch.Tensor) -> torch.Tensor:
        """MARGIN * sum_i |ũ_i| (|h_i| + r ||a_i||), (R, p) for r (R, p)."""
        scale = self.ut.abs() * (self.h.abs() + r.unsqueeze(-1) * self.norms)
        return MARGIN * scale.sum(-1)


def geometry(problem: RestrictedNetwork) -> Geometry:
    """h_i, ũ_i = sigma u_i, the Gram matrix <a_i, a_j>, ||a_i||, N' = |N(x0)| and the rows a_i of
    `problem`."""
    A = problem.A
    G = A @ A.transpose(1, 2)
    norms = G.diagonal(dim1=-2, dim2=-1).clamp_min(0).sqrt().unsqueeze(1)
    return Geometry(
        problem.H, problem.sigma.unsqueeze(-1) * problem.u.unsqueeze(1), G, norms, problem.f0.abs(), A
    )
