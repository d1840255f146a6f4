"""Hand-written batched gradients of the empirical loss L = (1/n) sum_j loss(y_j N(x_j)) (no weight decay).

With h_ji = <w_i, x_j> + b_i and c_j = (1/n) loss'(y_j N(x_j)) y_j (derived by the chain rule):
    dL/du_i = sum_j c_j relu(h_ji),
    dL/dw_i = sum_j c_j u_i 1[h_ji > 0] x_j   (a combination of the x_j, hence in P: result R1),
    dL/db_i = sum_j c_j u_i 1[h_ji > 0].
One forward pass gives both the outputs N(x_j) and the activation mask reused by the backward pass.
Shapes: X (R, n, d), y (R, n), W (R, m, d), b and u (R, m).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from numerics.losses import LOSSES, loss_derivative, loss_value
from numerics.model import Network
from theory.parameters import choice


@dataclass
class LossGradients:
    """The empirical loss of each run, the outputs it was computed from, and its gradients."""

    outputs: torch.Tensor  # (R, n) N(x_j)
    loss: torch.Tensor  # (R,) L = (1/n) sum_j loss(y_j N(x_j))
    W: torch.Tensor  # (R, m, d) dL/dW
    b: torch.Tensor | None  # (R, m) dL/db, None when the bias is not trained
    u: torch.Tensor | None  # (R, m) dL/du, None when the output layer is not trained


class Workspace:
    """Reusable tensors for a hot loop: one per (name, shape), allocated on first use only."""

    def __init__(self) -> None:
        self._tensors: dict[tuple, torch.Tensor] = {}

    def get(self, name: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        key = (name, shape, like.dtype, like.device)
        tensor = self._tensors.get(key)
        if tensor is None:
            tensor = self._tensors[key] = torch.empty(shape, dtype=like.dtype, device=like.device)
        return tensor


def loss_and_gradients(
    net: Network,
    X: torch.Tensor,
    y: torch.Tensor,
    loss: str = "logistic",
    *,
    bias: bool = True,
    output: bool = True,
    workspace: Workspace | None = None,
) -> LossGradients:
    """L and (dL/dW, dL/db, dL/du) for every run, from one forward pass (no autograd).

    Args:
        net: R networks, W (R, m, d).
        X, y: points (R, n, d) and labels (R, n).
        loss: one of LOSSES.
        bias, output: whether dL/db and dL/du are wanted (None in the result otherwise).
        workspace: if given, the large intermediates and dL/dW are written into its tensors, which the
            next call with the same workspace overwrites.
    Returns:
        LossGradients with outputs (R, n), loss (R,), W (R, m, d), b and u (R, m) or None.
    """
    choice("loss", loss, LOSSES)
    ws = workspace if workspace is not None else Workspace()
    R, n, d = X.shape
    m = net.W.shape[1]
    # relu(h) overwrites h in place; h > 0 and relu(h) > 0 are the same mask, so nothing else is kept.
    act = torch.baddbmm(net.b.unsqueeze(1), X, net.W.transpose(1, 2), out=ws.get("act", (R, n, m), X))
    act.relu_()
    outputs = torch.bmm(act, net.u.unsqueeze(2)).squeeze(2)
    margins = y * outputs
    c = loss_derivative(loss, margins) * y / n  # dL/dN(x_j)
    grad_u = torch.bmm(c.unsqueeze(1), act).squeeze(1) if output else None
    # dL/dh_ji = c_j u_i 1[h_ji > 0]; sign(relu(h)) is that indicator (0 at h = 0, as autograd's relu).
    dh = torch.sign(act, out=ws.get("dh", (R, n, m), X))
    dh.mul_(net.u.unsqueeze(1)).mul_(c.unsqueeze(2))
    grad_W = torch.bmm(dh.transpose(1, 2), X, out=ws.get("grad_W", (R, m, d), X))
    grad_b = dh.sum(dim=1) if bias else None
    return LossGradients(outputs, loss_value(loss, margins).mean(dim=1), grad_W, grad_b, grad_u)
