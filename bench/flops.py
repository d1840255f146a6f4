"""Floating-point work of the batched trainer, counted analytically, and the machine's peak matmul rate.

One full-batch GD step of R networks (X (R, n, d), W (R, m, d), u (R, m), bias off, output trained)
does, with h = X W^T and c_j = dL/dN(x_j) (numerics.gradients):
    forward   h = X W^T                  2 R n m d   (matmul)
              N = relu(h) u              2 R n m     (matmul)
    backward  dL/dW = (c u 1[h>0])^T X   2 R m n d   (matmul)
              dL/du = c^T relu(h)        2 R n m     (matmul)
    elementwise: relu R n m, the mask times u times c 3 R n m (sign, two products), the GD update
              theta - eta grad 2 R m (d + 1) (no weight decay), and O(R n) for the loss derivative (not
              counted).
The two R n m d matmuls dominate: the rest is a fraction 2/d + 1/(2n) of them. A trained bias would add
R n m (its sum) plus 2 R m (update); it is counted when asked for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from theory.parameters import validate
from verify.commands.options import validate_options

__all__ = ["peak_matmul_gflops", "step_flops", "StepFlops", "synchronize", "training_flops"]


@dataclass(frozen=True)
class StepFlops:
    """Floating-point operations of one trainer step, split into matmul and elementwise work."""

    matmul: int  # the four (batched) matrix products: 4 R n m d + 4 R n m
    elementwise: int  # relu, the backward mask, the update (and the bias terms if trained)

    @property
    def total(self) -> int:
        return self.matmul + self.elementwise


def step_flops(R: int, n: int, m: int, d: int, *, bias: bool = False, output: bool = True) -> StepFlops:
    """FLOPs of one full-batch GD step of the batched trainer (module docstring): matmul
    4 R n m d + 2 R n m (+ 2 R n m for dL/du), elementwise 4 R n m + 2 R m d (+ 2 R m, + R n m + 2 R m)."""
    validate(R=R, n=n, m=m, d=d)
    matmul = 4 * R * n * m * d + 2 * R * n * m + (2 * R * n * m if output else 0)
    elementwise = 4 * R * n * m + 2 * R * m * d
    if output:
        elementwise += 2 * R * m
    if bias:
        elementwise += R * n * m + 2 * R * m
    return StepFlops(matmul=matmul, elementwise=elementwise)


def training_flops(R: int, n: int, m: int, d: int, steps: int, **kwargs: bool) -> int:
    """FLOPs of `steps` GD steps: steps * step_flops(...).total (the final evaluation is not counted)."""
    validate(steps=steps)
    return steps * step_flops(R, n, m, d, **kwargs).total


def peak_matmul_gflops(
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
    *,
    size: int = 2048,
    repeats: int = 5,
) -> float:
    """The best rate 2 size^3 / t (GFLOP/s) of `repeats` square products torch.matmul(A, B, out=C).

    The best, not the median, of the repeats: the peak is what the machine can do, and every disturbance
    (another process, a page fault) only slows a repeat down.
    """
    validate_options(peak_size=size, repeats=repeats)
    gen = torch.Generator(device="cpu").manual_seed(0)
    A, B = (torch.randn(size, size, generator=gen, dtype=dtype).to(device) for _ in range(2))
    C = torch.empty_like(A)
    torch.matmul(A, B, out=C)  # warm-up: thread pool, packing buffers, first-touch pages
    best = float("inf")
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        torch.matmul(A, B, out=C)
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def synchronize(device: str | torch.device) -> None:
    """Wait for the device's queued work (a no-op on the CPU), so a timer around it measures the work."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)
