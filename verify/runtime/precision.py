"""The default dtype of a run: float64 for every quantity compared against theory, restored afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["float64_default"]


@contextlib.contextmanager
def float64_default() -> Iterator[None]:
    """Make float64 torch's default dtype inside the block and restore the caller's default after it.

    Runs inline in the caller's process (tests, notebooks, `verify audit` beside a user's own float32 model),
    so a global left at float64 would change the dtype of the caller's next `nn.Linear`.
    """
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)
