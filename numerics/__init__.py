"""Empirical half of offsub: subspace data, batched two-layer ReLU networks trained in PyTorch,
the measurements the theorems speak about, and the attacks.

Shapes used throughout: R independent runs, m neurons, d input dimensions, p points.
`W (R, m, d)`, `b (R, m)`, `u (R, m)`, points `X (R, p, d)`, outputs `(R, p)`.
"""

__all__: list[str] = []
