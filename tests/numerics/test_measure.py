"""Tests of numerics.measure: each measurement against a direct, loop-by-loop or autograd recomputation."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats

from numerics.measure import (
    accuracy,
    active_set,
    batch_points,
    chi_square_statistic,
    invariance_error,
    invariance_scale,
    margins,
    min_margin,
    orthogonal_gradient,
    orthogonal_gradient_from_initial,
    orthogonal_lipschitz,
    orthogonal_weight_norm,
    output_variation_along,
)
from numerics.model import InitConfig, Network, forward, initialize
from theory.parameters import ParameterError

F64 = torch.float64


def subspace(d: int, ell: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """An orthonormal basis B (d, d - ell) of a random P (QR of a seeded Gaussian) and Pi = I - B B^T."""
    gen = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=F64))
    B = Q[:, : d - ell]
    return B, torch.eye(d, dtype=F64) - B @ B.T


def points_in(B: torch.Tensor, runs: int, p: int, seed: int) -> torch.Tensor:
    """Gaussian points of P: (runs, p, d) with x = B c, c ~ N(0, I)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(runs, p, B.shape[1], generator=gen, dtype=F64) @ B.T


def trained_like(net0: Network, B: torch.Tensor, seed: int, *, c: float = 1.0) -> Network:
    """A stand-in for a trained network: W = c W0 + Z B B^T (so Pi W = c Pi W0), new u and b.

    Everything that changed is drawn independently of Pi W0, as R2 derives for real training.
    """
    gen = torch.Generator().manual_seed(seed)
    Z = torch.randn(net0.W.shape, generator=gen, dtype=F64) / math.sqrt(net0.dim)
    u = net0.u * (1 + 0.5 * torch.rand(net0.u.shape, generator=gen, dtype=F64))
    b = 0.3 * torch.randn(net0.b.shape, generator=gen, dtype=F64)
    return Network(c * net0.W + Z @ B @ B.T, b, u)


def small_population(seed: int = 0, *, R: int = 4, d: int = 8, ell: int = 5, m: int = 7, p: int = 5):
    B, perp = subspace(d, ell, seed)
    net0 = initialize(InitConfig(m=m), d, R, seed=seed + 1)
    net = trained_like(net0, B, seed + 2)
    return B, perp, net0, net, points_in(B, R, p, seed + 3)


def test_orthogonal_gradient_matches_autograd_and_the_active_sum():
    B, perp, _, net, X0 = small_population()
    X = X0.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(forward(net, X).sum(), X)  # each output depends on its own point only
    g = orthogonal_gradient(net, X0, perp)
    assert g.shape == X0.shape
    torch.testing.assert_close(g, grad @ perp, rtol=1e-12, atol=1e-14)
    for r in range(net.runs):
        for j in range(X0.shape[1]):
            h = net.W[r] @ X0[r, j] + net.b[r]
            direct = perp @ sum(net.u[r, i] * net.W[r, i] for i in range(net.width) if h[i] > 0)
            torch.testing.assert_close(g[r, j], direct, rtol=1e-12, atol=1e-14)
    assert torch.allclose(g @ B, torch.zeros(()).to(F64), atol=1e-13)  # g lies in P^perp


def test_active_set_counts_and_output_weight_mass():
    _, _, _, net, X0 = small_population(1)
    act = active_set(net, X0)
    assert act.mask.dtype == torch.bool and act.k.dtype == torch.int64
    for r in range(net.runs):
        for j in range(X0.shape[1]):
            h = net.W[r] @ X0[r, j] + net.b[r]
            assert act.k[r, j] == int((h > 0).sum())
            assert math.isclose(float(act.S[r, j]), float((net.u[r][h > 0] ** 2).sum()), rel_tol=1e-14)


def test_active_set_excludes_neurons_exactly_at_zero():
    # h = (1, 0, -1): the neuron with h = 0 is not in I (I = {i : h_i > 0}); k = 1, S = u_1^2.
    net = Network(
        torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]], dtype=F64),
        torch.zeros(1, 3, dtype=F64),
        torch.tensor([[0.5, 2.0, 3.0]], dtype=F64),
    )
    act = active_set(net, torch.tensor([[1.0, 0.0]], dtype=F64))
    assert act.mask.tolist() == [[[True, False, False]]]
    assert act.k.tolist() == [[1]] and act.S.tolist() == [[0.25]]


def test_chi_square_statistic_is_the_direct_formula():
    B, perp, _, net, X0 = small_population(2)
    g = orthogonal_gradient(net, X0, perp)
    S = active_set(net, X0).S
    c_T = torch.tensor([1.0, 0.5, 0.9, 0.25], dtype=F64)
    Q = chi_square_statistic(g, S, d=8, s_w=0.7, c_T=c_T)
    for r in range(net.runs):
        for j in range(X0.shape[1]):
            direct = 8 * float(g[r, j] @ g[r, j]) / (float(c_T[r]) ** 2 * 0.7**2 * float(S[r, j]))
            assert math.isclose(float(Q[r, j]), direct, rel_tol=1e-13)
    torch.testing.assert_close(chi_square_statistic(g, S, d=8, s_w=0.7), 8 * g.square().sum(-1) / (0.49 * S))
    with pytest.raises(ParameterError, match="s_w"):
        chi_square_statistic(g, S, d=8, s_w=0.0)


def test_chi_square_statistic_follows_chi2_ell_for_trained_like_networks():
    # R3 derives Q ~ chi2_ell exactly when Pi W = c_T Pi W0 with W0 isotropic Gaussian and everything else
    # independent of Pi W0; trained_like() builds exactly that. One x0 per network, so the 400 values are
    # independent. The KS test's false-fail rate is its level, 1e-3 (the seed is fixed, so the outcome is
    # deterministic; a wrong c_T or s_w power moves the law far beyond what 400 samples detect).
    d, ell, R, c = 20, 12, 400, 0.6
    B, perp = subspace(d, ell, 10)
    init = InitConfig(m=30, beta=0.5)
    net0 = initialize(init, d, R, seed=11)
    net = trained_like(net0, B, 12, c=c)
    X0 = points_in(B, R, 1, 13)
    act = active_set(net, X0)
    keep = act.S[:, 0] > 0
    Q = chi_square_statistic(orthogonal_gradient(net, X0, perp), act.S, d=d, s_w=init.hidden_std, c_T=c)
    assert int(keep.sum()) > 380
    assert stats.kstest(Q[keep, 0].numpy(), stats.chi2(ell).cdf).pvalue > 1e-3
    # The same check with the wrong effective scale (s_w instead of s_w beta) must fail decisively.
    wrong = chi_square_statistic(orthogonal_gradient(net, X0, perp), act.S, d=d, s_w=init.s_w, c_T=c)
    assert stats.kstest(wrong[keep, 0].numpy(), stats.chi2(ell).cdf).pvalue < 1e-10


def test_orthogonal_gradient_from_initial_matches_when_invariance_holds():
    B, perp = subspace(8, 5, 3)
    net0 = initialize(InitConfig(m=7), 8, 4, seed=4)
    X0 = points_in(B, 4, 5, 5)
    c = torch.tensor([1.0, 0.8, 0.5, 0.3], dtype=F64)
    net = trained_like(net0, B, 6)
    net.W = c.reshape(-1, 1, 1) * net0.W + (net.W - net0.W)  # Pi W = c_T Pi W0 per run
    torch.testing.assert_close(
        orthogonal_gradient_from_initial(net, net0, X0, perp, c), orthogonal_gradient(net, X0, perp)
    )
    broken = Network(net.W + 0.1 * torch.ones_like(net.W), net.b, net.u)
    assert not torch.allclose(
        orthogonal_gradient_from_initial(broken, net0, X0, perp, c), orthogonal_gradient(broken, X0, perp)
    )


def test_invariance_error_is_zero_inside_P_and_positive_otherwise():
    B, perp = subspace(10, 6, 7)
    net0 = initialize(InitConfig(m=9), 10, 3, seed=8)
    scale = invariance_scale(net0, perp)
    torch.testing.assert_close(scale, (net0.W @ perp).norm(dim=-1).amax(-1))
    for c in (1.0, 0.7):
        net = trained_like(net0, B, 9, c=c)
        # Rounding of c W0 + Z B B^T projected by Pi: a few eps times the entries, far below 1e-13.
        assert torch.all(invariance_error(net, net0, perp, c) <= 1e-13 * scale)
    net = trained_like(net0, B, 9, c=0.7)
    assert torch.all(invariance_error(net, net0, perp, 1.0) > 0.2 * scale)  # wrong c_T: 0.3 Pi W0 remains
    gen = torch.Generator().manual_seed(10)
    leaked = Network(net0.W + 0.05 * torch.randn(net0.W.shape, generator=gen, dtype=F64), net0.b, net0.u)
    assert torch.all(invariance_error(leaked, net0, perp) > 0.01 * scale)
    per_run = torch.tensor([0.7, 0.7, 0.7], dtype=F64)
    torch.testing.assert_close(
        invariance_error(net, net0, perp, per_run), invariance_error(net, net0, perp, 0.7)
    )


def test_orthogonal_lipschitz_bounds_every_orthogonal_variation():
    B, perp, _, net, X0 = small_population(4, R=3, d=6, ell=4, m=9, p=4)
    L = orthogonal_lipschitz(net, perp)
    direct = torch.tensor(
        [
            sum(abs(float(net.u[r, i])) * float((perp @ net.W[r, i]).norm()) for i in range(9))
            for r in range(3)
        ],
        dtype=F64,
    )
    torch.testing.assert_close(L, direct, rtol=1e-13, atol=0)
    gen = torch.Generator().manual_seed(11)
    for scale in (1e-3, 0.1, 1.0, 10.0):
        Z = torch.randn(3, 4, 500, 6, generator=gen, dtype=F64) @ perp * scale
        variation = output_variation_along(net, X0.repeat_interleave(500, 1), Z.reshape(3, 2000, 6)).reshape(
            3, 4, 500
        )
        bound = L.reshape(3, 1, 1) * Z.norm(dim=-1)
        # Relative rounding allowance 1e-12: both sides are sums of ~10 float64 products.
        assert torch.all(variation.abs() <= bound * (1 + 1e-12) + 1e-15)
    # The orthogonal gradient at any point is one of the slopes L bounds.
    assert torch.all(orthogonal_gradient(net, X0, perp).norm(dim=-1) <= L.unsqueeze(-1) * (1 + 1e-12))


def test_orthogonal_lipschitz_is_attained_by_a_single_active_neuron():
    w = torch.tensor([[[0.3, -1.2, 2.0]]], dtype=F64)
    net = Network(w, torch.tensor([[0.5]], dtype=F64), torch.tensor([[-0.8]], dtype=F64))
    perp = torch.diag(torch.tensor([0.0, 1.0, 1.0], dtype=F64))  # P = the first axis
    X0 = torch.tensor([[[1.0, 0.0, 0.0]]], dtype=F64)
    L = orthogonal_lipschitz(net, perp)
    assert math.isclose(float(L), 0.8 * math.hypot(1.2, 2.0), rel_tol=1e-15)
    assert math.isclose(float(orthogonal_gradient(net, X0, perp).norm()), float(L), rel_tol=1e-15)


def test_orthogonal_weight_norm_and_variation_vanish_when_W_lies_in_P():
    B, perp, _, net, X0 = small_population(5)
    torch.testing.assert_close(orthogonal_weight_norm(net, perp), (net.W @ perp).flatten(1).norm(dim=-1))
    inside = Network(net.W @ B @ B.T, net.b, net.u)
    assert torch.all(orthogonal_weight_norm(inside, perp) < 1e-14)
    Z = torch.randn(X0.shape, generator=torch.Generator().manual_seed(12), dtype=F64) @ perp * 5
    # <w_i, z> is exactly 0 for w_i in P and z in P^perp; what remains is float64 rounding.
    assert torch.all(output_variation_along(inside, X0, Z).abs() < 1e-13)
    assert torch.all(output_variation_along(net, X0, Z).abs() > 0)


def test_margins_accuracy_and_min_margin_on_a_hand_example():
    net = Network(
        torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], dtype=F64),
        torch.zeros(1, 2, dtype=F64),
        torch.tensor([[1.0, -1.0]], dtype=F64),
    )
    X = torch.tensor([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0], [0.5, 0.0]], dtype=F64)  # N = 2, -3, 0, 0.5
    y = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=F64)
    torch.testing.assert_close(margins(net, X, y), torch.tensor([[2.0, 3.0, 0.0, -0.5]], dtype=F64))
    torch.testing.assert_close(accuracy(net, X, y), torch.tensor([0.5], dtype=F64))  # 0 counts wrong
    torch.testing.assert_close(min_margin(net, X, y), torch.tensor([-0.5], dtype=F64))


def test_shapes_are_checked():
    _, perp, _, net, X0 = small_population(6)
    assert batch_points(net, X0[0]).shape == X0.shape
    torch.testing.assert_close(
        orthogonal_gradient(net, X0[0], perp), orthogonal_gradient(net, X0[:1].expand_as(X0), perp)
    )
    with pytest.raises(ParameterError, match="X of shape"):
        batch_points(net, X0[:2])
    with pytest.raises(ParameterError, match="projector"):
        orthogonal_gradient(net, X0, perp[:3])
    per_run = perp.expand(net.runs, -1, -1)
    torch.testing.assert_close(orthogonal_gradient(net, X0, per_run), orthogonal_gradient(net, X0, perp))
