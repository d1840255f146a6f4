"""A stand-in for a CUDA device on machines without one, to catch device misuse in CPU-only CI.

Inside `simulated_cuda()`, a tensor created or moved to "cuda" stays in CPU memory but says it is on
cuda:0, and every operation real CUDA refuses raises DeviceMisuse instead: an operation mixing a CUDA tensor
with a CPU tensor that is not 0-dimensional, a CPU tensor indexed by a CUDA index or mask, `.numpy()` or
`np.asarray` of a CUDA tensor, a CPU generator drawing CUDA tensors. Numbers are the CPU's: only the device
placement is simulated, not CUDA's kernels or rounding.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch.overrides import TorchFunctionMode

CUDA, CPU = torch.device("cuda", 0), torch.device("cpu")


class DeviceMisuse(RuntimeError):
    """What real CUDA would have raised."""


class _OnCuda(torch.Tensor):
    """A CPU tensor marked as living on cuda:0 (the mode below gives it its CUDA behaviour)."""

    __torch_function__ = torch._C._disabled_torch_function_impl


def _mark(value):
    if isinstance(value, torch.Tensor) and not isinstance(value, (_OnCuda, torch.nn.Parameter)):
        return value.as_subclass(_OnCuda)
    if isinstance(value, (tuple, list)):
        marked = [_mark(v) for v in value]
        return type(value)(*marked) if hasattr(value, "_fields") else type(value)(marked)
    return value


def _plain(value):
    if isinstance(value, _OnCuda):
        return value.as_subclass(torch.Tensor)
    if isinstance(value, (tuple, list)):
        plain = [_plain(v) for v in value]
        return type(value)(*plain) if hasattr(value, "_fields") else type(value)(plain)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _tensors(value, found: list[torch.Tensor]) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        found.append(value)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _tensors(v, found)
    elif isinstance(value, dict):
        for v in value.values():
            _tensors(v, found)
    return found


def _is_cuda_name(device) -> bool | None:
    """True for a CUDA device, False for another one, None when `device` names none."""
    if isinstance(device, str):
        return device.startswith("cuda")
    if isinstance(device, torch.device):
        return device.type == "cuda"
    return None


def _name(func) -> str:
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
    return name.replace("_TensorBase.", "Tensor.").replace(
        "TensorBase.", "Tensor."
    )  # older torch: _TensorBase


class _SimulatedCuda(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        name, owner = _name(func), getattr(func, "__self__", None)
        if owner is torch.Tensor.device:
            return CUDA if isinstance(args[0], _OnCuda) else CPU
        if owner is torch.Tensor.is_cuda:
            return isinstance(args[0], _OnCuda)
        if name in ("Tensor.numpy", "Tensor.__array__"):
            if isinstance(args[0], _OnCuda):
                raise DeviceMisuse(f"{name} of a CUDA tensor (call .cpu() first)")
            return func(*_plain(args), **kwargs)
        if name == "Tensor.cpu":
            return func(*_plain(args), **kwargs)
        if name == "Tensor.cuda":
            return _mark(_plain(args[0]).clone())
        to_cuda = None  # where the result goes when the call says so: True cuda, False cpu
        if _is_cuda_name(kwargs.get("device")) is not None:
            to_cuda = _is_cuda_name(kwargs["device"])
            kwargs["device"] = "cpu"
        if name == "Tensor.to":
            rest = []
            for a in args[1:]:
                if _is_cuda_name(a) is not None:
                    to_cuda, a = _is_cuda_name(a), "cpu"
                elif isinstance(a, torch.Tensor):
                    to_cuda, a = isinstance(a, _OnCuda), _plain(a)
                rest.append(a)
            args = (args[0], *rest)
        if name.startswith("Tensor.new_") and to_cuda is None:
            to_cuda = isinstance(args[0], _OnCuda)
        tensors = _tensors([args, kwargs], [])
        on_cuda = [t for t in tensors if isinstance(t, _OnCuda)]
        on_cpu = [t for t in tensors if not isinstance(t, _OnCuda) and t.dim() > 0]
        result_on_cuda = to_cuda if to_cuda is not None else bool(on_cuda)
        generator = kwargs.get("generator")
        if generator is not None and result_on_cuda and generator.device.type == "cpu":
            raise DeviceMisuse(f"{name}: a CPU generator cannot draw CUDA tensors")
        if on_cuda and on_cpu and to_cuda is None:
            if name in ("Tensor.__getitem__", "Tensor.__setitem__"):
                if not isinstance(args[0], _OnCuda):
                    raise DeviceMisuse(f"{name}: a CPU tensor indexed by or assigned from a CUDA tensor")
            elif name != "Tensor.copy_":  # copies may cross devices (.to, .cpu, .cuda are handled above)
                shapes = [(tuple(t.shape), "cuda" if isinstance(t, _OnCuda) else "cpu") for t in tensors]
                raise DeviceMisuse(f"{name} mixes devices: {shapes[:4]}")
        result = func(*_plain(args), **_plain(kwargs))
        if name.endswith("_") and not name.endswith("__") and args and isinstance(args[0], torch.Tensor):
            return args[0]  # an in-place method returns self: keep its identity and its device
        return _mark(result) if result_on_cuda else result


@contextmanager
def simulated_cuda() -> Iterator[None]:
    """Run the body with "cuda" simulated on the CPU (module docstring)."""
    with _SimulatedCuda():
        yield
