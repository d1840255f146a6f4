"""The autograd baseline: the same networks as numerics.model, and the same GD trajectory as train."""

import pytest
import torch

from bench.baseline import train_baseline, two_layer_module
from numerics.datasets import make_dataset
from numerics.model import InitConfig, forward, initialize
from numerics.train import TrainConfig, train
from theory.parameters import ParameterError

R, n, m, d = 3, 10, 6, 8


def _problem(dtype=torch.float64):
    data = make_dataset("gaussian_linear", runs=R, seed=1, d=d, ell=3, n=n, dtype=dtype)
    return initialize(InitConfig(m=m), d, R, seed=2, dtype=dtype), data.X, data.y


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def test_module_computes_the_batched_forward():
    net, X, _ = _problem()
    for r in range(R):
        out = two_layer_module(net.W[r], net.u[r])(X[r]).squeeze(1)
        torch.testing.assert_close(out, forward(net, X)[r], rtol=1e-13, atol=1e-15)


def test_baseline_follows_the_batched_gd_trajectory():
    net, X, y = _problem()
    base = train_baseline(net, X, y, lr=0.2, steps=60)
    batched = train(net, X, y, TrainConfig(optimizer="gd", lr=0.2, steps=60)).net
    # Same arithmetic up to summation order: 60 steps of float64 rounding stay ~1e-15.
    assert _relative(batched.W, base.W) < 1e-12
    assert _relative(batched.u, base.u) < 1e-12
    assert _relative(base.W, net.W) > 1e-3  # it did train
    # and the comparison resolves a change of one step in sixty
    assert _relative(train_baseline(net, X, y, lr=0.2, steps=59).W, base.W) > 1e-6


def test_float32_keeps_the_dtype_and_agrees_to_single_precision():
    net, X, y = _problem(torch.float32)
    base = train_baseline(net, X, y, lr=0.2, steps=60)
    assert base.W.dtype == torch.float32
    assert _relative(train(net, X, y, TrainConfig(lr=0.2, steps=60)).net.W, base.W) < 1e-4


def test_zero_steps_returns_the_initial_networks_and_bias_is_refused():
    net, X, y = _problem()
    same = train_baseline(net, X, y, lr=0.2, steps=0)
    assert torch.equal(same.W, net.W) and torch.equal(same.u, net.u)
    net.b += 0.5
    with pytest.raises(ParameterError, match="bias"):
        train_baseline(net, X, y, lr=0.2, steps=1)
    with pytest.raises(ParameterError, match="lr="):
        train_baseline(net, X, y, lr=-1.0, steps=1)
