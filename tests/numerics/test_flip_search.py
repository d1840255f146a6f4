"""Tests of numerics.flip_search: each iteration finds flips, the candidates' bookkeeping, seeding."""

from __future__ import annotations

import pytest
import torch

from numerics.flip_search import FROM_ZERO, METHODS, RESTARTS, Recipe, line_search, recipes, search
from numerics.model import forward
from numerics.restricted import restrict
from tests.numerics.trained_networks import trained

F64 = torch.float64


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("method", METHODS)
def test_every_iteration_finds_verified_flips(method):
    pop = trained(16, 30, 20, 40, seed=8)
    problem = restrict(pop.net, pop.X0, pop.perp_basis)
    found = search(problem, [Recipe(method)], iterations=40, check_every=None, generator=generator())
    assert bool(torch.isfinite(found.r).all()) and torch.equal(
        found.method, torch.full_like(found.method, METHODS.index(method))
    )
    delta = problem.embed(found.r.unsqueeze(-1) * found.v) * (1 + 1e-9)
    assert bool((forward(pop.net, pop.X0) * forward(pop.net, pop.X0 + delta) < 0).all())


def test_candidates_are_point_major_and_best_picks_each_points_shortest():
    pop = trained(5, 30, 20, 40, seed=9)
    problem = restrict(pop.net, pop.X0.repeat(1, 2, 1), pop.perp_basis)  # p = 2 points per run
    lineup = recipes(3)
    assert lineup[: len(FROM_ZERO)] == FROM_ZERO and lineup[len(FROM_ZERO)] == RESTARTS[0]
    found = search(problem, lineup, iterations=20, check_every=5, generator=generator())
    K = len(lineup)
    assert found.r.shape == (5, 2 * K) and found.per_point == K
    best = found.best(1)
    torch.testing.assert_close(found.r.gather(1, best), found.r.reshape(5, 2, K).amin(-1))
    # Both copies of a point see the same network, so their deterministic candidates agree.
    zero = len(FROM_ZERO)
    torch.testing.assert_close(found.r[:, :zero], found.r[:, K : K + zero])


def test_seeded_restarts_and_the_line_search_of_a_zero_direction():
    pop = trained(6, 30, 20, 40, seed=10)
    problem = restrict(pop.net, pop.X0, pop.perp_basis)
    a = search(problem, recipes(4), iterations=15, check_every=None, generator=generator(1))
    b = search(problem, recipes(4), iterations=15, check_every=None, generator=generator(1))
    c = search(problem, recipes(4), iterations=15, check_every=None, generator=generator(2))
    assert torch.equal(a.r, b.r)
    assert not torch.equal(a.r[:, len(FROM_ZERO) :], c.r[:, len(FROM_ZERO) :])
    t, _ = line_search(problem, torch.zeros(6, 1, problem.A.shape[-1], dtype=F64))
    assert torch.all(torch.isinf(t))
