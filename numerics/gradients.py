"""Hand-written batched gradients of the empirical loss L = (1/n) sum_j loss(y_j N(x_j)) (no weight decay).

With h_ji = <w_i, x_j> + b_i and c_j = (1/n) loss'(y_j N(x_j)) y_j (derived by the chain rule):
    dL/du_i = sum_j c_j relu(h_ji),
    dL/dw_i = sum_j c_j u_i 1[h_ji > 0] x_j   (a combination of the x_j, hence in P: result R1),
    dL/db_i = sum_j c_j u_i 1[h_ji > 0].
One forward pass gives both the outputs N(x_j) and the activation mask reused by the backward pass.
Shapes: X (R, n, d), y (R, n), W (R, m, d), b and u (R, m). The pass works on h^T (R, m, n) = W X^T:
with X^T stored contiguous that product is ~20% faster than X W^T on MKL (both layouts of dL/dW's
product are equally fast), and the large step is two such products.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch

from numerics.losses import LOSSES, loss_derivative, loss_value
from numerics.model import Network
from theory.parameters import choice

__all__ = ["loss_and_gradients", "LossGradients", "Workspace"]


@dataclass
class LossGradients:
    """The empirical loss of each run, the outputs it was computed from, and its gradients."""

    outputs: torch.Tensor  # (R, n) N(x_j)
    margins: torch.Tensor  # (R, n) y_j N(x_j)
    loss_name: str  # which loss L averages
    W: torch.Tensor | None  # (R, m, d) dL/dW; None with weights=False (it is then dh^T X)
    b: torch.Tensor | None  # (R, m) dL/db, None when the bias is not trained
    u: torch.Tensor | None  # (R, m) dL/du, None when the output layer is not trained
    dh_T: (
        torch.Tensor
    )  # (R, m, n) dL/dh_ji = c_j u_i 1[h_ji > 0] at [r, i, j]: what the backward pass sends to W
    dN: torch.Tensor  # (R, n) c_j = dL/dN(x_j)

    @cached_property
    def loss(self) -> torch.Tensor:
        """(R,) L = (1/n) sum_j loss(y_j N(x_j)), evaluated on first use (a training step rarely needs it)."""
        return loss_value(self.loss_name, self.margins).mean(dim=1)


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
    weights: bool = True,
    workspace: Workspace | None = None,
    X_T: torch.Tensor | None = None,
    add_bias: bool | None = None,
) -> LossGradients:
    """L and (dL/dW, dL/db, dL/du) for every run, from one forward pass (no autograd).

    Args:
        net: R networks, W (R, m, d).
        X, y: points (R, n, d) and labels (R, n).
        loss: one of LOSSES.
        bias, output: whether dL/db and dL/du are wanted (None in the result otherwise).
        weights: whether dL/dW = dh^T X is formed; False leaves it to the caller, who can fuse it into an
            update with one baddbmm (numerics.train does, for gd/sgd/flow).
        X_T: X.transpose(1, 2).contiguous(), if the caller keeps one across calls (the forward product is
            faster with it); by default a transposed view of X. MKL picks another kernel for the view, so
            the two can differ in the last bits; a caller wanting the same bits always passes X_T.
        add_bias: whether h includes b; False is only allowed when b = 0 (h + 0 = h). None decides from
            `bias` and b itself, which on a GPU waits for the device: a hot loop decides once.
        workspace: if given, the large intermediates (dh_T) and dL/dW are written into its tensors, which
            the next call with the same workspace overwrites.
    Returns:
        LossGradients with outputs and margins (R, n), loss (R,), W (R, m, d) or None, b and u (R, m) or
        None, dh_T (R, m, n), dN (R, n).
    """
    choice("loss", loss, LOSSES)
    ws = workspace if workspace is not None else Workspace()
    R, n, d = X.shape
    m = net.W.shape[1]
    X_T = X.transpose(1, 2) if X_T is None else X_T
    # One (R, m, n) buffer holds h^T, then relu(h)^T, then dL/dh^T: h > 0 and relu(h) > 0 are the same mask.
    act = ws.get("act", (R, m, n), X)
    if add_bias is None:
        add_bias = bias or bool(net.b.any())
    if add_bias:
        torch.baddbmm(net.b.unsqueeze(2), net.W, X_T, out=act)
    else:  # b = 0 and untrained: h + 0 = h, without baddbmm's broadcast copy of b into the output first
        torch.bmm(net.W, X_T, out=act)
    act.relu_()
    # Row vectors times matrices: MKL's batched row-times-matrix is ~4x faster than matrix-times-column.
    outputs = torch.bmm(net.u.unsqueeze(1), act).squeeze(1)
    margins = y * outputs
    c = loss_derivative(loss, margins).mul_(y).div_(n)  # dL/dN(x_j)
    grad_u = torch.bmm(c.unsqueeze(1), act.transpose(1, 2)).squeeze(1) if output else None
    # dL/dh_ji = c_j u_i 1[h_ji > 0]; sign(relu(h)) is that indicator (0 at h = 0, as autograd's relu).
    dh_T = act.sign_().mul_(net.u.unsqueeze(2)).mul_(c.unsqueeze(1))
    grad_W = torch.bmm(dh_T, X, out=ws.get("grad_W", (R, m, d), X)) if weights else None
    grad_b = dh_T.sum(dim=2) if bias else None
    return LossGradients(outputs, margins, loss, grad_W, grad_b, grad_u, dh_T, c)
