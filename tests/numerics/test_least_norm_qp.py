"""Tests of numerics.least_norm_qp: closed forms, a generic problem against SciPy's SLSQP, and KKT."""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import minimize

from numerics.least_norm_qp import least_norm_point

F64 = torch.float64


def test_one_half_space_and_an_inactive_one():
    # min ||c|| s.t. <g, c> <= -1 is -g / ||g||^2; a second, slack constraint changes nothing.
    g = torch.tensor([[3.0, 4.0]], dtype=F64)
    G = torch.stack([g[0], torch.tensor([1.0, 0.0], dtype=F64)]).unsqueeze(0)
    e = torch.tensor([[-1.0, 10.0]], dtype=F64)
    torch.testing.assert_close(least_norm_point(G, e, steps=30), -g / 25, rtol=1e-9, atol=1e-12)


def test_matches_slsqp_and_satisfies_kkt():
    gen = torch.Generator().manual_seed(0)
    B, k, q = 20, 17, 10
    G = torch.randn(B, k, q, generator=gen, dtype=F64)
    inside = 2 * torch.randn(B, q, generator=gen, dtype=F64)
    e = (G @ inside.unsqueeze(-1)).squeeze(-1) + torch.rand(B, k, generator=gen, dtype=F64)  # feasible
    c = least_norm_point(G, e)
    assert float(((G @ c.unsqueeze(-1)).squeeze(-1) - e).max()) <= 1e-8
    for b in range(5):
        Gb, eb = G[b].numpy(), e[b].numpy()
        ref = minimize(
            lambda x: x @ x,
            inside[b].numpy(),
            jac=lambda x: 2 * x,
            method="SLSQP",
            constraints=[{"type": "ineq", "fun": lambda x, G=Gb, e=eb: e - G @ x, "jac": lambda x, G=Gb: -G}],
            options={"ftol": 1e-15, "maxiter": 1000},
        )
        assert abs(np.linalg.norm(ref.x) - float(c[b].norm())) <= 1e-7 * np.linalg.norm(ref.x)
