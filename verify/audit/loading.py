"""Files from users -> weights and data, with every check a bad input needs, and nothing else.

A network file is a PyTorch state_dict saved with `torch.save` (read with ``weights_only=True``, so no
object is ever unpickled), a ``.safetensors`` file, or an ``.npz`` with ``W`` (m, d), ``u`` (m,) and
optionally ``b`` (m,) and ``c`` (the output bias). A state_dict qualifies when its ``*.weight`` matrices
chain d -> m -> 1 (or m -> 2: two logits, audited as N = logit_1 - logit_0), each with an optional
``*.bias``, as ``nn.Sequential(nn.Linear(d, m), nn.ReLU(), nn.Linear(m, 1))`` saves them; a chain
d -> m1 -> m2 -> 1 (three layers) is read as a deeper network, for which the audit measures the gradient
split and the attacks only. Anything else is refused with one line naming the file and what was found.

The network is N(x) = sum_i u_i relu(<w_i, x> + b_i) + c: the paper's two-layer network plus the output bias
that `nn.Linear` carries (c moves no gradient and no weight; it only shifts where the sign changes).
Data: ``X`` (n, d) finite and ``y`` (n,) in {-1, +1} or {0, 1} (0 is read as -1).
"""

from __future__ import annotations

import glob
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from theory.parameters import ParameterError

__all__ = [
    "AuditInputError",
    "Data",
    "LoadedNetwork",
    "expand",
    "from_arrays",
    "from_state_dict",
    "load_data",
    "load_network",
    "load_points",
]


class AuditInputError(ParameterError):
    """Bad input to the audit; the message is one line naming the file (or argument) and what was expected."""


def _bad(source: str, why: str) -> AuditInputError:
    return AuditInputError(f"{source}: {why}")


@dataclass(frozen=True)
class LoadedNetwork:
    """One network as float64 arrays. Two layers: W (m, d), b (m,), u (m,), c. Three layers (``deep``):
    W (m1, d), b (m1,), A (m2, m1), a (m2,), u (m2,), c. The original dtype is kept for rounding budgets."""

    source: str
    W: np.ndarray
    b: np.ndarray
    u: np.ndarray
    c: float
    dtype: str  # dtype of the stored weights ("float32", "float64", ...)
    A: np.ndarray | None = None
    a: np.ndarray | None = None

    @property
    def deep(self) -> bool:
        return self.A is not None

    @property
    def d(self) -> int:
        return int(self.W.shape[1])

    @property
    def m(self) -> int:
        return int(self.W.shape[0])

    @property
    def shape(self) -> str:
        """'d -> m -> 1' (or with the second hidden width for three layers)."""
        hidden = [self.m] if self.A is None else [self.m, int(self.A.shape[0])]
        return " -> ".join(str(k) for k in (self.d, *hidden, 1))


@dataclass(frozen=True)
class Data:
    """Training points X (n, d) in float64, labels y (n,) in {-1, +1}, and the file's dtype of X."""

    X: np.ndarray
    y: np.ndarray
    dtype: str


def expand(pattern: str, what: str) -> list[str]:
    """The files a path or quoted glob names, sorted; an error names the pattern when none exists."""
    if any(ch in pattern for ch in "*?["):
        files = sorted(glob.glob(pattern))
        if not files:
            raise _bad(what, f"the glob {pattern!r} matches no file")
        return files
    if not Path(pattern).is_file():
        raise _bad(pattern, f"no such file (expected the {what} file)")
    return [pattern]


def _array(value: Any) -> np.ndarray:
    """A tensor or array as a float64 numpy array (the caller has checked it is floating point)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        value = value.numpy()
    return np.asarray(value, dtype=np.float64)


def _dtype_name(value: Any) -> str:
    return str(value.dtype).replace("torch.", "")


def _is_float(value: Any) -> bool:
    name = _dtype_name(value)
    return name.startswith(("float", "bfloat"))


def _finite(source: str, name: str, array: np.ndarray) -> None:
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise _bad(source, f"{name} has {bad} NaN or infinite entries (expected finite weights)")


def from_state_dict(state: Mapping[str, Any], source: str) -> LoadedNetwork:
    """The network a state_dict holds: its ``*.weight`` matrices in order, each with an optional ``*.bias``,
    chaining d -> m -> 1 or m -> 2 (two layers) or d -> m1 -> m2 -> 1 or 2 (three layers)."""
    if not isinstance(state, Mapping) or not state:
        raise _bad(source, f"expected a state_dict of tensors, found {type(state).__name__}")
    layers: dict[str, dict[str, Any]] = {}
    for key, value in state.items():
        if not isinstance(key, str) or not hasattr(value, "shape"):
            raise _bad(source, f"entry {key!r} is a {type(value).__name__}, expected a tensor")
        prefix, _, kind = key.rpartition(".")
        if kind not in ("weight", "bias") or not _is_float(value):
            raise _bad(
                source,
                f"entry {key!r} ({_dtype_name(value)} {tuple(value.shape)}) is not a Linear layer's weight "
                "or bias; expected only the entries of "
                "nn.Sequential(nn.Linear(d, m), nn.ReLU(), nn.Linear(m, 1))",
            )
        layers.setdefault(prefix, {})[kind] = value
    weights = []
    for prefix, entry in layers.items():
        if "weight" not in entry:
            raise _bad(source, f"{prefix}.bias has no {prefix}.weight")
        W = entry["weight"]
        if len(W.shape) != 2:
            raise _bad(source, f"{prefix}.weight has shape {tuple(W.shape)}, expected a matrix (out, in)")
        bias = entry.get("bias")
        if bias is not None and tuple(bias.shape) != (W.shape[0],):
            raise _bad(source, f"{prefix}.bias has shape {tuple(bias.shape)}, expected ({W.shape[0]},)")
        weights.append((prefix, W, bias))
    shapes = " -> ".join([str(weights[0][1].shape[1])] + [str(w.shape[0]) for _, w, _ in weights])
    for (p1, W1, _), (p2, W2, _) in zip(weights, weights[1:], strict=False):
        if W2.shape[1] != W1.shape[0]:
            raise _bad(
                source,
                f"{p2}.weight {tuple(W2.shape)} does not chain with {p1}.weight {tuple(W1.shape)} "
                f"(found {shapes}); expected d -> m -> 1",
            )
    if len(weights) not in (2, 3):
        raise _bad(
            source, f"found {len(weights)} weight matrices ({shapes}); expected two (d -> m -> 1) or three"
        )
    heads = weights[-1][1].shape[0]
    if heads not in (1, 2):
        raise _bad(
            source,
            f"the output layer has {heads} outputs ({shapes}): a multi-class head; expected 1 output "
            "(or 2 logits, audited as their difference)",
        )
    dtype = _dtype_name(weights[0][1])
    arrays = [(p, _array(W), None if b is None else _array(b)) for p, W, b in weights]
    for p, W, b in arrays:
        _finite(source, f"{p}.weight", W)
        if b is not None:
            _finite(source, f"{p}.bias", b)
    (_, W, b), *middle, (_, V, c) = arrays
    b = np.zeros(W.shape[0]) if b is None else b
    c = np.zeros(V.shape[0]) if c is None else c
    # Two logits: N = logit_1 - logit_0, positive for class 1 (label +1).
    u, c0 = (V[0], float(c[0])) if heads == 1 else (V[1] - V[0], float(c[1] - c[0]))
    if not middle:
        return LoadedNetwork(source, W, b, u, c0, dtype)
    _, A, a = middle[0]
    a = np.zeros(A.shape[0]) if a is None else a
    return LoadedNetwork(source, W, b, u, c0, dtype, A=A, a=a)


def _from_npz(arrays: Mapping[str, np.ndarray], source: str) -> LoadedNetwork:
    names = set(arrays)
    if not {"W", "u"} <= names or not names <= {"W", "u", "b", "c"}:
        raise _bad(
            source, f"holds arrays {sorted(names)}; expected W (m, d), u (m,) and optionally b (m,), c"
        )
    W = arrays["W"]
    if W.ndim != 2:
        raise _bad(source, f"W has shape {W.shape}, expected (m, d)")
    m = W.shape[0]
    state: dict[str, Any] = {"0.weight": W, "1.weight": arrays["u"].reshape(1, -1)}
    if arrays["u"].shape != (m,):
        raise _bad(source, f"u has shape {arrays['u'].shape}, expected ({m},)")
    if "b" in arrays:
        state["0.bias"] = arrays["b"]
    if "c" in arrays:
        if arrays["c"].size != 1:
            raise _bad(source, f"c has shape {arrays['c'].shape}, expected a scalar output bias")
        state["1.bias"] = arrays["c"].reshape(1)
    return from_state_dict(state, source)


def _npz(path: str, what: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise _bad(path, f"cannot be read as {what} ({str(exc).splitlines()[0]})") from None


def load_network(path: str) -> LoadedNetwork:
    """The network in `path` (module docstring): .npz, .safetensors, or a torch.save'd state_dict."""
    if path.endswith(".npz"):
        arrays = _npz(path, "an .npz of W, u[, b, c]")
        for name, value in arrays.items():
            if value.dtype.kind != "f":
                raise _bad(path, f"{name} has dtype {value.dtype}, expected floating point")
        return _from_npz(arrays, path)
    if path.endswith(".safetensors"):
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise _bad(
                path, "reading .safetensors needs the safetensors package: pip install 'offsub[audit]'"
            ) from None
        try:
            return from_state_dict(load_file(path), path)
        except AuditInputError:
            raise
        except Exception as exc:  # a corrupt file is bad input
            raise _bad(path, f"is not a readable .safetensors file ({str(exc).splitlines()[0]})") from None
    import torch

    try:
        # weights_only=True: tensors and plain containers only; any other object is refused, never built.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any failure to read a user's file is bad input, never a traceback
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f"it holds a {found.group(1)} object" if found else f"unreadable, {type(exc).__name__}"
        raise _bad(
            path,
            f"is not a plain state_dict (torch.load with weights_only=True refused it: {what}); expected "
            "torch.save(model.state_dict()), a .safetensors or an .npz file",
        ) from None
    return from_state_dict(state, path)


def _labels(y: np.ndarray, source: str) -> np.ndarray:
    values = set(np.unique(y).tolist()) if y.size else set()
    if not values <= {-1.0, 1.0} and not values <= {0.0, 1.0}:
        shown = sorted(values)[:6]
        raise _bad(source, f"y has values {shown}; expected labels in {{-1, +1}} or {{0, 1}}")
    return np.where(y > 0, 1.0, -1.0)


def _points(arrays: Mapping[str, np.ndarray], source: str) -> np.ndarray:
    if "X" not in arrays:
        raise _bad(source, f"holds arrays {sorted(arrays)}; expected X (n, d)")
    X = arrays["X"]
    if X.ndim != 2 or X.shape[0] < 1 or X.dtype.kind not in "fiu":
        raise _bad(source, f"X has shape {X.shape} and dtype {X.dtype}; expected a real (n, d) array")
    if not np.isfinite(X).all():
        raise _bad(
            source, f"X has {int((~np.isfinite(X)).sum())} NaN or infinite entries; expected finite points"
        )
    return X.astype(np.float64)


def from_arrays(X: Any, y: Any, source: str) -> Data:
    """Data from in-memory arrays or tensors: X (n, d) finite and, unless y is None, y (n,) labels."""
    arrays = {"X": np.asarray(X.detach().cpu() if hasattr(X, "detach") else X)}
    if y is not None:
        arrays["y"] = np.asarray(y.detach().cpu() if hasattr(y, "detach") else y)
    return _data(arrays, source, labelled=y is not None)


def _data(arrays: Mapping[str, np.ndarray], source: str, *, labelled: bool = True) -> Data:
    X = _points(arrays, source)
    if not labelled:
        return Data(X, np.zeros(0), str(arrays["X"].dtype))
    if "y" not in arrays:
        raise _bad(source, f"holds arrays {sorted(arrays)}; expected X (n, d) and y (n,)")
    y = np.asarray(arrays["y"])
    if y.shape != (X.shape[0],) or y.dtype.kind not in "fiub":
        raise _bad(source, f"y has shape {y.shape}; expected ({X.shape[0]},) labels")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise _bad(source, "y has NaN or infinite entries; expected labels in {-1, +1} or {0, 1}")
    return Data(X, _labels(y.astype(np.float64), source), str(arrays["X"].dtype))


def load_data(path: str) -> Data:
    """Training data: X (n, d) finite and y (n,) in {-1, +1} or {0, 1}."""
    return _data(_npz(path, "an .npz of X (n, d) and y (n,)"), path)


def load_points(path: str, d: int) -> np.ndarray:
    """Points where to measure: X (p, d) finite."""
    X = _points(_npz(path, "an .npz of X (p, d)"), path)
    if X.shape[1] != d:
        raise _bad(path, f"X has shape {X.shape}; expected (p, {d}) like the training data")
    return X
