"""What every statistical check shares: the rule object, the verdict protocol, input validation, the
false-fail split and the detection power."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Protocol

import mpmath
import numpy as np

from theory.parameters import PROBABILITY, ParameterError, Range, validate

__all__ = [
    "DETECTION_POWER",
    "jsonable",
    "MANN_WHITNEY_EXACT_PAIRS",
    "Rule",
    "split_rate",
    "validate_inputs",
    "Verdict",
    "VerdictFields",
]

#: Power at which ``detectable`` quantities are stated: a discrepancy that large is caught at least 90% of
#: the time (TFP's statistical testing module states it at a chosen false-pass rate; ours is 0.1).
DETECTION_POWER = 0.9

_COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
}


@dataclass(frozen=True)
class Rule:
    """How a verdict is decided: it passes iff ``value passes_if threshold`` (e.g. ``p >= alpha``).

    Every verdict of this module and of `verify.tolerance` carries one, and its ``passed`` is exactly
    ``rule.holds()`` (the harness asserts it), so the JSON report can be re-decided without the code.
    """

    quantity: str  # what ``value`` is: "p", "D", "|slope - predicted|", "error/budget", ...
    value: float
    threshold: float
    passes_if: str  # ">=", ">", "<=" or "<"

    def __post_init__(self) -> None:
        if self.passes_if not in _COMPARATORS:
            raise ValueError(
                f"passes_if={self.passes_if!r} is invalid: expected one of {', '.join(_COMPARATORS)}"
            )

    def holds(self) -> bool:
        return bool(_COMPARATORS[self.passes_if](self.value, self.threshold))

    def margin(self) -> float:
        """How far the value is on the passing side, in decades (negative when the rule fails).

        log10(value/threshold) for ">=" and ">", the reverse for "<=" and "<"; a zero on the safe side is
        +inf and a NaN value is -inf. Used to pick the decisive verdict of a check (the smallest margin).
        """
        value, threshold = float(self.value), float(self.threshold)
        if math.isnan(value):
            return -math.inf
        upward = self.passes_if in (">=", ">")
        if value == threshold:
            return 0.0 if self.holds() else -1e-12
        if threshold <= 0 or value <= 0:  # a ratio is meaningless; the sign of the difference is not
            return (math.inf if self.holds() else -math.inf) if value != threshold else 0.0
        ratio = math.log10(value / threshold)
        return ratio if upward else -ratio

    def as_dict(self) -> dict[str, Any]:
        return {
            "quantity": self.quantity,
            "value": jsonable(self.value),
            "threshold": jsonable(self.threshold),
            "passes_if": self.passes_if,
        }


# Accepted ranges of the inputs that have no entry in theory.parameters.PARAMETERS (same messages).
_ACCEPTED: dict[str, Range] = {
    "checks": Range("int", 1, meaning="number of checks sharing one false-fail rate"),
    "samples": Range("int", 1, meaning="number of independent samples"),
    "failures": Range("int", 0, meaning="number of failures among the trials"),
    "power": PROBABILITY,
    "delta": Range("real", 0, 1, low_open=True, high_open=True, meaning="sup-distance between CDFs"),
    "predicted_slope": Range("real"),
}

# mpmath precision for binomial tails that leave float64; local (workdps) so no caller's context leaks.
_TAIL_DPS = 30
# Below this a float64 tail from scipy loses relative accuracy (subnormals): recompute with mpmath.
_FLOAT_TINY = 1e-290
# Exact Mann-Whitney null law is O(n_a n_b) memory and slow past ~1e4 pairs (0.03 s at 100 x 100,
# 5 s at 500 x 500 with scipy 1.17); above it the normal approximation with tie correction is used.
MANN_WHITNEY_EXACT_PAIRS = 10_000


def validate_inputs(**values: Any) -> None:
    """`theory.parameters.validate` for declared names, the local table for the statistical ones."""
    for name, value in values.items():
        spec = _ACCEPTED.get(name)
        if spec is None:
            validate(**{name: value})
        elif not spec.accepts(value):
            raise ParameterError(f"{name}={value!r} is invalid: expected {spec.describe()}")


def _as_sample(values: Any, name: str, minimum: int = 1) -> np.ndarray:
    """A 1-D float64 array of finite values, with at least ``minimum`` entries."""
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size < minimum or not np.all(np.isfinite(array)):
        raise ParameterError(
            f"{name} has {array.size} values (non-finite: {int(np.sum(~np.isfinite(array)))}): "
            f"expected at least {minimum} finite values"
        )
    return array


def jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # strict JSON has no infinity or NaN: "inf", "-inf", "nan"
    if isinstance(value, mpmath.mpf):
        # Probabilities such as e^{-ell/16} at ell = 1e4 underflow float64: keep them as text then.
        as_float = float(value)
        return as_float if value == 0 or as_float != 0 else mpmath.nstr(value, 6)
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, tuple):
        return [jsonable(v) for v in value]
    return value


class Verdict(Protocol):
    """What the harness relies on for every result here and in `verify.tolerance`.

    ``statistical`` results carry their false-fail rate ``alpha`` and the discrepancy they detect at
    ``power``; exact ones (tolerance) have ``alpha`` None. ``rule`` decides ``passed``.
    """

    @property
    def passed(self) -> bool: ...

    @property
    def rule(self) -> Rule: ...

    @property
    def statistical(self) -> bool: ...

    @property
    def alpha(self) -> float | None: ...

    def summary(self) -> str: ...

    def as_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class VerdictFields:
    """Shared behaviour of every result: a JSON view that also carries the rule and the summary."""

    statistical = True

    if TYPE_CHECKING:  # every subclass has these as fields

        @property
        def passed(self) -> bool: ...

        @property
        def alpha(self) -> float | None: ...

    @property
    def rule(self) -> Rule:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def summary(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": type(self).__name__}
        out.update({f.name: jsonable(getattr(self, f.name)) for f in fields(self)})
        out["rule"] = self.rule.as_dict()
        out["summary"] = self.summary()
        return out


def _verdict_word(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


# --------------------------------------------------------------------------------------------------
# Sharing one false-fail rate, and saying what a check can detect


def split_rate(alpha: float, n: int) -> float:
    """Per-check false-fail rate ``alpha / n`` so that ``n`` checks together fail falsely w.p. <= alpha.

    Bonferroni (the union bound) is used because it holds under ANY dependence between the checks: the
    suite's checks reuse the same trained networks, so their verdicts are not independent and Sidak's
    ``1 - (1 - alpha)^(1/n)`` (which needs independence or positive dependence) would not be justified.

    Args:
        alpha: total false-fail rate of the family, in (0, 1).
        n: number of checks sharing it.

    Returns:
        The rate each check must be run at.
    """
    validate_inputs(false_fail_rate=alpha, checks=n)
    return alpha / n
