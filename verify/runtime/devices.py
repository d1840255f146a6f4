"""The accelerator a run asks for: "cpu", "cuda" or "cuda:N", validated against what is present."""

from __future__ import annotations

import re

from theory.parameters import ParameterError

__all__ = ["resolve_device"]


def resolve_device(name: str) -> str:
    """`name` if this machine has it; a one-line ParameterError otherwise."""
    import torch

    if name == "cpu":
        return name
    if name == "cuda" or re.fullmatch(r"cuda:\d+", name):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ParameterError(f"device={name!r} is invalid: no CUDA device is available here (use cpu)")
        index = torch.device(name).index or 0
        if index >= count:
            raise ParameterError(f"device={name!r} is invalid: expected cuda or cuda:0 to cuda:{count - 1}")
        return name
    raise ParameterError(f"device={name!r} is invalid: expected cpu, cuda or cuda:N")
