"""Minimum-norm flip searches in the coordinates of a subspace: DeepFool, DDN and FMN, run side by side.

In the coordinates c of `numerics.restricted` the network at x0 is f(c) = sum_i u_i relu(h_i + <A_i, c>),
sigma = sign f(0), and a flip is a c with sigma f(c) < 0; the search looks for short ones. Each point
gets K candidates, one per `Recipe`: an iteration, a start, and its scales in units of
r0 = |f(0)| / ||grad f(0)|| (R5's t*). The iterations, written for this network from the papers' ideas:

- DeepFool (Moosavi-Dezfooli et al., CVPR 2016): c <- c - f(c) grad f / ||grad f||^2, the minimal step
  that zeroes the local linear model.
- DDN, decoupled direction and norm (Rony et al., CVPR 2019): a normalized gradient step of length
  alpha_k down sigma f, then onto the sphere ||c|| = eps, with eps shrunk by (1 - gamma) while the
  iterate is flipped and grown by (1 + gamma) while it is not. Starting eps well above r0 makes DDN
  approach the boundary from the flipped side, which often ends in another (and shorter) local minimum.
- FMN, fast minimum norm (Pintor et al., NeurIPS 2021): the same gradient step, then into the ball
  ||c|| <= eps, with eps <- min(eps (1 - gamma_k), shortest flip so far) while flipped and, until a flip
  is found, eps <- ||c|| + |f| / ||grad f|| (the distance to the linearized boundary).

alpha_k and FMN's gamma_k decay on a cosine schedule. The local minima of the norm over the flipped set
are many (which neurons the flip switches), and which one an iteration ends in depends on its start and
scales, so the candidates differ in exactly those. After the first step, after the last (and every
`check_every` steps if asked), the directions of each candidate's iterate and of its shortest flipped
iterate so far get the exact line search of `numerics.breakpoints`; the shortest flip found along any of
them is the candidate's result. On the R5/R6 populations, line searches between these found nothing
shorter.

Shapes: R runs, p points, K candidates per point (point-major: P = p K rows), m neurons, q' coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from numerics.breakpoints import first_crossing
from numerics.restricted import RestrictedNetwork

__all__ = [
    "Candidates",
    "FROM_ZERO",
    "line_search",
    "METHODS",
    "Recipe",
    "recipes",
    "RESTARTS",
    "scale",
    "search",
    "unit",
]

#: The iterations; a Candidates.method entry indexes this tuple.
METHODS: tuple[str, ...] = ("deepfool", "ddn", "fmn")

_GAMMA = 0.05  # DDN's norm factor and FMN's initial one (both papers' defaults)
_GAMMA_FINAL = 0.001  # FMN's final norm factor
_STEP_FINAL = 0.01  # the gradient step decays to this fraction of its start
_DEEPFOOL_ITERATIONS = 25  # DeepFool lands on the boundary within a few steps and then only chatters
_RANDOM_START = 0.5  # random starts: uniform direction, norm 0.5 r0


@dataclass(frozen=True)
class Recipe:
    """One candidate per point: the iteration, where it starts, and its scales in units of r0."""

    method: str  # one of METHODS
    random_start: bool = False  # False: c = 0; True: a seeded uniform direction at norm 0.5 r0
    step: float = 1.0  # the first gradient step alpha_0 / r0 (DDN, FMN)
    radius: float = 1.0  # DDN's first eps / r0


#: Candidates from c = 0 (deterministic), chosen on the R5/R6 populations for how often each ends at the
#: shortest flip any of them finds (FMN: about half the points; DDN with eps_0 = 2 r0 and FMN with a
#: threefold step next; DeepFool seldom, but in a few steps).
FROM_ZERO: tuple[Recipe, ...] = (
    Recipe("deepfool"),
    Recipe("fmn"),
    Recipe("ddn", radius=2.0),
    Recipe("ddn"),
    Recipe("fmn", step=3.0),
    Recipe("ddn", step=3.0, radius=3.5),
)
#: Seeded restarts cycle through these.
RESTARTS: tuple[Recipe, ...] = (
    Recipe("fmn", random_start=True),
    Recipe("ddn", random_start=True, radius=2.0),
)


def recipes(restarts: int) -> tuple[Recipe, ...]:
    """FROM_ZERO followed by `restarts` seeded restarts (cycling through RESTARTS)."""
    return FROM_ZERO + tuple(RESTARTS[j % len(RESTARTS)] for j in range(restarts))


@dataclass
class Candidates:
    """The shortest flip of every candidate: radius r (inf: none) along the unit direction v."""

    r: torch.Tensor  # (R, p K)
    v: torch.Tensor  # (R, p K, q')
    method: torch.Tensor  # (R, p K) int64 index into METHODS
    per_point: int  # K

    def offer(self, problem: RestrictedNetwork, C: torch.Tensor) -> torch.Tensor:
        """Line-search the directions of C (R, p K, q'), keep the shorter flips; returns where they were."""
        t, V = line_search(problem, C)
        better = t < self.r
        self.r = torch.where(better, t, self.r)
        self.v = torch.where(better.unsqueeze(-1), V, self.v)
        return better

    def best(self, n: int) -> torch.Tensor:
        """Indices (R, p n) of each point's n shortest candidates (ties: the earlier recipe)."""
        R, P = self.r.shape
        K = self.per_point
        order = self.r.reshape(R, P // K, K).argsort(dim=-1, stable=True)[..., :n]
        return (order + K * torch.arange(P // K, device=self.r.device).reshape(1, -1, 1)).reshape(R, -1)

    def select(self, index: torch.Tensor, per_point: int) -> Candidates:
        """The candidates at `index` (R, P'), now `per_point` per point."""
        v = self.v.gather(1, index.unsqueeze(-1).expand(-1, -1, self.v.shape[-1]))
        return Candidates(self.r.gather(1, index), v, self.method.gather(1, index), per_point)


def unit(C: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """C / ||C|| row-wise (zero rows stay zero) and the norms ||C||."""
    n = C.norm(dim=-1)
    return C / torch.where(n > 0, n, 1.0).unsqueeze(-1), n


def line_search(problem: RestrictedNetwork, C: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact first flip distance along c/||c|| (inf where none, where c = 0 or f(0) = 0) and c/||c||."""
    V, n = unit(C)
    t = first_crossing(problem.H, problem.slopes(V), problem.u).t
    return torch.where((n > 0) & (problem.f0 != 0), t, float("inf")), V


def scale(problem: RestrictedNetwork) -> torch.Tensor:
    """r0 = |f(0)| / ||grad f(0)||, (R, P); where that gradient is zero, the median distance |h_i| / ||A_i||
    to a neuron's switching hyperplane (the scale on which anything changes); 1 where A = 0."""
    zero = problem.H.new_zeros(*problem.H.shape[:2], problem.A.shape[-1])
    f, g = problem.value_and_gradient(zero)
    gn = g.norm(dim=-1)
    row = problem.A.norm(dim=-1).unsqueeze(1)  # (R, 1, m)
    distance = torch.where(row > 0, problem.H.abs() / torch.where(row > 0, row, 1.0), float("nan"))
    fallback = torch.nan_to_num(distance.nanmedian(-1).values, nan=1.0)
    r0 = torch.where(gn > 0, f.abs() / torch.where(gn > 0, gn, 1.0), fallback)
    return torch.where(r0 > 0, r0, 1.0)


def _cosine(k: int, n: int, start: float, final: float) -> float:
    """Cosine decay from `start` (k = 0) to `final` (k = n - 1)."""
    return final + 0.5 * (start - final) * (1.0 + math.cos(math.pi * k / max(n - 1, 1)))


class _Batch:
    """All candidates (every point, K each, every iteration mixed): state and one step of each iteration.

    The candidates of all three iterations advance in one batch because a batched product costs about
    the same for 4 or 16 rows per run (its cost is per run); each candidate takes its own update.
    """

    def __init__(self, problem: RestrictedNetwork, code: torch.Tensor, C: torch.Tensor, r0: torch.Tensor,
                 step: torch.Tensor, radius: torch.Tensor) -> None:  # fmt: skip
        self.problem, self.C = problem, C
        self.sigma = problem.sigma
        self.deepfool = code == METHODS.index("deepfool")  # (R, P)
        self.ddn = code == METHODS.index("ddn")
        self.step0 = step * r0  # (R, P)
        self.eps = radius * r0  # DDN: the sphere's radius
        self.fmn_eps = torch.full_like(r0, float("inf"))  # FMN: the ball's radius
        self.found = torch.full_like(r0, float("inf"))  # FMN: the shortest flipped iterate's norm
        # The shortest flipped iterate: its norm bounds the flip along its direction, so between line
        # searches it is the iterate worth searching.
        self.shortest = torch.full_like(r0, float("inf"))
        self.shortest_C = torch.zeros_like(C)

    def step(self, k: int, n: int) -> None:
        """Iteration k of n (DeepFool candidates stay put after _DEEPFOOL_ITERATIONS)."""
        C = self.C
        f, g = self.problem.value_and_gradient(C)
        flipped = self.sigma * f < 0
        norm = C.norm(dim=-1)
        shorter = flipped & (norm < self.shortest)
        self.shortest = torch.where(shorter, norm, self.shortest)
        self.shortest_C = torch.where(shorter.unsqueeze(-1), C, self.shortest_C)
        ghat, gn = unit(g)
        safe_gn = torch.where(gn > 0, gn, 1.0)
        deepfool = C - (f / safe_gn.square()).unsqueeze(-1) * g if k < _DEEPFOOL_ITERATIONS else C
        alpha = _cosine(k, n, 1.0, _STEP_FINAL) * self.step0
        descent = C - (alpha * self.sigma).unsqueeze(-1) * ghat  # a step down sigma f
        # DDN: onto the sphere of radius eps, eps shrunk while flipped and grown while not.
        self.eps = torch.where(flipped, self.eps * (1 - _GAMMA), self.eps * (1 + _GAMMA))
        ddn = self.eps.unsqueeze(-1) * unit(descent)[0]
        # FMN: into the ball of radius eps, eps shrunk while flipped, else grown (or, before the first
        # flip, set to the distance to the linearized boundary).
        self.found = torch.where(flipped, torch.minimum(self.found, norm), self.found)
        gamma = _cosine(k, n, _GAMMA, _GAMMA_FINAL)
        grown = torch.where(torch.isfinite(self.found), self.fmn_eps * (1 + gamma), norm + f.abs() / safe_gn)
        self.fmn_eps = torch.where(flipped, torch.minimum(self.fmn_eps * (1 - gamma), self.found), grown)
        descent_norm = descent.norm(dim=-1)
        shrink = (self.fmn_eps / torch.where(descent_norm > 0, descent_norm, 1.0)).clamp(max=1.0)
        fmn = descent * shrink.unsqueeze(-1)
        self.C = torch.where(
            self.deepfool.unsqueeze(-1), deepfool, torch.where(self.ddn.unsqueeze(-1), ddn, fmn)
        )


def search(
    problem: RestrictedNetwork,
    lineup: Sequence[Recipe],
    *,
    iterations: int,
    check_every: int | None,
    generator: torch.Generator,
) -> Candidates:
    """Run one candidate per recipe for every point (module docstring) and return their shortest flips.

    Args:
        problem: the network at the points, one row per point (per_point = 1).
        lineup: the recipes, K of them; candidate k of every point follows lineup[k].
        iterations: steps of every candidate (DeepFool's stop after _DEEPFOOL_ITERATIONS).
        check_every: steps between exact line searches; None: only after the last step (on the R5/R6
            populations intermediate searches found nothing shorter).
        generator: a CPU generator for the random starts.
    """
    R, p, _ = problem.H.shape
    q = problem.A.shape[-1]
    K = len(lineup)
    r0 = scale(problem).repeat_interleave(K, dim=1)  # (R, p K)
    # Drawn on the CPU in float64 so a seed gives the same starts on every device.
    draws = unit(torch.randn(R, p, K, q, generator=generator, dtype=torch.float64))[0]
    draws = draws.to(dtype=problem.A.dtype, device=problem.A.device).reshape(R, p * K, q)

    def per_candidate(values: list, dtype: torch.dtype) -> torch.Tensor:
        return torch.tensor(values, dtype=dtype, device=r0.device).repeat(p).unsqueeze(0).expand(R, -1)

    random = per_candidate([recipe.random_start for recipe in lineup], torch.bool)
    code = per_candidate([METHODS.index(recipe.method) for recipe in lineup], torch.int64)
    start = torch.where(random.unsqueeze(-1), _RANDOM_START * r0.unsqueeze(-1) * draws, 0.0)
    batch = _Batch(
        problem.repeat(K), code, start, r0, per_candidate([recipe.step for recipe in lineup], r0.dtype),
        per_candidate([recipe.radius for recipe in lineup], r0.dtype),
    )  # fmt: skip
    found = Candidates(torch.full_like(r0, float("inf")), torch.zeros_like(start), code.clone(), K)
    for k in range(iterations):
        batch.step(k, iterations)
        # k = 0: the first step from c = 0 points along -sigma grad f(0), so the result is never longer
        # than R5's flip along the gradient (`numerics.attacks.orthogonal_gradient_flip` when S = P^perp).
        if k in (0, iterations - 1) or (check_every is not None and k % check_every == check_every - 1):
            found.offer(batch.problem, batch.C)
            found.offer(batch.problem, batch.shortest_C)
    return found
