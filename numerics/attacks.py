"""Adversarial perturbations of two-layer ReLU networks, computed exactly where the geometry allows.

Along a ray x0 + t v the network f(t) = N(x0 + t v) = sum_i u_i relu(h_i + t a_i), a_i = <w_i, v>, is
piecewise linear with at most one breakpoint per neuron, t_i = -h_i / a_i. `flip_along` walks the sorted
breakpoints and returns the exact first sign change (R5), `orthogonal_gradient_flip` does so along
v = -sign(N(x0)) g/||g||, `minimal_l2_attack` is a DeepFool iteration restricted to the range of a
projector that ends with the same exact line search, and `certified_orthogonal_radius` is R6's lower
bound |N(x0)|/L. Every reported success is verified by a forward pass. Batched over R runs and p points.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from numerics.measure import batch_points, orthogonal_gradient, orthogonal_lipschitz, project
from numerics.model import Network, forward, input_gradient, preactivations
from theory.parameters import validate

#: Success is verified at (1 + VERIFY_NUDGE) t: the exact zero t itself has f(t) = 0 up to rounding, so its
#: sign is meaningless; 1e-9 relative is far above float64 rounding (~1e-13 for these sums) and far below
#: any radius difference the suite reports.
VERIFY_NUDGE = 1e-9


def _rounding_factor(m: int, dtype: torch.dtype) -> float:
    """Relative rounding bound for the float sums of m + 1 products below: 8 (m + 1) eps.

    A recursive sum of n terms errs by at most (n - 1) eps sum |terms| (Higham, Accuracy and Stability of
    Numerical Algorithms, section 4.2); each product adds eps; the factor 8 covers the few extra operations.
    """
    return 8.0 * (m + 1) * torch.finfo(dtype).eps


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
    iterations: torch.Tensor  # (R, p) int64 DeepFool steps taken (each followed by an exact line search)


class SandwichViolation(AssertionError):
    """A certified lower bound exceeded an attack's radius: a bug in one of the two, never a statistic."""


def _first_true(cond: torch.Tensor) -> torch.Tensor:
    """Index of the first True along the last axis; cond.shape[-1] where there is none."""
    return (cond.to(torch.int64).cumsum(-1) == 0).sum(-1)


def _gather(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return x.gather(-1, index.unsqueeze(-1)).squeeze(-1)


def _verify(net: Network, X0: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """N(x0) N(x0 + (1 + VERIFY_NUDGE) delta) < 0: the nudged perturbation lands strictly across."""
    return forward(net, X0) * forward(net, X0 + (1.0 + VERIFY_NUDGE) * delta) < 0


def flip_along(net: Network, X0: torch.Tensor, V: torch.Tensor) -> FlipResult:
    """Exact first sign change of f(t) = N(x0 + t v), t > 0, by walking the sorted activation breakpoints.

    On segment j between consecutive breakpoints f(t) = C_j + S_j t, where the active neurons give
    C_j = sum u_i h_i and S_j = sum u_i a_i. A neuron crossing at t_i changes both by the same rule whether
    it switches on or off: S += u_i |a_i|, C += sign(a_i) u_i h_i. The flip is the root -C_j/S_j of the first
    segment that ends strictly on the other side of zero, so stretches where f is exactly 0 (every
    neuron off) are not mistaken for flips. "Strictly" means beyond the rounding bound of `_rounding_factor`.

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
    u = net.u.unsqueeze(1)  # (R, 1, m)
    inf = torch.tensor(float("inf"), dtype=h.dtype, device=h.device)

    # Neurons active just after t = 0 (h = 0 with a > 0 switches on immediately, without a breakpoint).
    active0 = (h > 0) | ((h == 0) & (a > 0))
    crosses = ((h > 0) & (a < 0)) | ((h < 0) & (a > 0))
    tb = torch.where(crosses, -h / a, inf)
    C0 = (u * torch.relu(h)).sum(-1)  # f(0)
    S0 = torch.where(active0, u * a, torch.zeros_like(a)).sum(-1)  # f'(0+)
    dS = torch.where(crosses, u * a.abs(), torch.zeros_like(a))
    dC = torch.where(crosses, torch.sign(a) * u * h, torch.zeros_like(a))

    tb, order = tb.sort(-1)
    zero = torch.zeros_like(C0).unsqueeze(-1)
    C = torch.cat([zero, dC.gather(-1, order).cumsum(-1)], -1) + C0.unsqueeze(-1)  # (R, p, m + 1)
    S = torch.cat([zero, dS.gather(-1, order).cumsum(-1)], -1) + S0.unsqueeze(-1)
    start = torch.cat([zero, tb], -1)  # segment j runs over [start_j, end_j]
    end = torch.cat([tb, inf.expand_as(zero)], -1)

    sigma = torch.sign(C0).unsqueeze(-1)
    rho = _rounding_factor(net.width, h.dtype)
    A = (u.abs() * h.abs()).sum(-1, keepdim=True)  # bounds |C_j| sums
    B = (u.abs() * a.abs()).sum(-1, keepdim=True)  # bounds |S_j| sums
    finite_end = torch.isfinite(end)
    end_value = C + S * torch.where(finite_end, end, torch.zeros_like(end))
    ends_beyond = sigma * end_value < -rho * (A + torch.where(finite_end, end, zero) * B)
    # The unbounded last segment changes sign iff its slope points across zero.
    tail_crosses = torch.isfinite(start) & (sigma * S < -rho * B)
    cond = torch.where(finite_end, ends_beyond, tail_crosses)

    j = _first_true(cond).clamp(max=h.shape[-1])
    found = cond.any(-1) & (C0 != 0)
    Cj, Sj, start_j, end_j = (_gather(x, j) for x in (C, S, start, end))
    root = torch.where(Sj != 0, -Cj / torch.where(Sj != 0, Sj, torch.ones_like(Sj)), start_j)
    # Rounding can put the root a hair outside its segment; the segment is where f crosses.
    t = torch.minimum(torch.maximum(root, start_j), end_j)
    t = torch.where(found, t, inf.expand_as(t))
    t = torch.where(C0 == 0, torch.zeros_like(t), t)

    finite = torch.isfinite(t)
    delta = torch.where(finite.unsqueeze(-1), t.unsqueeze(-1) * V, torch.zeros_like(V))
    norm = torch.where(finite, delta.norm(dim=-1), inf.expand_as(t))
    success = finite & _verify(net, X0, delta)

    initial_slope = S0.abs()
    t_star = torch.where(
        initial_slope > 0, C0.abs() / torch.where(initial_slope > 0, initial_slope, 1.0), inf
    )
    certified = (torch.sign(C0) * S0 < 0) & (t_star < tb[..., 0])
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
    rho = _rounding_factor(net.width, X0.dtype)
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
    certified: torch.Tensor, attack_norm: torch.Tensor, *, rtol: float = 1e-9, atol: float = 0.0
) -> float:
    """Raise SandwichViolation unless certified <= attack_norm (1 + rtol) + atol everywhere (R6).

    Both sides are exact in real arithmetic; in float64 each carries a relative error of about
    (m + 1) eps times the conditioning sum_i |u_i h_i| / |N(x0)| (see `_rounding_factor`). The default
    rtol = 1e-9 covers m (sum_i |u_i h_i| / |N(x0)|) up to ~5e5; a genuine bug (a wrong L, a flip past
    the true zero) is off by far more. NaN on either side is a violation.

    Returns:
        max(certified / attack_norm), the tightest ratio, for reporting (<= 1 + rtol when it returns).
    """
    validate(rtol=rtol, atol=atol)
    certified, attack_norm = torch.broadcast_tensors(certified, attack_norm)
    allowed = attack_norm * (1.0 + rtol) + atol
    bad = ~(certified <= allowed)
    ratio = certified / attack_norm
    if bool(bad.any()):
        excess = torch.where(bad, torch.nan_to_num(ratio, nan=float("inf")), torch.full_like(ratio, -1.0))
        flat = int(excess.flatten().argmax())
        index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), certified.shape))
        c, a = float(certified[index]), float(attack_norm[index])
        raise SandwichViolation(
            f"certified radius {c:.17g} > attack radius {a:.17g} "
            f"at index {index} (ratio {float(ratio[index]):.12g}, allowance rtol={rtol:g}, atol={atol:g}); "
            f"{int(bad.sum())} of {bad.numel()} entries violate"
        )
    finite = torch.isfinite(ratio)
    return float(ratio[finite].max()) if bool(finite.any()) else 0.0
