"""The rounding bounds of numerics.conditioning hold against a 60-digit reference, also where the network is
nearly flat along the allowed direction (the R9 weight-decay case, r_perp ~ 1e12), and they do not hide a
wrong radius where the network is well conditioned."""

from __future__ import annotations

import math

import mpmath
import pytest
import torch

from numerics.attacks import (
    SandwichViolation,
    certified_orthogonal_radius,
    check_sandwich,
    flip_along,
    orthogonal_gradient_flip,
)
from numerics.conditioning import certificate_condition, flip_condition
from numerics.model import Network

NORMAL = torch.tensor([1 / math.sqrt(2), -1 / math.sqrt(2)], dtype=torch.float64)
DIAGONAL = torch.tensor([1 / math.sqrt(2), 1 / math.sqrt(2)], dtype=torch.float64)


def _network(runs: int, m: int, along_n: float, seed: int) -> Network:
    """w_i = c_i e + s_i n with e the diagonal, s_i ~ along_n: nearly flat along n when along_n is tiny."""
    g = torch.Generator().manual_seed(seed)
    c = torch.randn(runs, m, 1, generator=g, dtype=torch.float64)
    s = along_n * torch.randn(runs, m, 1, generator=g, dtype=torch.float64)
    W = c * DIAGONAL + s * NORMAL
    b = 0.3 * torch.randn(runs, m, generator=g, dtype=torch.float64)
    u = torch.sign(torch.randn(runs, m, generator=g, dtype=torch.float64)) / math.sqrt(m)
    return Network(W=W, b=b, u=u)


def _points(runs: int, p: int) -> torch.Tensor:
    t = torch.linspace(-1.0, 1.0, p, dtype=torch.float64)
    return (t.unsqueeze(-1) * DIAGONAL).expand(runs, p, 2).contiguous()


def _exact_root(W, b, u, x0, v) -> mpmath.mpf:
    """First sign change of sum_i u_i relu(<w_i, x0> + b_i + t <w_i, v>), t > 0, with the float inputs taken
    as exact and 60 digits of arithmetic; the radius t ||v||; inf if none."""
    mpmath.mp.dps = 60
    rows = [[mpmath.mpf(float(x)) for x in w] for w in W]
    h = [
        sum(wj * mpmath.mpf(float(xj)) for wj, xj in zip(w, x0, strict=True)) + mpmath.mpf(float(bi))
        for w, bi in zip(rows, b, strict=True)
    ]
    a = [sum(wj * mpmath.mpf(float(vj)) for wj, vj in zip(w, v, strict=True)) for w in rows]
    U = [mpmath.mpf(float(x)) for x in u]

    def f(t):
        return sum(ui * max(hi + t * ai, 0) for ui, hi, ai in zip(U, h, a, strict=True))

    f0 = f(0)
    knots = sorted({-hi / ai for hi, ai in zip(h, a, strict=True) if ai != 0 and -hi / ai > 0})
    start = mpmath.mpf(0)
    for end in [*knots, None]:
        stop = end if end is not None else start + 1
        fs, fe = f(start), f(stop)
        if fe * f0 < 0 or (end is None and (fe - fs) * f0 < 0):
            root = start + fs * (stop - start) / (fs - fe)
            return root * mpmath.sqrt(sum(mpmath.mpf(float(x)) ** 2 for x in v))
        if end is None:
            return mpmath.inf
        start = end
    return mpmath.inf


def _relative_errors(net, X0, result, directions):
    """|computed - exact| / exact per point, the exact radius along each direction as computed above."""
    out = torch.zeros_like(result.norm)
    for r in range(X0.shape[0]):
        for p in range(X0.shape[1]):
            if not bool(torch.isfinite(result.norm[r, p])):
                continue
            exact = _exact_root(
                net.W[r].tolist(),
                net.b[r].tolist(),
                net.u[r].tolist(),
                X0[r, p].tolist(),
                directions[r, p].tolist(),
            )
            out[r, p] = float(abs(mpmath.mpf(float(result.norm[r, p])) - exact) / exact)
    return out


@pytest.mark.parametrize("along_n", [1.0, 1e-13])
def test_flip_condition_bounds_the_walks_error_against_a_60_digit_reference(along_n):
    net, X0 = _network(3, 12, along_n, seed=4), _points(3, 5)
    V = NORMAL.expand_as(X0).contiguous()
    walk = flip_along(net, X0, V)
    error = _relative_errors(net, X0, walk, V)
    bound = flip_condition(net, X0, walk.delta, torch.outer(NORMAL, NORMAL))
    flipped = torch.isfinite(walk.norm)
    assert int(flipped.sum()) >= 5
    assert bool((error[flipped] <= bound[flipped]).all()), (error, bound)
    if along_n == 1.0:
        assert float(bound[flipped].max()) < 1e-10  # well conditioned: the fixed 1e-9 allowance dominates
    else:
        assert float(walk.norm[flipped].min()) > 1e10  # the radius of a network nearly flat along n
        assert float(error[flipped].max()) > 1e-6  # float64 itself leaves the radius this uncertain


def test_flip_condition_covers_a_direction_that_leaves_the_subspace_by_rounding():
    """The gradient flip's direction is +-n only to rounding; its radius is compared with the walk along
    the exact n, so the bound must include the direction's part in P times the network's slope there."""
    net, X0 = _network(3, 12, 1e-13, seed=5), _points(3, 5)
    perp = torch.outer(NORMAL, NORMAL)
    gradient = orthogonal_gradient_flip(net, X0, perp)
    side = torch.sign((gradient.delta * NORMAL).sum(-1, keepdim=True))
    along = side * NORMAL
    error = _relative_errors(net, X0, gradient, along.expand_as(X0).contiguous())
    bound = flip_condition(net, X0, gradient.delta, perp)
    flipped = torch.isfinite(gradient.norm)
    assert int(flipped.sum()) >= 5
    assert bool((error[flipped] <= bound[flipped]).all()), (error, bound)


@pytest.mark.parametrize("along_n", [1.0, 1e-13])
def test_certificate_condition_bounds_the_certificates_error(along_n):
    net, X0 = _network(2, 10, along_n, seed=6), _points(2, 4)
    perp = torch.outer(NORMAL, NORMAL)
    computed = certified_orthogonal_radius(net, X0, perp)
    bound = certificate_condition(net, X0, perp)
    mpmath.mp.dps = 60
    P = [[mpmath.mpf(float(x)) for x in row] for row in perp.tolist()]
    for r in range(2):
        W = [[mpmath.mpf(float(x)) for x in w] for w in net.W[r].tolist()]
        U = [mpmath.mpf(float(x)) for x in net.u[r].tolist()]
        L = sum(
            abs(ui) * mpmath.sqrt(sum(sum(P[k][j] * w[j] for j in range(2)) ** 2 for k in range(2)))
            for ui, w in zip(U, W, strict=True)
        )
        for p in range(4):
            x = [mpmath.mpf(float(v)) for v in X0[r, p].tolist()]
            h = [
                sum(wj * xj for wj, xj in zip(w, x, strict=True)) + mpmath.mpf(float(bi))
                for w, bi in zip(W, net.b[r].tolist(), strict=True)
            ]
            N = sum(ui * max(hi, 0) for ui, hi in zip(U, h, strict=True))
            exact = abs(N) / L
            assert abs(mpmath.mpf(float(computed[r, p])) - exact) / exact <= float(bound[r, p])


def test_the_allowance_still_catches_a_wrong_radius_where_the_network_is_well_conditioned():
    net, X0 = _network(3, 12, 1.0, seed=7), _points(3, 5)
    V = NORMAL.expand_as(X0).contiguous()
    walk = flip_along(net, X0, V)
    bound = flip_condition(net, X0, walk.delta, torch.outer(NORMAL, NORMAL))
    check_sandwich(walk.norm, walk.norm, condition=2 * bound)
    with pytest.raises(SandwichViolation, match="condition"):
        check_sandwich(walk.norm, walk.norm * (1 - 1e-6), condition=2 * bound)
    with pytest.raises(ValueError, match="condition"):
        check_sandwich(walk.norm, walk.norm, condition=-bound - 1)
