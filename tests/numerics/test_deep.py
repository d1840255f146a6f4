"""Tests of numerics.deep: forward pass, hand-written gradients against autograd, the first layer's
invariance under GD on subspace data, and the verified orthogonal flip."""

from __future__ import annotations

import pytest
import torch

from numerics import deep
from numerics.datasets import make_dataset
from numerics.losses import LOSSES, empirical_loss
from theory.parameters import ParameterError

F64 = torch.float64


def random_net(seed: int = 0, *, R: int = 3, d: int = 7, m1: int = 5, m2: int = 4, bias: bool = True):
    """A network with every parameter non-zero (biases included), so no gradient vanishes trivially."""
    net = deep.initialize_deep(deep.DeepInitConfig(m1=m1, m2=m2), d, R, seed=seed)
    if bias:
        gen = torch.Generator().manual_seed(seed + 100)
        net.b = 0.3 * torch.randn(net.b.shape, generator=gen, dtype=F64)
        net.c = 0.3 * torch.randn(net.c.shape, generator=gen, dtype=F64)
    return net


def points(R: int, n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(R, n, d, generator=gen, dtype=F64)
    return X, torch.where(torch.randn(R, n, generator=gen, dtype=F64) > 0, 1.0, -1.0).to(F64)


def test_forward_matches_a_loop_over_neurons():
    net = random_net(1)
    X, _ = points(net.runs, 6, net.dim, 2)
    out = deep.forward(net, X)
    for r in range(net.runs):
        for p in range(X.shape[1]):
            a1 = torch.relu(net.W[r] @ X[r, p] + net.b[r])
            expected = sum(
                float(net.v[r, i]) * max(float(net.A[r, i] @ a1 + net.c[r, i]), 0.0)
                for i in range(net.v.shape[1])
            )
            assert float(out[r, p]) == pytest.approx(expected, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("bias", [False, True])
def test_gradients_match_autograd(loss, bias):
    net = random_net(3, bias=bias)
    X, y = points(net.runs, 9, net.dim, 4)
    grads = deep.loss_and_gradients(net, X, y, loss, bias=bias)
    params = [t.clone().requires_grad_(True) for t in net.tensors()]
    auto_net = deep.DeepNetwork(*params)
    total = empirical_loss(loss, deep.forward(auto_net, X), y)
    total.sum().backward()  # runs are independent, so the sum's gradient is each run's gradient
    torch.testing.assert_close(grads.loss, total.detach(), rtol=1e-13, atol=1e-15)
    expected = dict(zip("WbAcv", (p.grad for p in params), strict=True))
    for name in ("W", "A", "v") + (("b", "c") if bias else ()):
        torch.testing.assert_close(getattr(grads, name), expected[name], rtol=1e-12, atol=1e-14)
    if not bias:
        assert grads.b is None and grads.c is None


def test_input_gradient_matches_autograd():
    net = random_net(5)
    X, _ = points(net.runs, 4, net.dim, 6)
    Xg = X.clone().requires_grad_(True)
    deep.forward(net, Xg).sum().backward()
    torch.testing.assert_close(deep.input_gradient(net, X), Xg.grad, rtol=1e-12, atol=1e-14)


def test_first_layer_keeps_the_orthogonal_weights_and_the_rest_moves():
    data = make_dataset("gaussian_linear", runs=4, seed=7, d=12, ell=8, n=20)
    assert data.subspace is not None
    net0 = deep.initialize_deep(deep.DeepInitConfig(m1=10, m2=6), 12, 4, seed=8)
    res = deep.train_deep(net0, data.X, data.y, lr=0.2, steps=100, train_bias=True)
    perp = data.subspace.perp_projector()
    moved = ((res.net.W - net0.W) @ perp).norm(dim=-1).amax()
    # Each of the 100 steps adds a rounding error of ~(n + d) eps |update| to Pi W; 1e-12 is well above that.
    assert float(moved) < 1e-12
    assert float((res.net.W - net0.W).norm()) > 1e-2  # W did train (inside P)
    assert float((res.net.A - net0.A).norm()) > 1e-3 and float(res.net.b.abs().max()) > 0
    assert bool(res.finite.all())
    assert bool((res.final_loss < empirical_loss("logistic", deep.forward(net0, data.X), data.y)).all())


def test_orthogonal_weights_do_move_for_off_subspace_data():
    """The invariance is about the data: with noise off P the same training moves Pi W (control)."""
    data = make_dataset("gaussian_linear", runs=2, seed=7, d=12, ell=8, n=20, noise=0.1)
    assert data.subspace is not None
    net0 = deep.initialize_deep(deep.DeepInitConfig(m1=10, m2=6), 12, 2, seed=8)
    res = deep.train_deep(net0, data.X, data.y, lr=0.2, steps=50)
    assert float(((res.net.W - net0.W) @ data.subspace.perp_projector()).norm(dim=-1).amin()) > 1e-6


def test_projected_flip_is_verified_and_orthogonal():
    data = make_dataset("gaussian_linear", runs=6, seed=9, d=15, ell=10, n=21)
    assert data.subspace is not None
    X, y, X0 = data.X[:, :-1], data.y[:, :-1], data.X[:, -1:]
    res = deep.train_deep(
        deep.initialize_deep(deep.DeepInitConfig(m1=16, m2=8), 15, 6, seed=10), X, y, lr=0.2, steps=100
    )
    B = data.subspace.basis
    flip = deep.projected_flip(res.net, X0, data.subspace.perp_projector())
    assert bool(flip.success.any())
    ok = flip.success
    before, after = deep.forward(res.net, X0), deep.forward(res.net, X0 + flip.delta)
    assert bool((before[ok] * after[ok] < 0).all())
    assert float((flip.delta @ B).abs().max()) < 1e-12 * float(flip.delta.abs().max())  # in P^perp
    torch.testing.assert_close(flip.norm[ok], flip.delta.norm(dim=-1)[ok])
    assert bool(torch.isinf(flip.norm[~ok]).all())


def test_invalid_inputs_are_rejected():
    with pytest.raises(ParameterError, match="m1"):
        deep.DeepInitConfig(m1=0)
    with pytest.raises(ParameterError, match="s_a"):
        deep.DeepInitConfig(s_a=-1.0)
    net = random_net(0)
    X, y = points(net.runs, 4, net.dim + 1, 0)
    with pytest.raises(ParameterError):
        deep.train_deep(net, X, y, lr=0.1, steps=1)
