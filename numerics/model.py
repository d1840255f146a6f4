"""Batched two-layer ReLU networks N(x) = sum_i u_i relu(<w_i, x> + b_i) and their initialization.

R independent networks live in one set of tensors: W (R, m, d), b (R, m), u (R, m). Initialization
follows the paper notes: w_i ~ N(0, (s_w beta)^2/d I_d), u_i = +-s_u/sqrt(m) (or N(0, s_u^2/m)), and
b_i = 0 or N(0, s_b^2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from theory.parameters import choice, validate

__all__ = [
    "forward",
    "HIDDEN_INITS",
    "InitConfig",
    "initialize",
    "input_gradient",
    "Network",
    "OUTPUT_INITS",
    "OUTPUT_SCALINGS",
    "preactivations",
]

OUTPUT_INITS = ("sign", "gaussian")
HIDDEN_INITS = ("gaussian", "uniform")
OUTPUT_SCALINGS = ("sqrt", "mean_field")


@dataclass(frozen=True)
class InitConfig:
    """How a batch of networks is initialized (every scale a parameter)."""

    m: int = 100  # width
    s_w: float = 1.0  # hidden weights: w_i ~ N(0, (s_w*beta)^2/d I)
    s_u: float = 1.0  # output weights: |u_i| = s_u/sqrt(m) ("sqrt") or s_u/m ("mean_field")
    s_b: float = 0.0  # bias b_i ~ N(0, s_b^2); 0 means b = 0
    beta: float = 1.0  # "small initialization" multiplier of the hidden scale
    bias: bool = False  # whether the network has (trainable) biases at all
    output_init: str = "sign"  # "sign": u_i = +-s_u/sqrt(m); "gaussian": u_i ~ N(0, s_u^2/m)
    hidden_init: str = "gaussian"  # "uniform": same variance, uniform entries (breaks R3's exact law)
    output_scaling: str = "sqrt"  # "sqrt": 1/sqrt(m); "mean_field": 1/m

    def __post_init__(self) -> None:
        validate(m=self.m, s_w=self.s_w, s_u=self.s_u, s_b=self.s_b, beta=self.beta)
        choice("output_init", self.output_init, OUTPUT_INITS)
        choice("hidden_init", self.hidden_init, HIDDEN_INITS)
        choice("output_scaling", self.output_scaling, OUTPUT_SCALINGS)

    @property
    def hidden_std(self) -> float:
        """Per-entry standard deviation of w_i is hidden_std/sqrt(d)."""
        return self.s_w * self.beta

    @property
    def output_magnitude(self) -> float:
        """|u_i| for sign init (and the std for Gaussian init)."""
        return self.s_u / (math.sqrt(self.m) if self.output_scaling == "sqrt" else self.m)


@dataclass
class Network:
    """R two-layer ReLU networks: W (R, m, d), b (R, m), u (R, m)."""

    W: torch.Tensor
    b: torch.Tensor
    u: torch.Tensor

    @property
    def runs(self) -> int:
        return self.W.shape[0]

    @property
    def width(self) -> int:
        return self.W.shape[1]

    @property
    def dim(self) -> int:
        return self.W.shape[2]

    def clone(self) -> Network:
        return Network(self.W.clone(), self.b.clone(), self.u.clone())

    def select(self, index: torch.Tensor | slice | list[int]) -> Network:
        """The sub-batch of runs at `index`."""
        return Network(self.W[index], self.b[index], self.u[index])

    def to(self, **kwargs) -> Network:
        return Network(self.W.to(**kwargs), self.b.to(**kwargs), self.u.to(**kwargs))


def preactivations(net: Network, X: torch.Tensor) -> torch.Tensor:
    """h_{r,p,i} = <w_i, x_p> + b_i for points X (R, p, d) -> (R, p, m)."""
    return torch.baddbmm(net.b.unsqueeze(1), X, net.W.transpose(1, 2))


def forward(net: Network, X: torch.Tensor) -> torch.Tensor:
    """N(x_p) for every run and point: X (R, p, d) -> (R, p)."""
    return torch.bmm(torch.relu(preactivations(net, X)), net.u.unsqueeze(2)).squeeze(2)


def input_gradient(net: Network, X: torch.Tensor) -> torch.Tensor:
    """grad_x N(x_p) = sum_i u_i 1[h_i > 0] w_i, X (R, p, d) -> (R, p, d)."""
    active = (preactivations(net, X) > 0).to(X.dtype)
    return torch.bmm(active * net.u.unsqueeze(1), net.W)


def initialize(
    config: InitConfig,
    d: int,
    runs: int,
    *,
    seed: int,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> Network:
    """Draw `runs` independent networks of width config.m on R^d from one seeded generator."""
    validate(d=d, runs=runs)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    m = config.m
    std = config.hidden_std / math.sqrt(d)
    if config.hidden_init == "gaussian":
        W = torch.randn(runs, m, d, generator=gen, dtype=torch.float64) * std
    else:  # uniform on [-a, a] with a = sqrt(3) std: the same covariance, not Gaussian
        W = (torch.rand(runs, m, d, generator=gen, dtype=torch.float64) * 2 - 1) * (math.sqrt(3) * std)
    mag = config.output_magnitude
    if config.output_init == "sign":
        u = (torch.randint(0, 2, (runs, m), generator=gen).to(torch.float64) * 2 - 1) * mag
    else:
        u = torch.randn(runs, m, generator=gen, dtype=torch.float64) * mag
    if config.bias and config.s_b > 0:
        b = torch.randn(runs, m, generator=gen, dtype=torch.float64) * config.s_b
    else:
        b = torch.zeros(runs, m, dtype=torch.float64)
    # Drawn on the CPU in float64 so the same seed gives the same network on every device and dtype.
    return Network(W, b, u).to(dtype=dtype, device=device)
