"""The shortest flipping perturbation within a subspace: the best of several attacks, polished and verified.

For a two-layer ReLU network N, a point x0 and an allowed subspace S (P^perp for R5/R6, P, or R^d), the
minimal flip radius is r_S(x0) = min{||z|| : z in S, sign N(x0 + z) != sign N(x0)}. `minimal_flip`
returns an upper bound on it per run and point, a perturbation verified to land strictly across:

1. `numerics.restricted` writes N(x0 + z), z in S, as a network on coordinates c with ||z|| = ||c||;
2. `numerics.flip_search` runs DeepFool, DDN and FMN candidates from c = 0 and from seeded random starts,
   each ending with exact line searches along its directions;
3. `numerics.region_polish` shortens each point's best flip by least-norm QPs over activation regions;
4. the `finalists` shortest directions per point are line-searched once more in R^d by
   `numerics.attacks.flip_along`, which verifies each flip by a forward pass at (1 + VERIFY_NUDGE) times
   it, and the shortest verified one is reported.

Cost (2-core reference machine, one thread; tools/radii_crosscheck.py): on the R5/R6 populations (one
point per network, d = 10 + ell, orthogonal attack) the defaults take 1.0, 1.5, 2.8 and 3.5 s for the
standard profile's 600 networks (m = 100) at ell = 10, 30, 90, 270, and 0.45 s for the quick profile's 200
(m = 64). The coordinates have min(ell, m) dimensions, so the cost stops growing with ell beyond m; a
batched product costs about the same for 4 or 16 candidates per run, so the time is mostly per run.
"""

from __future__ import annotations

import torch

from numerics.attacks import AttackResult, flip_along
from numerics.flip_search import METHODS, recipes, search
from numerics.measure import batch_points
from numerics.model import Network
from numerics.region_polish import polish
from numerics.restricted import restrict
from numerics.subspace import Subspace
from theory.parameters import ParameterError, validate

__all__ = ["METHODS", "minimal_flip"]


def _count(name: str, value: object, low: int) -> None:
    """A local range check for the counts that have no entry in theory.parameters."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ParameterError(f"{name}={value!r} is invalid: expected an integer >= {low}")


def minimal_flip(
    net: Network,
    X0: torch.Tensor,
    basis: torch.Tensor | None = None,
    *,
    seed: int,
    restarts: int | None = None,
    iterations: int = 60,
    polish_rounds: int = 2,
    polished_candidates: int = 4,
    working: int = 24,
    finalists: int = 2,
    check_every: int | None = None,
    data_subspace: Subspace | None = None,
) -> AttackResult:
    """The shortest verified flip within span(basis) found by the best-of attack of the module docstring.

    Args:
        net: R networks.
        X0: points (R, p, d) or (p, d).
        basis: orthonormal columns (d, q) or (R, d, q) spanning the allowed subspace (P^perp for R5/R6),
            or its projector (d, d) or (R, d, d); None for all of R^d.
        seed: seeds the random starts (a torch.Generator on the CPU).
        restarts: candidates per point from seeded random starts, beside the six from c = 0; None:
            min(40, max(8, 8000 // (m q'))) (q' = min(q, m)): small networks have few local minima but
            need many starts to find the least, and cost little per start.
        iterations: steps of every DDN and FMN candidate (DeepFool stops after at most 25).
        polish_rounds: the most region-QP rounds of the polish.
        polished_candidates: each point's shortest candidates that get polished.
        working: the neurons nearest to the flip whose half-spaces enter each polish QP.
        finalists: directions per point line-searched in R^d and verified at the end.
        check_every: steps between the search's exact line searches (None: only after the last step).
        data_subspace: the data subspace P; if given, every x0 must lie in P (to rounding).
    Returns:
        AttackResult with delta in span(basis) (to rounding), norm = ||delta||, success (verified by a
        forward pass), iterations (the search's steps), method (index into METHODS of the iteration whose
        candidate gave the reported flip) and polished (whether the polish shortened it). Where no flip is
        found, or N(x0) = 0 (no sign to flip), success is False, norm inf and delta 0.
    """
    validate(seed=seed, max_iter=iterations)
    for name, value, low in (
        ("polish_rounds", polish_rounds, 0),
        ("polished_candidates", polished_candidates, 1),
        ("working", working, 1),
        ("finalists", finalists, 1),
    ):
        _count(name, value, low)
    if check_every is not None:
        _count("check_every", check_every, 1)
    if restarts is not None:
        _count("restarts", restarts, 0)
    problem = restrict(net, X0, basis, data_subspace=data_subspace)
    R, p, m = problem.H.shape
    if restarts is None:
        restarts = min(40, max(8, 8000 // (m * problem.A.shape[-1])))
    generator = torch.Generator(device="cpu").manual_seed(seed)
    found = search(
        problem, recipes(restarts), iterations=iterations, check_every=check_every, generator=generator
    )
    K = found.per_point

    # Polish each point's best candidates; the others stay as the search left them. A region's least
    # flip can lie at a corner the iterations approach slowly, so the runner-up may polish to the best.
    n_polish = min(polished_candidates, K)
    first = found.best(n_polish)
    top = found.select(first, n_polish)
    shortened = polish(problem.repeat(n_polish), top, rounds=polish_rounds, working=working)
    found.r = found.r.scatter(1, first, top.r)
    found.v = found.v.scatter(1, first.unsqueeze(-1).expand_as(top.v), top.v)
    polished = torch.zeros_like(found.r, dtype=torch.bool).scatter(1, first, shortened)

    # The finalists, re-measured in R^d: exact line search and forward-pass verification.
    n = min(finalists, K)
    index = found.best(n)
    finalist = found.select(index, n)
    points = batch_points(net, X0).repeat_interleave(n, dim=1)
    line = flip_along(net, points, problem.embed(finalist.v))
    norm = torch.where(line.success, line.norm, float("inf")).reshape(R, p, n)
    best = norm.argmin(-1)  # ties: the shorter one in the search

    def pick(x: torch.Tensor) -> torch.Tensor:
        shaped = x.reshape(R, p, n, *x.shape[2:])
        where = best.reshape(R, p, 1, *([1] * (x.dim() - 2))).expand(R, p, 1, *x.shape[2:])
        return shaped.gather(2, where).squeeze(2)

    success = pick(line.success)
    return AttackResult(
        delta=torch.where(success.unsqueeze(-1), pick(line.delta), 0.0),
        norm=torch.where(success, pick(line.norm), float("inf")),
        success=success,
        iterations=torch.full((R, p), iterations, dtype=torch.int64, device=success.device),
        method=pick(finalist.method),
        polished=pick(polished.gather(1, index)) & success,
    )
