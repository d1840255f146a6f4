"""The exact first sign change of a one-dimensional two-layer ReLU function, by a walk over its breakpoints.

Along a ray x0 + t v the network is f(t) = sum_i u_i relu(h_i + t a_i) with h_i = <w_i, x0> + b_i and
a_i = <w_i, v>: piecewise linear, with at most one breakpoint t_i = -h_i / a_i per neuron. This module
works on (h, a, u) directly, so the same walk serves a ray in R^d (`numerics.attacks.flip_along`) and a
ray in the coordinates of a subspace (the attacks of `numerics.minimal_flip`, where a_i = <A_i, c>).

Shapes: h and a (R, P, m), u (R, m); results (R, P).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Crossing", "first_crossing", "rounding_factor"]


def rounding_factor(m: int, dtype: torch.dtype) -> float:
    """Relative rounding bound for the float sums of m + 1 products below: 8 (m + 1) eps.

    A recursive sum of n terms errs by at most (n - 1) eps sum |terms| (Higham, Accuracy and Stability of
    Numerical Algorithms, section 4.2); each product adds eps; the factor 8 covers the few extra operations.
    """
    return 8.0 * (m + 1) * torch.finfo(dtype).eps


@dataclass
class Crossing:
    """The first segment of f on which f ends strictly on the other side of zero from f(0)."""

    t: torch.Tensor  # (R, P) the root -C_j/S_j of that segment; inf where f never crosses, 0 where f(0) = 0
    start: torch.Tensor  # (R, P) where the crossing segment starts (0 for the first segment); inf if none
    end: torch.Tensor  # (R, P) where it ends (inf for the last one)
    f0: torch.Tensor  # (R, P) f(0) = sum_i u_i relu(h_i)
    slope0: torch.Tensor  # (R, P) f'(0+)
    first_breakpoint: torch.Tensor  # (R, P) the smallest t_i > 0 (inf if no neuron changes state)

    def inside(self) -> torch.Tensor:
        """A t strictly inside the crossing segment (where the active set is the segment's): (R, P)."""
        finite_end = torch.isfinite(self.end)
        start = torch.where(torch.isfinite(self.start), self.start, torch.zeros_like(self.start))
        return torch.where(finite_end, 0.5 * (start + torch.where(finite_end, self.end, start)), start + 1.0)


def _first_true(cond: torch.Tensor) -> torch.Tensor:
    """Index of the first True along the last axis; cond.shape[-1] where there is none."""
    return (cond.to(torch.int64).cumsum(-1) == 0).sum(-1)


def _gather(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return x.gather(-1, index.unsqueeze(-1)).squeeze(-1)


def first_crossing(h: torch.Tensor, a: torch.Tensor, u: torch.Tensor) -> Crossing:
    """Exact first sign change of f(t) = sum_i u_i relu(h_i + t a_i), t > 0.

    On segment j between consecutive breakpoints f(t) = C_j + S_j t, where the active neurons give
    C_j = sum u_i h_i and S_j = sum u_i a_i. A neuron crossing at t_i changes both by the same rule whether
    it switches on or off: S += u_i |a_i|, C += sign(a_i) u_i h_i. The flip is the root -C_j/S_j of the first
    segment that ends strictly on the other side of zero, so stretches where f is exactly 0 (every
    neuron off) are not mistaken for flips. "Strictly" means beyond the rounding bound of `rounding_factor`
    applied to sum_i |u_i| (|h_i| + t |a_i|), the size of the terms whose sum is f(t).

    Args:
        h: values h_i at t = 0, (R, P, m).
        a: slopes a_i, (R, P, m).
        u: output weights, (R, m).
    Returns:
        Crossing (see its fields).
    """
    u = u.unsqueeze(1)  # (R, 1, m)
    inf = float("inf")
    # Neurons active just after t = 0 (h = 0 with a > 0 switches on immediately, without a breakpoint).
    active0 = (h > 0) | ((h == 0) & (a > 0))
    crosses = ((h > 0) & (a < 0)) | ((h < 0) & (a > 0))
    tb = torch.where(crosses, -h / a, inf)
    ua = u * a
    C0 = (u * torch.relu(h)).sum(-1)  # f(0)
    S0 = torch.where(active0, ua, 0.0).sum(-1)  # f'(0+)
    dS = torch.where(crosses, u * a.abs(), 0.0)
    dC = torch.where(crosses, torch.sign(a) * u * h, 0.0)

    # Sorted breakpoints t_(1) <= t_(2) <= ...; non-crossing neurons (inf) sort last and add nothing.
    tb, order = tb.sort(-1)
    dC, dS = dC.gather(-1, order), dS.gather(-1, order)
    cC, cS = dC.cumsum(-1), dS.cumsum(-1)
    # Segment j (0-based) ends at t_(j + 1); its coefficients sum the crossings before it.
    C = torch.nn.functional.pad(cC[..., :-1], (1, 0)) + C0.unsqueeze(-1)
    S = torch.nn.functional.pad(cS[..., :-1], (1, 0)) + S0.unsqueeze(-1)
    C_tail, S_tail = cC[..., -1] + C0, cS[..., -1] + S0
    finite = torch.isfinite(tb)
    tf = torch.where(finite, tb, 0.0)
    sigma = torch.sign(C0).unsqueeze(-1)
    rho = rounding_factor(h.shape[-1], h.dtype)
    A = (u.abs() * h.abs()).sum(-1, keepdim=True)  # bounds |C_j| sums
    B = (u.abs() * a.abs()).sum(-1, keepdim=True)  # bounds |S_j| sums
    ends_beyond = finite & (sigma * (C + S * tf) < -rho * (A + tf * B))
    # The unbounded last segment changes sign iff its slope points across zero.
    tail_crosses = sigma.squeeze(-1) * S_tail < -rho * B.squeeze(-1)

    m = h.shape[-1]
    j = _first_true(ends_beyond)  # the crossing segment is j (0-based); m: no bounded one
    found_inner = j < m
    found = (found_inner | tail_crosses) & (C0 != 0)
    # The crossing segment's coefficients, or the totals on the unbounded tail.
    jc = j.clamp(max=m - 1)
    Cj = torch.where(found_inner, _gather(C, jc), C_tail)
    Sj = torch.where(found_inner, _gather(S, jc), S_tail)
    n_finite = finite.sum(-1)
    last = torch.where(n_finite > 0, _gather(tf, (n_finite - 1).clamp(min=0)), 0.0)
    previous = torch.where(jc > 0, _gather(tf, (jc - 1).clamp(min=0)), 0.0)
    start_j = torch.where(found_inner, previous, last)
    end_j = torch.where(found_inner, _gather(tf, jc), inf)
    root = torch.where(Sj != 0, -Cj / torch.where(Sj != 0, Sj, 1.0), start_j)
    # Rounding can put the root a hair outside its segment; the segment is where f crosses.
    t = torch.minimum(torch.maximum(root, start_j), end_j)
    t = torch.where(found, t, inf)
    t = torch.where(C0 == 0, 0.0, t)
    start_j = torch.where(found, start_j, inf)
    end_j = torch.where(found, end_j, inf)
    return Crossing(t, start_j, end_j, C0, S0, tb[..., 0])
