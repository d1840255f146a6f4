"""The naive baseline the batched trainer is timed against: what a researcher would write with autograd.

Each of the R networks N(x) = sum_i u_i relu(<w_i, x>) (bias off) is its own torch.nn.Module (two
bias-free nn.Linear layers), trained one after another by torch.optim.SGD on the logistic loss
L = (1/n) sum_j log(1 + e^{-y_j N(x_j)}) (torch's soft_margin_loss) with full-batch steps. Started from
the same W(0), u(0) and data as numerics.train, it follows the same GD trajectory up to rounding.
"""

from __future__ import annotations

import torch
from torch import nn

from numerics.model import Network
from theory.parameters import ParameterError, validate

__all__ = ["train_baseline", "two_layer_module"]


def two_layer_module(w: torch.Tensor, u: torch.Tensor) -> nn.Sequential:
    """nn.Sequential(Linear(d, m), ReLU, Linear(m, 1)), bias-free, holding copies of w (m, d), u (m,)."""
    m, d = w.shape
    # Built on the meta device, so nn.Linear's own random init neither runs nor draws from torch's RNG.
    hidden, readout = nn.Linear(d, m, bias=False, device="meta"), nn.Linear(m, 1, bias=False, device="meta")
    hidden.weight = nn.Parameter(w.detach().clone())
    readout.weight = nn.Parameter(u.detach().clone().unsqueeze(0))
    return nn.Sequential(hidden, nn.ReLU(), readout)


def train_baseline(net0: Network, X: torch.Tensor, y: torch.Tensor, *, lr: float, steps: int) -> Network:
    """Train run r = 0..R-1 of `net0` on (X[r], y[r]) alone: `steps` full-batch SGD steps
    theta <- theta - lr grad L(theta), the gradient from autograd. Returns the R trained networks.

    Args:
        net0: R networks with b = 0 (the baseline has no bias), W (R, m, d), u (R, m).
        X, y: points (R, n, d) and labels (R, n) in {-1, +1}, the networks' dtype and device.
        lr: step size eta.
        steps: number of updates T.
    """
    validate(lr=lr, steps=steps)
    if bool(net0.b.ne(0).any()):
        raise ParameterError("net0.b is invalid: the baseline networks have no bias (expected b = 0)")
    W, u = torch.empty_like(net0.W), torch.empty_like(net0.u)
    for r in range(net0.runs):
        module = two_layer_module(net0.W[r], net0.u[r])
        optimizer = torch.optim.SGD(module.parameters(), lr=lr)
        for _ in range(steps):
            optimizer.zero_grad()
            loss = nn.functional.soft_margin_loss(module(X[r]).squeeze(1), y[r])
            loss.backward()
            optimizer.step()
        hidden, readout = module.parameters()
        with torch.no_grad():
            W[r], u[r] = hidden, readout.squeeze(0)
    return Network(W, torch.zeros_like(net0.b), u)
