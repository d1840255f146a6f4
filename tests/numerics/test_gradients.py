"""Hand-written batched gradients against torch.autograd."""

from __future__ import annotations

import itertools

import pytest
import torch

from numerics.gradients import Workspace, loss_and_gradients
from numerics.losses import LOSSES, empirical_loss
from numerics.model import Network, forward
from numerics.subspace import make_subspace

R, N, M, D = 3, 7, 6, 5


def _problem(seed: int, bias: bool) -> tuple[Network, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)

    def normal(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    b = normal(R, M) * 0.5 if bias else torch.zeros(R, M, dtype=torch.float64)
    b[:, 0] = 0.0
    net = Network(normal(R, M, D), b, normal(R, M))
    X = normal(R, N, D)
    X[1, 0] = 0.0  # h = 0 at neuron 0: dL/db_0 then follows relu'(0) = 0, autograd's convention
    y = torch.where(torch.rand(R, N, generator=gen) < 0.5, -1.0, 1.0).to(torch.float64)
    return net, X, y


def _autograd(net: Network, X: torch.Tensor, y: torch.Tensor, loss: str) -> tuple[torch.Tensor, ...]:
    """Reference: autograd through model.forward and the empirical loss (a different route)."""
    params = [p.clone().requires_grad_(True) for p in (net.W, net.b, net.u)]
    L = empirical_loss(loss, forward(Network(*params), X), y)
    grads = torch.autograd.grad(L.sum(), params)  # runs are independent: the sum separates them
    return (L.detach(), *grads)


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize(("loss", "bias"), list(itertools.product(LOSSES, [True, False])))
def test_gradients_match_autograd(loss: str, bias: bool) -> None:
    # 1e-12 relative (norm-wise) in float64: both routes sum the same n*m terms in different orders, so
    # they agree to a few hundred ulps at most; an error in any term of the chain rule is O(1).
    net, X, y = _problem(seed=len(loss) + bias, bias=bias)
    L, gW, gb, gu = _autograd(net, X, y, loss)
    got = loss_and_gradients(net, X, y, loss, bias=bias, output=True)
    assert got.outputs.shape == (R, N) and got.loss.shape == (R,)
    assert _relative(got.loss, L) <= 1e-12
    assert _relative(got.W, gW) <= 1e-12
    assert got.u is not None and _relative(got.u, gu) <= 1e-12
    if bias:
        assert got.b is not None and _relative(got.b, gb) <= 1e-12
    else:
        assert got.b is None


def test_untrained_layers_are_skipped_and_a_workspace_changes_nothing() -> None:
    net, X, y = _problem(seed=0, bias=True)
    plain = loss_and_gradients(net, X, y, "logistic", bias=False, output=False)
    assert plain.b is None and plain.u is None
    ws = Workspace()
    for _ in range(2):  # the second call reuses the first call's tensors
        reused = loss_and_gradients(net, X, y, "logistic", bias=False, output=False, workspace=ws)
        assert torch.equal(reused.W, plain.W) and torch.equal(reused.outputs, plain.outputs)


def test_hidden_gradient_lies_in_the_data_subspace() -> None:
    # R1's premise: dL/dw_i is a combination of the x_j, so Pi dL/dw_i vanishes up to rounding.
    P = make_subspace(D, 2, seed=1)
    net, Z, y = _problem(seed=2, bias=True)
    X = P.embed(Z[..., : P.r])
    g = loss_and_gradients(net, X, y, "logistic").W
    assert P.project_perp(g).norm() <= 1e-14 * g.norm()
    assert g.norm() > 0
