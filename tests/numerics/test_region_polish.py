"""Tests of numerics.region_polish: it never lengthens a flip, and reaches the region's least flip."""

from __future__ import annotations

import torch

from numerics.flip_search import Candidates, recipes, search
from numerics.model import Network, forward
from numerics.region_polish import polish
from numerics.restricted import restrict
from tests.numerics.trained_networks import trained

F64 = torch.float64


def test_polish_only_shortens_and_keeps_flips_verified():
    pop = trained(16, 30, 20, 40, seed=11)
    problem = restrict(pop.net, pop.X0, pop.perp_basis)
    found = search(
        problem, recipes(0), iterations=30, check_every=None, generator=torch.Generator().manual_seed(0)
    )
    top = found.select(found.best(1), 1)
    before = top.r.clone()
    shortened = polish(problem, top, rounds=3, working=24)
    assert torch.all(top.r <= before) and torch.equal(shortened, top.r < before)
    assert bool(shortened.any())
    delta = problem.embed(top.r.unsqueeze(-1) * top.v) * (1 + 1e-9)
    assert bool((forward(pop.net, pop.X0) * forward(pop.net, pop.X0 + delta) < 0).all())


def test_from_any_flip_of_an_affine_network_polish_finds_the_least():
    # All neurons active everywhere near x0: f is affine, its least flip is |f(0)| / ||g|| along -sigma g,
    # and one QP round reaches it from an oblique flip.
    pop = trained(4, 12, 6, 8, seed=12)
    net = Network(pop.net.W, torch.full_like(pop.net.b, 100.0), pop.net.u)
    problem = restrict(net, pop.X0, pop.perp_basis)
    f0, g = problem.value_and_gradient(torch.zeros(4, 1, problem.A.shape[-1], dtype=F64))
    best = f0.abs() / g.norm(dim=-1)
    oblique = -torch.sign(f0).unsqueeze(-1) * g / g.norm(dim=-1, keepdim=True) + 0.5 * torch.randn(
        4, 1, 6, generator=torch.Generator().manual_seed(3), dtype=F64
    )
    oblique = oblique / oblique.norm(dim=-1, keepdim=True)
    found = Candidates(
        torch.full_like(best, float("inf")),
        torch.zeros_like(oblique),
        torch.zeros_like(best, dtype=torch.int64),
        1,
    )
    found.offer(problem, oblique)
    assert torch.all(found.r > best * 1.01)
    polish(problem, found, rounds=1, working=8)
    torch.testing.assert_close(found.r, best, rtol=1e-8, atol=0)
