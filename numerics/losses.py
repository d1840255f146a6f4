"""Margin losses loss(z) of z = y N(x), with numerically stable values and derivatives d loss / d z.

The empirical loss is L = (1/n) sum_j loss(y_j N(x_j)) (paper notes, "Setting"). Every function is
elementwise, so it applies unchanged to batched margins (R, n).
"""

from __future__ import annotations

import torch

from theory.parameters import choice

LOSSES: tuple[str, ...] = ("logistic", "exponential", "squared")


def loss_value(name: str, z: torch.Tensor) -> torch.Tensor:
    """loss(z) elementwise: logistic log(1 + e^{-z}), exponential e^{-z}, squared (1 - z)^2 / 2."""
    choice("loss", name, LOSSES)
    if name == "logistic":
        # log(1 + e^{-z}) = max(-z, 0) + log1p(e^{-|z|}): no overflow, full relative precision for
        # large z (softplus's linear cut-off at 20 loses ~1e-9 relative there).
        return torch.clamp_min(-z, 0) + torch.log1p(torch.exp(-z.abs()))
    if name == "exponential":
        return torch.exp(-z)
    return 0.5 * (1 - z) ** 2


def loss_derivative(name: str, z: torch.Tensor) -> torch.Tensor:
    """loss'(z) elementwise: logistic -1/(1 + e^{z}), exponential -e^{-z}, squared z - 1."""
    choice("loss", name, LOSSES)
    if name == "logistic":
        return -torch.sigmoid(-z)  # torch.sigmoid is stable in both tails
    if name == "exponential":
        return -torch.exp(-z)
    return z - 1


def empirical_loss(name: str, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """L = (1/n) sum_j loss(y_j N(x_j)) per run: outputs and labels (R, n) -> (R,)."""
    return loss_value(name, y * outputs).mean(dim=-1)
