"""Batched three-layer ReLU networks N(x) = sum_i v_i relu(<a_i, relu(W x + b)> + c_i), trained by GD.

An assumption-violation study (paper notes, "Where the assumptions break": deeper networks). Shapes:
R runs, n points, m1 first-layer and m2 second-layer neurons, d inputs. W (R, m1, d), b (R, m1),
A (R, m2, m1) with rows a_i, c (R, m2), v (R, m2); points X (R, p, d).

Gradients are hand-written (backpropagation, checked against autograd in tests/numerics/test_deep.py).
With h1 = W x + b, h2 = A relu(h1) + c and the loss derivative e_j = (1/n) loss'(y_j N(x_j)) y_j:
    dL/dv = sum_j e_j relu(h2_j),   dL/dA = sum_j delta2_j relu(h1_j)^T,   delta2_j = e_j v * 1[h2_j > 0],
    dL/dW = sum_j delta1_j x_j^T,   delta1_j = (A^T delta2_j) * 1[h1_j > 0].
So dL/dW is again a combination of the data points x_j: the first layer keeps R1's invariance
Pi W(T) = Pi W(0) under GD (derived here exactly as for two layers; the deeper layers are irrelevant).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from numerics.losses import LOSSES, empirical_loss, loss_derivative
from numerics.measure import batch_points, project
from theory.parameters import ParameterError, choice, validate

__all__ = [
    "DeepFlip",
    "DeepGradients",
    "DeepInitConfig",
    "DeepNetwork",
    "DeepTrainResult",
    "first_layer_backward",
    "forward",
    "initialize_deep",
    "input_gradient",
    "loss_and_gradients",
    "projected_flip",
    "train_deep",
]


@dataclass(frozen=True)
class DeepInitConfig:
    """How a batch of three-layer networks is initialized."""

    m1: int = 64  # first-layer width
    m2: int = 64  # second-layer width
    s_w: float = 1.0  # first layer: w_i ~ N(0, s_w^2/d I), as the two-layer model
    s_a: float = math.sqrt(2.0)  # second layer: A entries ~ N(0, s_a^2/m1) (He: keeps the scale of h)
    s_v: float = 1.0  # output layer: v_i = +-s_v/sqrt(m2) with random signs

    def __post_init__(self) -> None:
        validate(m1=self.m1, m2=self.m2, s_w=self.s_w, s_a=self.s_a, s_v=self.s_v)


@dataclass
class DeepNetwork:
    """R three-layer ReLU networks: W (R, m1, d), b (R, m1), A (R, m2, m1), c (R, m2), v (R, m2)."""

    W: torch.Tensor
    b: torch.Tensor
    A: torch.Tensor
    c: torch.Tensor
    v: torch.Tensor

    @property
    def runs(self) -> int:
        return self.W.shape[0]

    @property
    def dim(self) -> int:
        return self.W.shape[2]

    def clone(self) -> DeepNetwork:
        return DeepNetwork(*(t.clone() for t in self.tensors()))

    def tensors(self) -> tuple[torch.Tensor, ...]:
        return self.W, self.b, self.A, self.c, self.v

    def select(self, index: torch.Tensor | slice | list[int]) -> DeepNetwork:
        """The sub-batch of runs at `index`."""
        return DeepNetwork(*(t[index] for t in self.tensors()))


def initialize_deep(
    config: DeepInitConfig, d: int, runs: int, *, seed: int, device: str | torch.device = "cpu"
) -> DeepNetwork:
    """Draw `runs` independent networks on R^d (biases b = c = 0) from one seeded CPU generator, float64."""
    validate(d=d, runs=runs, seed=seed)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    f64 = torch.float64
    W = torch.randn(runs, config.m1, d, generator=gen, dtype=f64) * (config.s_w / math.sqrt(d))
    A = torch.randn(runs, config.m2, config.m1, generator=gen, dtype=f64) * (
        config.s_a / math.sqrt(config.m1)
    )
    signs = torch.randint(0, 2, (runs, config.m2), generator=gen).to(f64) * 2 - 1
    v = signs * (config.s_v / math.sqrt(config.m2))
    b, c = torch.zeros(runs, config.m1, dtype=f64), torch.zeros(runs, config.m2, dtype=f64)
    return DeepNetwork(*(t.to(device) for t in (W, b, A, c, v)))


def _layers(net: DeepNetwork, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(h1 (R, p, m1), relu(h1), h2 (R, p, m2)) for points X (R, p, d)."""
    h1 = torch.baddbmm(net.b.unsqueeze(1), X, net.W.transpose(1, 2))
    a1 = torch.relu(h1)
    return h1, a1, torch.baddbmm(net.c.unsqueeze(1), a1, net.A.transpose(1, 2))


def forward(net: DeepNetwork, X: torch.Tensor) -> torch.Tensor:
    """N(x_p) = sum_i v_i relu(h2_i(x_p)) for every run and point: X (R, p, d) or (p, d) -> (R, p)."""
    _, _, h2 = _layers(net, batch_points(net, X))  # type: ignore[arg-type]
    return torch.bmm(torch.relu(h2), net.v.unsqueeze(2)).squeeze(2)


def first_layer_backward(net: DeepNetwork, X: torch.Tensor) -> torch.Tensor:
    """z(x) = 1[h1 > 0] * (A^T (v * 1[h2 > 0])), so that grad_x N(x) = W^T z(x): (R, p, m1).

    The analogue of sum_{i in I} u_i e_i for two layers: g = Pi grad_x N = (Pi W)^T z.
    """
    h1, _, h2 = _layers(net, batch_points(net, X))  # type: ignore[arg-type]
    delta2 = (h2 > 0).to(X.dtype) * net.v.unsqueeze(1)
    return torch.bmm(delta2, net.A) * (h1 > 0).to(X.dtype)


def input_gradient(net: DeepNetwork, X: torch.Tensor) -> torch.Tensor:
    """grad_x N(x_p) = W^T z(x_p) (see `first_layer_backward`): X (R, p, d) or (p, d) -> (R, p, d)."""
    return torch.bmm(first_layer_backward(net, X), net.W)


@dataclass
class DeepGradients:
    """The empirical loss of each run and its gradients (None for parameters that are not trained)."""

    loss: torch.Tensor  # (R,)
    W: torch.Tensor
    b: torch.Tensor | None
    A: torch.Tensor
    c: torch.Tensor | None
    v: torch.Tensor


def loss_and_gradients(
    net: DeepNetwork, X: torch.Tensor, y: torch.Tensor, loss: str = "logistic", *, bias: bool = False
) -> DeepGradients:
    """L = (1/n) sum_j loss(y_j N(x_j)) and its hand-written gradients (module docstring), X (R, n, d)."""
    choice("loss", loss, LOSSES)
    n = X.shape[1]
    h1, a1, h2 = _layers(net, X)
    a2 = torch.relu(h2)
    outputs = torch.bmm(a2, net.v.unsqueeze(2)).squeeze(2)
    e = loss_derivative(loss, y * outputs) * y / n  # dL/dN(x_j)
    delta2 = (h2 > 0).to(X.dtype) * net.v.unsqueeze(1) * e.unsqueeze(2)  # (R, n, m2)
    delta1 = torch.bmm(delta2, net.A) * (h1 > 0).to(X.dtype)  # (R, n, m1)
    return DeepGradients(
        loss=empirical_loss(loss, outputs, y),
        W=torch.bmm(delta1.transpose(1, 2), X),
        b=delta1.sum(1) if bias else None,
        A=torch.bmm(delta2.transpose(1, 2), a1),
        c=delta2.sum(1) if bias else None,
        v=torch.bmm(e.unsqueeze(1), a2).squeeze(1),
    )


@dataclass
class DeepTrainResult:
    """Trained three-layer networks, their starting point, and per-run outcomes (R,)."""

    net: DeepNetwork
    net0: DeepNetwork
    finite: torch.Tensor  # (R,) bool: every parameter stayed finite (a non-finite run is frozen)
    final_loss: torch.Tensor  # (R,)
    train_accuracy: torch.Tensor  # (R,) fraction of j with y_j N(x_j) > 0


def train_deep(
    net0: DeepNetwork,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    lr: float,
    steps: int,
    loss: str = "logistic",
    train_bias: bool = False,
) -> DeepTrainResult:
    """Full-batch GD theta <- theta - lr dL/dtheta on every layer, for `steps` steps, all R runs at once.

    No weight decay, so R1's factor is c_T = 1 for the first layer. A run whose update is not finite
    keeps its last finite parameters and is flagged (never affects the others).
    """
    validate(lr=lr, steps=steps)
    if X.ndim != 3 or X.shape[0] != net0.runs or X.shape[2] != net0.dim or y.shape != X.shape[:2]:
        raise ParameterError(f"X of shape {tuple(X.shape)} is invalid: expected ({net0.runs}, n, {net0.dim})")
    net = net0.clone()
    finite = torch.ones(net.runs, dtype=torch.bool, device=X.device)
    for _ in range(steps):
        grads = loss_and_gradients(net, X, y, loss, bias=train_bias)
        new = DeepNetwork(
            net.W - lr * grads.W,
            net.b if grads.b is None else net.b - lr * grads.b,
            net.A - lr * grads.A,
            net.c if grads.c is None else net.c - lr * grads.c,
            net.v - lr * grads.v,
        )
        ok = torch.stack([t.flatten(1).sum(1) for t in new.tensors()]).isfinite().all(0) & finite
        finite &= ok
        keep = ~ok
        for t_new, t_old in zip(new.tensors(), net.tensors(), strict=True):
            t_new[keep] = t_old[keep]
        net = new
    outputs = forward(net, X)
    return DeepTrainResult(
        net, net0.clone(), finite, empirical_loss(loss, outputs, y), ((y * outputs) > 0).to(X.dtype).mean(1)
    )


@dataclass
class DeepFlip:
    """A verified sign-flipping perturbation per run and point."""

    delta: torch.Tensor  # (R, p, d) in range(projector); zeros where none was found
    norm: torch.Tensor  # (R, p) ||delta||; inf where none was found
    success: torch.Tensor  # (R, p) bool: N(x0) N(x0 + delta) < 0 by a forward pass


def projected_flip(
    net: DeepNetwork, X0: torch.Tensor, projector: torch.Tensor, *, max_iter: int = 50, bisections: int = 60
) -> DeepFlip:
    """A flip within range(projector) (Pi: orthogonal to P; B B^T: on P) by DeepFool, shortened by bisection.

    DeepFool steps r <- r - 1.02 N(x)/||P grad||^2 P grad (2 % overshoot, as in DeepFool) until
    sign N(x0 + r) = -sign N(x0); then a sign change along r/||r|| is bracketed by bisection on [0, ||r||],
    keeping an upper bracket where the sign is flipped. So `norm` is an upper bound on the minimal flip
    radius within range(projector), and every reported flip is verified by a forward pass.
    """
    validate(max_iter=max_iter, bisections=bisections)
    X0 = batch_points(net, X0)  # type: ignore[arg-type]
    sigma = torch.sign(forward(net, X0))
    r = torch.zeros_like(X0)
    for _ in range(max_iter):
        fx = forward(net, X0 + r)
        flipped = sigma * fx < 0
        if bool(flipped.all()):
            break
        pg = project(input_gradient(net, X0 + r), projector)
        pg_sq = pg.square().sum(-1, keepdim=True)
        step = -1.02 * fx.unsqueeze(-1) / torch.where(pg_sq > 0, pg_sq, torch.ones_like(pg_sq)) * pg
        r = torch.where(flipped.unsqueeze(-1) | (pg_sq == 0), r, r + step)
    flipped = sigma * forward(net, X0 + r) < 0
    norm = r.norm(dim=-1)
    unit = r / torch.where(norm > 0, norm, torch.ones_like(norm)).unsqueeze(-1)
    low, high = torch.zeros_like(norm), norm.clone()
    for _ in range(bisections):  # invariant (where flipped): N(x0 + high unit) has the flipped sign
        mid = (low + high) / 2
        beyond = sigma * forward(net, X0 + mid.unsqueeze(-1) * unit) < 0
        high = torch.where(beyond, mid, high)
        low = torch.where(beyond, low, mid)
    delta = high.unsqueeze(-1) * unit
    success = flipped & (sigma * forward(net, X0 + delta) < 0)
    delta = torch.where(success.unsqueeze(-1), delta, torch.zeros_like(delta))
    return DeepFlip(delta, torch.where(success, delta.norm(dim=-1), torch.full_like(high, math.inf)), success)
