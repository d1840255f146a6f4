"""The accepted range of every named parameter, in one declarative table.

Every entry point of the suite (the theory, the numerics, the command line) validates its mathematical
inputs here, so a bad value always produces the same kind of one-line message naming the parameter and its
range. Options of the command line alone (jobs, threads, seeds, repeats, peak_size) are validated beside
the commands, in `verify.commands.options`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

__all__ = [
    "choice",
    "NONNEG_INT",
    "NONNEG_REAL",
    "ParameterError",
    "PARAMETERS",
    "POSITIVE_INT",
    "POSITIVE_REAL",
    "PROBABILITY",
    "Range",
    "validate",
]


class ParameterError(ValueError):
    """A parameter outside its accepted range; the message is one line naming both."""


@dataclass(frozen=True)
class Range:
    """Accepted values of one parameter: integer or real, with optional (strict) bounds."""

    kind: str  # "int" or "real"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    meaning: str = ""

    def describe(self) -> str:
        kind = "an integer" if self.kind == "int" else "a finite real"
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {_fmt(self.low)}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {_fmt(self.high)}")
        return kind + (" " + " and ".join(parts) if parts else "")

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if self.kind == "int":
            if not isinstance(value, Integral):
                return False
        elif not isinstance(value, Real) or not math.isfinite(float(value)):
            return False
        v = float(value)
        if self.low is not None and (v <= self.low if self.low_open else v < self.low):
            return False
        if self.high is not None and (v >= self.high if self.high_open else v > self.high):
            return False
        return True


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


POSITIVE_INT = Range("int", 1)
NONNEG_INT = Range("int", 0)
POSITIVE_REAL = Range("real", 0, low_open=True)
NONNEG_REAL = Range("real", 0)
PROBABILITY = Range("real", 0, 1, low_open=True, high_open=True)

#: name -> accepted range. Cross-parameter constraints (ell < d, k <= m) are in `validate`.
PARAMETERS: dict[str, Range] = {
    "d": Range("int", 2, meaning="input dimension"),
    "ell": Range("int", 1, meaning="codimension of the data subspace"),
    "m": Range("int", 1, meaning="width (number of hidden neurons)"),
    "k": Range("int", 0, meaning="number of active neurons at x0"),
    "n": Range("int", 1, meaning="number of training points"),
    "T": NONNEG_INT,
    "steps": NONNEG_INT,
    "runs": POSITIVE_INT,
    "R": POSITIVE_INT,
    "r": Range("int", 1, meaning="dimension of the data subspace for real data"),
    "s_w": POSITIVE_REAL,
    "s_u": POSITIVE_REAL,
    "s_b": NONNEG_REAL,
    "beta": POSITIVE_REAL,
    "init_scale": POSITIVE_REAL,
    "eta": POSITIVE_REAL,
    "lr": POSITIVE_REAL,
    "lam": NONNEG_REAL,
    "weight_decay": NONNEG_REAL,
    "momentum": Range("real", 0, 1, high_open=True),
    "mu": Range("real", 0, 1, high_open=True, meaning="heavy-ball momentum coefficient"),
    "noise": NONNEG_REAL,
    "S": NONNEG_REAL,
    "digits": Range("int", 1, 100000),
    "false_fail_rate": PROBABILITY,
    "batch_size": POSITIVE_INT,
    "target_margin": POSITIVE_REAL,
    "target_loss": POSITIVE_REAL,
    "t": NONNEG_REAL,
    "output_value": Range("real"),
    # theory: symbols of theory/symbols.py and the arguments of theory/bounds.py
    "x": Range("real", 0, low_open=True, meaning="Laurent-Massart tail parameter"),
    "Q": Range("real", 0, meaning="value of a chi-square variable"),
    "g_norm": NONNEG_REAL,
    "N0": Range("real", meaning="network output N(x0)"),
    "kappa": Range("real", 0, 1, low_open=True, meaning="active fraction k/m"),
    "L": NONNEG_REAL,
    "z_norm_sq": NONNEG_REAL,
    "probability": PROBABILITY,
    "flow_time": NONNEG_REAL,
    # numerics: data generators and the trainer
    "seed": Range("int", 0, meaning="seed of a torch.Generator"),
    "n_test": NONNEG_INT,
    "teacher_width": POSITIVE_INT,
    "separation": POSITIVE_REAL,
    "record_every": NONNEG_INT,
    "adam_beta": Range("real", 0, 1, high_open=True),
    "adam_eps": POSITIVE_REAL,
    "max_iter": POSITIVE_INT,
    "overshoot": NONNEG_REAL,
    "rtol": NONNEG_REAL,
    "atol": NONNEG_REAL,
    # numerics.deep: the three-layer network of the assumption-violation study
    "m1": Range("int", 1, meaning="first-layer width of the three-layer network"),
    "m2": Range("int", 1, meaning="second-layer width of the three-layer network"),
    "s_a": POSITIVE_REAL,
    "s_v": POSITIVE_REAL,
    "bisections": POSITIVE_INT,
}


def validate(**values: Any) -> None:
    """Raise `ParameterError` for the first value outside its range (None values are skipped).

    Also enforces the cross-parameter constraints of the setting: ``ell < d`` and ``k <= m``.
    """
    for name, value in values.items():
        if value is None:
            continue
        spec = PARAMETERS.get(name)
        if spec is None:
            raise KeyError(f"no accepted range is declared for parameter {name!r}")
        if not spec.accepts(value):
            raise ParameterError(f"{name}={value!r} is invalid: expected {spec.describe()}")
    d, ell, m, k = (values.get(x) for x in ("d", "ell", "m", "k"))
    if d is not None and ell is not None and not ell < d:
        raise ParameterError(f"ell={ell!r} is invalid: expected an integer >= 1 and < d={d}")
    if m is not None and k is not None and not k <= m:
        raise ParameterError(f"k={k!r} is invalid: expected an integer >= 0 and <= m={m}")


def choice(name: str, value: str, accepted: Callable[[], Any] | tuple[str, ...]) -> str:
    """Validate a named option (dataset, optimizer, loss...) against its accepted names."""
    names = tuple(accepted() if callable(accepted) else accepted)
    if value not in names:
        raise ParameterError(f"{name}={value!r} is invalid: expected one of {', '.join(names)}")
    return value
