"""Tests of numerics.breakpoints: the walk against a dense scan of f(t), and its crossing segment."""

from __future__ import annotations

import torch

from numerics.breakpoints import first_crossing, rounding_factor

F64 = torch.float64


def random_problem(seed: int, R: int = 3, P: int = 40, m: int = 7):
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(R, P, m, generator=gen, dtype=F64)
    a = torch.randn(R, P, m, generator=gen, dtype=F64)
    u = torch.randn(R, m, generator=gen, dtype=F64)
    return h, a, u


def f(h, a, u, t):
    """f(t) = sum_i u_i relu(h_i + t a_i) for t (R, P, T) -> (R, P, T)."""
    return (
        torch.relu(h.unsqueeze(2) + t.unsqueeze(-1) * a.unsqueeze(2)) * u.reshape(u.shape[0], 1, 1, -1)
    ).sum(-1)


def test_the_root_is_the_first_sign_change_of_a_dense_scan():
    h, a, u = random_problem(0)
    crossing = first_crossing(h, a, u)
    grid = torch.linspace(0, 8, 40_001, dtype=F64)
    values = f(h, a, u, grid.expand(*h.shape[:2], -1))
    sigma = torch.sign(values[..., :1])
    across = sigma * values < 0
    first = torch.where(across.any(-1), across.to(torch.int64).argmax(-1), -1)
    found = first >= 0
    assert int(found.sum()) > 20
    t = crossing.t
    # The exact root lies in the last grid cell before the scan first sees the other side.
    assert torch.all(grid[(first[found] - 1).clamp_min(0)] <= t[found]) and torch.all(
        t[found] <= grid[first[found]]
    )
    assert torch.all(~torch.isfinite(t[~found]) | (t[~found] > 8 - 1e-3))


def test_the_crossing_segment_contains_the_root_and_is_linear():
    h, a, u = random_problem(1)
    c = first_crossing(h, a, u)
    ok = torch.isfinite(c.t)
    assert torch.all(c.start[ok] <= c.t[ok]) and torch.all(c.t[ok] <= c.end[ok])
    inside = c.inside()
    assert torch.all(c.start[ok] < inside[ok]) and torch.all(
        (inside[ok] < c.end[ok]) | torch.isinf(c.end[ok])
    )
    # f is affine on the segment: f(inside) equals the line through (t, 0) with the segment's slope.
    active = h + inside.unsqueeze(-1) * a > 0
    slope = torch.where(active, u.unsqueeze(1) * a, 0.0).sum(-1)
    value = f(h, a, u, inside.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(value[ok], (slope * (inside - c.t))[ok], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(c.f0, f(h, a, u, torch.zeros_like(c.t).unsqueeze(-1)).squeeze(-1))


def test_rounding_factor_is_8_m_plus_1_eps():
    assert rounding_factor(100, F64) == 8 * 101 * torch.finfo(F64).eps
