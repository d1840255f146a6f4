"""Adversarial perturbations of two-layer ReLU networks, computed exactly where the geometry allows.

Along a ray x0 + t v the network f(t) = N(x0 + t v) = sum_i u_i relu(h_i + t a_i), a_i = <w_i, v>, is
piecewise linear with at most one breakpoint per neuron, t_i = -h_i / a_i. `flip_along` walks the sorted
breakpoints and returns the exact first sign change (R5), `orthogonal_gradient_flip` does so along
v = -sign(N(x0)) g/||g||, `minimal_l2_attack` is a DeepFool iteration restricted to the range of a
projector that ends with the same exact line search, and `certified_orthogonal_radius` is R6's lower
bound |N(x0)|/L. Every reported success is verified by a forward pass. Batched over R runs and p points.

The strongest attack is `numerics.minimal_flip.minimal_flip` (DeepFool, DDN and FMN with restarts and a
polish; `minimal_l2_attack` here is a DeepFool iteration with a line search after every step, kept for the
checks that call it), the tightest certificate `numerics.certificates.certified_flip_radius`, and the
exact radius of small networks `numerics.exact_radius.exact_flip_radius`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from numerics.breakpoints import first_crossing, rounding_factor
from numerics.measure import batch_points, orthogonal_gradient, orthogonal_lipschitz, project
from numerics.model import Network, forward, input_gradient, preactivations
from theory.parameters import validate

__all__ = [
    "AttackResult",
    "certified_orthogonal_radius",
    "check_sandwich",
    "flip_along",
    "FlipResult",
    "minimal_l2_attack",
    "orthogonal_gradient_flip",
    "SandwichViolation",
    "VERIFY_NUDGE",
]

#: Success is verified at (1 + VERIFY_NUDGE) t: the exact zero t itself has f(t) = 0 up to rounding, so its
#: sign is meaningless; 1e-9 relative is far above float64 rounding (~1e-13 for these sums) and far below
#: any radius difference the suite reports.
VERIFY_NUDGE = 1e-9


@dataclass
class FlipResult:
    """The exact first sign change of N along one direction per run and point."""

    t: torch.Tensor  # (R, p) first t > 0 with sign(f(t+)) = -sign(f(0)); inf if none, 0 if N(x0) = 0
    delta: torch.Tensor  # (R, p, d) t v; zeros where there is no flip
    norm: torch.Tensor  # (R, p) ||delta|| = t ||v||; inf where there is no flip
    success: torch.Tensor  # (R, p) bool: N(x0) N(x0 + (1 + VERIFY_NUDGE) delta) < 0 by a forward pass
    certified_first_segment: torch.Tensor  # (R, p) bool: t* < first breakpoint, so the flip is at t* (R5)
    t_star: torch.Tensor  # (R, p) t* = |f(0)| / |f'(0+)|; inf where the initial slope is 0


@dataclass
class AttackResult:
    """A flipping perturbation per run and point."""

    delta: torch.Tensor  # (R, p, d) the perturbation; zeros where the attack failed
    norm: torch.Tensor  # (R, p) ||delta||; inf where the attack failed
    success: torch.Tensor  # (R, p) bool, verified by a forward pass (see VERIFY_NUDGE)
    iterations: torch.Tensor  # (R, p) int64 steps taken (DeepFool: each followed by an exact line search)
    method: torch.Tensor | None = None  # (R, p) int64 index into numerics.minimal_flip.METHODS (best-of only)
    polished: torch.Tensor | None = None  # (R, p) bool: the region-QP polish shortened it (best-of only)


class SandwichViolation(AssertionError):
    """A certified lower bound exceeded an attack's radius: a bug in one of the two, never a statistic."""


def _verify(net: Network, X0: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """N(x0) N(x0 + (1 + VERIFY_NUDGE) delta) < 0: the nudged perturbation lands strictly across."""
    return forward(net, X0) * forward(net, X0 + (1.0 + VERIFY_NUDGE) * delta) < 0


def flip_along(net: Network, X0: torch.Tensor, V: torch.Tensor) -> FlipResult:
    """Exact first sign change of f(t) = N(x0 + t v), t > 0, by walking the sorted activation breakpoints.

    f(t) = sum_i u_i relu(h_i + t a_i) with a_i = <w_i, v>; `numerics.breakpoints.first_crossing` walks its
    linear segments and returns the root of the first one that ends strictly (beyond rounding) on the other
    side of zero, so stretches where f is exactly 0 (every neuron off) are not mistaken for flips.

    Args:
        net: R networks.
        X0: points (R, p, d) or (p, d).
        V: directions (R, p, d); unit vectors give t in Euclidean units (norm = t ||v|| in general).
    Returns:
        FlipResult; t = inf and success False where f never changes sign, t = 0 and success False
        where N(x0) = 0 (the point is already on the boundary).
    """
    X0 = batch_points(net, X0)
    if V.shape != X0.shape:
        raise ValueError(f"V of shape {tuple(V.shape)} must match the points {tuple(X0.shape)}")
    h = preactivations(net, X0)  # (R, p, m)
    a = torch.bmm(V, net.W.transpose(1, 2))  # (R, p, m) slopes <w_i, v>
    crossing = first_crossing(h, a, net.u)
    t = crossing.t
    finite = torch.isfinite(t)
    delta = torch.where(finite.unsqueeze(-1), t.unsqueeze(-1) * V, torch.zeros_like(V))
    norm = torch.where(finite, delta.norm(dim=-1), torch.full_like(t, float("inf")))
    success = finite & _verify(net, X0, delta)

    C0, S0 = crossing.f0, crossing.slope0
    initial_slope = S0.abs()
    t_star = torch.where(
        initial_slope > 0, C0.abs() / torch.where(initial_slope > 0, initial_slope, 1.0), float("inf")
    )
    certified = (torch.sign(C0) * S0 < 0) & (t_star < crossing.first_breakpoint)
    return FlipResult(t, delta, norm, success, certified, t_star)


def orthogonal_gradient_flip(net: Network, X0: torch.Tensor, perp: torch.Tensor) -> FlipResult:
    """R5's flip along v = -sign(N(x0)) g/||g||, g = Pi grad_x N(x0); t = inf where g = 0."""
    X0 = batch_points(net, X0)
    g = orthogonal_gradient(net, X0, perp)
    g_norm = g.norm(dim=-1, keepdim=True)
    direction = g / torch.where(g_norm > 0, g_norm, torch.ones_like(g_norm))
    return flip_along(net, X0, -torch.sign(forward(net, X0)).unsqueeze(-1) * direction)


def certified_orthogonal_radius(net: Network, X0: torch.Tensor, perp: torch.Tensor) -> torch.Tensor:
    """R6: |N(x0)| / L with L = sum_i |u_i| ||Pi w_i||; no z in P^perp shorter than this flips the sign.

    Returns (R, p); inf where L = 0 and N(x0) != 0 (nothing orthogonal moves N), 0 where N(x0) = 0.
    """
    X0 = batch_points(net, X0)
    f0 = forward(net, X0).abs()
    L = orthogonal_lipschitz(net, perp).unsqueeze(-1).expand_as(f0)
    radius = f0 / torch.where(L > 0, L, torch.ones_like(L))
    radius = torch.where(L > 0, radius, torch.full_like(radius, float("inf")))
    return torch.where(f0 == 0, torch.zeros_like(radius), radius)


def minimal_l2_attack(
    net: Network,
    X0: torch.Tensor,
    projector: torch.Tensor | None = None,
    *,
    max_iter: int = 50,
    overshoot: float = 0.0,
) -> AttackResult:
    """DeepFool within range(projector), finished by the exact line search of `flip_along`.

    With the projected gradient pg = P grad_x N(x), each step adds r = -N(x)/||pg||^2 pg (the
    minimal step within range(P) that zeroes the local linear model). The iteration stops once
    sign(N(x)) is no longer sign(N(x0)) (up to rounding). After every step, `flip_along` finds the exact
    first flip from x0 along the direction of x - x0; the shortest verified one is reported, so its norm is
    a true flipping radius along that direction and never exceeds the flip along the first direction,
    -sign(N(x0)) P grad / ||P grad|| (R5's v when P = Pi).

    Args:
        net: R networks.
        X0: points (R, p, d) or (p, d).
        projector: P, symmetric (d, d) or (R, d, d): Pi for orthogonal attacks, B B^T for on-manifold
            attacks, None for unrestricted R^d.
        max_iter: the most DeepFool steps per point.
        overshoot: iterates are x0 + (1 + overshoot) r, as in DeepFool; the final radius does not depend
            on it except through the direction.
    Returns:
        AttackResult; delta lies in range(projector) to rounding; success False (norm inf, delta 0)
        where no iterate's direction flips the sign.
    """
    validate(max_iter=max_iter, overshoot=overshoot)
    X0 = batch_points(net, X0)
    sigma = torch.sign(forward(net, X0))
    rho = rounding_factor(net.width, X0.dtype)
    r = torch.zeros_like(X0)
    done = sigma == 0
    iterations = torch.zeros(sigma.shape, dtype=torch.int64, device=X0.device)
    delta = torch.zeros_like(X0)
    norm = torch.full_like(sigma, float("inf"))
    success = torch.zeros_like(done)
    for _ in range(max_iter):
        x = X0 + (1.0 + overshoot) * r
        h = preactivations(net, x)
        fx = (net.u.unsqueeze(1) * torch.relu(h)).sum(-1)
        # At the boundary f is zero only up to rounding; stepping again would only chase that rounding.
        done = done | (sigma * fx <= rho * (net.u.abs().unsqueeze(1) * h.abs()).sum(-1))
        grad = input_gradient(net, x)
        pg = grad if projector is None else project(grad, projector)
        pg_sq = pg.square().sum(-1)
        done = done | (pg_sq == 0)
        if bool(done.all()):
            break
        step = -(fx / torch.where(pg_sq > 0, pg_sq, torch.ones_like(pg_sq))).unsqueeze(-1) * pg
        r = torch.where(done.unsqueeze(-1), r, r + step)
        iterations += (~done).to(torch.int64)
        # DeepFool can chatter between linear pieces without converging; keeping the shortest exact flip
        # over every iterate's direction makes the result well defined, and since the first direction is
        # -sign(N(x0)) P grad / ||P grad||, never longer than the flip along the projected gradient.
        # Only runs with a point that just moved need a new line search (the rest would repeat the last one).
        runs = torch.nonzero((~done).any(-1)).squeeze(-1)
        r_norm = r[runs].norm(dim=-1, keepdim=True)
        line = flip_along(net.select(runs), X0[runs], r[runs] / torch.where(r_norm > 0, r_norm, 1.0))
        better = line.success & (line.norm < norm[runs]) & ~done[runs]
        delta[runs] = torch.where(better.unsqueeze(-1), line.delta, delta[runs])
        norm[runs] = torch.where(better, line.norm, norm[runs])
        success[runs] = success[runs] | better
    return AttackResult(delta, norm, success, iterations)


def check_sandwich(
    certified: torch.Tensor,
    attack_norm: torch.Tensor,
    *,
    rtol: float = 1e-9,
    atol: float = 0.0,
    condition: torch.Tensor | None = None,
) -> float:
    """Raise SandwichViolation unless certified <= attack_norm (1 + rtol + condition) + atol everywhere (R6).

    Both sides are exact in real arithmetic; in float64 each carries a relative error of about
    (m + 1) eps times the conditioning sum_i |u_i h_i| / |N(x0)| (`numerics.breakpoints.rounding_factor`).
    The default
    rtol = 1e-9 covers m (sum_i |u_i h_i| / |N(x0)|) up to ~5e5; a genuine bug (a wrong L, a flip past
    the true zero) is off by far more. Where a radius is ill-conditioned (a network nearly flat along the
    allowed directions), `condition` adds each point's first-order rounding bounds of both sides
    (`numerics.conditioning`). NaN on either side is a violation.

    Returns:
        max(certified / (attack_norm (1 + condition))), the tightest ratio relative to the rounding bounds
        (certified / attack_norm without `condition`), for reporting (<= 1 + rtol when it returns, atol = 0).
    """
    validate(rtol=rtol, atol=atol)
    certified, attack_norm = torch.broadcast_tensors(certified, attack_norm)
    slack = rtol if condition is None else rtol + condition
    if condition is not None and bool((condition < 0).any() | condition.isnan().any()):
        raise ValueError("condition must be >= 0 and not NaN everywhere")
    allowed = attack_norm * (1.0 + slack) + atol
    # certified <= attack_norm holds whatever the slack: at a point on the boundary both radii are 0 and an
    # infinite condition would make the allowance 0 * inf = NaN (calibration-standard/, R9.figure3).
    bad = ~((certified <= attack_norm) | (certified <= allowed))
    ratio = certified / attack_norm
    if bool(bad.any()):
        excess = torch.where(bad, torch.nan_to_num(ratio, nan=float("inf")), torch.full_like(ratio, -1.0))
        flat = int(excess.flatten().argmax())
        index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), certified.shape))
        c, a = float(certified[index]), float(attack_norm[index])
        extra = (
            ""
            if condition is None
            else f" + condition {float(torch.broadcast_to(condition, certified.shape)[index]):.3g}"
        )
        raise SandwichViolation(
            f"certified radius {c:.17g} > attack radius {a:.17g} at index {index} (ratio "
            f"{float(ratio[index]):.12g}, allowance rtol={rtol:g}{extra}, atol={atol:g}); {int(bad.sum())} "
            f"of {bad.numel()} entries violate"
        )
    if condition is not None:
        ratio = certified / (attack_norm * (1.0 + condition))
    finite = torch.isfinite(ratio)
    return float(ratio[finite].max()) if bool(finite.any()) else 0.0
