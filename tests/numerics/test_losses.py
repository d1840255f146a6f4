"""Margin losses: values and derivatives against mpmath at 50 digits, and against autograd."""

from __future__ import annotations

import mpmath
import pytest
import torch

from numerics.losses import LOSSES, empirical_loss, loss_derivative, loss_value
from theory.parameters import ParameterError

Z = torch.tensor([-700.0, -40.0, -3.5, -1e-3, 0.0, 1e-8, 0.7, 2.0, 25.0, 40.0, 700.0], dtype=torch.float64)


def _exact(name: str, z: float) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(loss(z), loss'(z)) at 50 significant digits."""
    with mpmath.workdps(50):
        z = mpmath.mpf(z)
        if name == "logistic":
            return mpmath.log1p(mpmath.exp(-z)), -1 / (1 + mpmath.exp(z))
        if name == "exponential":
            return mpmath.exp(-z), -mpmath.exp(-z)
        return (1 - z) ** 2 / 2, z - 1


@pytest.mark.parametrize("name", LOSSES)
def test_values_and_derivatives_are_accurate_in_both_tails(name: str) -> None:
    # A few ulps: each is one or two correctly rounded library calls (exp, log1p, sigmoid).
    z = Z if name != "exponential" else Z[1:-1]  # exp(700) is finite but e^{-z} tails are tested already
    value, slope = loss_value(name, z), loss_derivative(name, z)
    for zi, v, s in zip(z.tolist(), value.tolist(), slope.tolist(), strict=True):
        ev, es = _exact(name, zi)
        for got, exact in ((v, ev), (s, es)):
            error = abs(mpmath.mpf(got) - exact)
            assert error <= 8e-16 * abs(exact) or error <= 1e-300, (name, zi, got, exact)


@pytest.mark.parametrize("name", LOSSES)
def test_derivative_matches_autograd(name: str) -> None:
    z = torch.linspace(-30, 30, 101, dtype=torch.float64).requires_grad_(True)
    (auto,) = torch.autograd.grad(loss_value(name, z).sum(), z)
    assert torch.allclose(loss_derivative(name, z.detach()), auto, rtol=1e-13, atol=0)


def test_known_values_and_batched_empirical_loss() -> None:
    zero = torch.zeros(1, dtype=torch.float64)
    assert loss_value("logistic", zero).item() == pytest.approx(0.6931471805599453, rel=1e-15)
    assert loss_value("exponential", zero).item() == 1.0
    assert loss_value("squared", zero + 1).item() == 0.0
    outputs = torch.tensor([[2.0, -1.0], [0.5, 0.5]], dtype=torch.float64)
    y = torch.tensor([[1.0, 1.0], [-1.0, 1.0]], dtype=torch.float64)
    L = empirical_loss("squared", outputs, y)
    assert L.shape == (2,)
    assert torch.allclose(L, torch.tensor([(0.5 + 2.0) / 2, (1.125 + 0.125) / 2], dtype=torch.float64))


def test_unknown_loss_raises() -> None:
    with pytest.raises(ParameterError, match="loss='hinge'.*logistic, exponential, squared"):
        loss_value("hinge", Z)
    with pytest.raises(ParameterError, match="loss"):
        loss_derivative("hinge", Z)
