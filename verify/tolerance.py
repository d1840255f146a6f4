"""The one place that decides "close enough" for deterministic comparisons of measured with predicted.

Used for the exact identities of the derived results (R1's ``Pi w_i(T) = c_T Pi w_i(0)``, R5's flip at
``t* = |N(x0)|/||g||``, R6's certified radius...), where the only discrepancy allowed is float64
rounding. Every verdict shows the absolute and the relative error whether it passes or not (the
neural-tangents habit), and rounding budgets are stated from the standard forward error bound rather
than picked by hand.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from theory.parameters import NONNEG_REAL, POSITIVE_INT, ParameterError, Range
from verify.statistics import Rule, jsonable

__all__ = [
    "compare",
    "Comparison",
    "float64_rounding_budget",
    "invariance_budget",
    "Threshold",
    "threshold",
    "UNIT_ROUNDOFF",
    "validate_inputs",
]

#: Unit roundoff of IEEE float64 (round to nearest): u = 2^-53 = eps64 / 2.
UNIT_ROUNDOFF = 2.0**-53

# Accepted ranges of this module's inputs (same messages as theory.parameters.validate).
_ACCEPTED: dict[str, Range] = {
    "rtol": NONNEG_REAL,
    "atol": NONNEG_REAL,
    "n_ops": POSITIVE_INT,
    "scale": NONNEG_REAL,
}


def validate_inputs(**values: Any) -> None:
    for name, value in values.items():
        spec = _ACCEPTED[name]
        if not spec.accepts(value):
            raise ParameterError(f"{name}={value!r} is invalid: expected {spec.describe()}")


@dataclass(frozen=True)
class Comparison:
    """Verdict of ``|measured - predicted| <= atol + rtol |predicted|`` elementwise, with its numbers.

    Its rule is ``max |m - p| / (atol + rtol |p|) <= 1`` (the worst entry's error over its allowance).
    """

    what: str
    passed: bool
    max_abs_error: float  # max |m - p| (inf where a NaN or a mismatched infinity occurs)
    max_rel_error: float  # max |m - p| / |p| (inf where p = 0 and m != 0)
    worst_index: tuple[int, ...]  # the entry closest to (or furthest past) its tolerance
    worst_measured: float
    worst_predicted: float
    violations: int  # entries outside the tolerance
    size: int
    rtol: float
    atol: float
    max_excess: float = 0.0  # max |m - p| / (atol + rtol |p|): the rule's value

    statistical = False
    alpha = None

    @property
    def n(self) -> int:
        return self.size

    @property
    def rule(self) -> Rule:
        return Rule("max error/allowance", self.max_excess, 1.0, "<=")

    def summary(self) -> str:
        where = f" at {self.worst_index}" if self.worst_index else ""
        return (
            f"{'PASS' if self.passed else 'FAIL'} {self.what or 'comparison'}: max abs err "
            f"{self.max_abs_error:.3g}, max rel err {self.max_rel_error:.3g} (worst{where}: measured "
            f"{self.worst_measured!r} vs predicted {self.worst_predicted!r}); tolerance atol={self.atol:.3g} "
            f"+ rtol={self.rtol:.3g}*|p|, {self.violations}/{self.size} outside"
        )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "Comparison", **{k: jsonable(v) for k, v in asdict(self).items()}}
        out["worst_index"] = list(self.worst_index)
        out["rule"] = self.rule.as_dict()
        out["summary"] = self.summary()
        return out


@dataclass(frozen=True)
class Threshold:
    """An exact verdict ``value passes_if threshold`` on one deterministic quantity: a rounding budget
    (``error/budget <= 1``), a factor far beyond it (``movement/budget > 1e3``), a count of violations
    (``0 <= 0``). ``n`` is how many entries the value summarizes (its worst case)."""

    what: str  # the quantity, e.g. "max R1 error / rounding budget"
    value: float
    threshold: float
    passes_if: str
    n: int = 1

    statistical = False
    alpha = None

    def __post_init__(self) -> None:
        Rule(self.what, self.value, self.threshold, self.passes_if)  # validates passes_if

    @property
    def rule(self) -> Rule:
        return Rule(self.what, self.value, self.threshold, self.passes_if)

    @property
    def passed(self) -> bool:
        return self.rule.holds()

    def summary(self) -> str:
        return (
            f"{'PASS' if self.passed else 'FAIL'} {self.what} = {self.value:.3g} "
            f"(pass iff {self.passes_if} {self.threshold:.3g}; {self.n} entries)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "Threshold",
            "what": self.what,
            "value": jsonable(float(self.value)),
            "threshold": jsonable(float(self.threshold)),
            "passes_if": self.passes_if,
            "n": self.n,
            "passed": self.passed,
            "rule": self.rule.as_dict(),
            "summary": self.summary(),
        }


def threshold(what: str, value: float, passes_if: str, limit: float, *, n: int = 1) -> Threshold:
    """The exact verdict ``value passes_if limit`` (see `Threshold`)."""
    return Threshold(what, float(value), float(limit), passes_if, int(n))


def compare(
    measured: npt.ArrayLike,
    predicted: npt.ArrayLike,
    *,
    rtol: float,
    atol: float = 0.0,
    what: str = "",
) -> Comparison:
    """Compare arrays (broadcast against each other): pass iff ``|m - p| <= atol + rtol |p|`` everywhere.

    NaN never passes (NaN vs NaN included); equal infinities count as an exact match, as in
    ``numpy.isclose``. The tolerance is relative to the PREDICTION, so swapping the arguments can change
    the verdict: the theory's value is the reference.

    Args:
        measured: the numerics' value(s).
        predicted: the theory's value(s).
        rtol: allowed error relative to ``|predicted|`` (e.g. from `float64_rounding_budget`).
        atol: allowed absolute error, for predictions at or near zero.
        what: the quantity compared, for the summary.
    """
    validate_inputs(rtol=rtol, atol=atol)
    m, p = np.broadcast_arrays(
        np.asarray(measured, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    )
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        error = np.where(m == p, 0.0, np.abs(m - p))  # m == p keeps equal infinities at 0, not NaN
        error = np.where(np.isnan(error), np.inf, error)
        magnitude = np.abs(p)
        allowed = atol + rtol * magnitude
        relative = np.where(error == 0, 0.0, error / magnitude)
        excess = np.where(error == 0, 0.0, error / allowed)
    # An infinite error (NaN, or an infinity missed) fails even against an infinite allowance.
    relative = np.where(np.isinf(error), np.inf, relative)
    excess = np.where(np.isinf(error), np.inf, excess)
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape) if excess.size else ()
    violations = int(np.sum((error > allowed) | np.isinf(error)))
    max_excess = float(np.max(excess)) if excess.size else 0.0
    if violations == 0:
        max_excess = min(max_excess, 1.0)  # error == allowed with allowed == 0 (exact match) gives 0/0
    return Comparison(
        what=what,
        passed=violations == 0,
        max_abs_error=float(np.max(error)) if error.size else 0.0,
        max_rel_error=float(np.max(relative)) if relative.size else 0.0,
        worst_index=tuple(int(i) for i in worst),
        worst_measured=float(m[worst]) if m.size else math.nan,
        worst_predicted=float(p[worst]) if p.size else math.nan,
        violations=violations,
        size=int(error.size),
        rtol=float(rtol),
        atol=float(atol),
        max_excess=max_excess,
    )


def float64_rounding_budget(n_ops: int, scale: float = 1.0) -> float:
    """Forward error budget ``gamma_n * scale`` of a float64 computation of ``n_ops`` rounded operations.

    ``gamma_n = n u / (1 - n u)`` with unit roundoff ``u = 2^-53`` (Higham, *Accuracy and Stability of
    Numerical Algorithms*, Lemma 3.1): a product of n factors ``(1 + delta_i)^{+-1}``, ``|delta_i| <= u``,
    lies within ``1 +- gamma_n``. For a recursive sum or a dot product of length n,
    ``|fl(s) - s| <= gamma_{n-1} sum_i |x_i y_i|``, so pass ``scale = sum |terms|`` (not ``|s|``) there;
    for a chain of products ``scale = |result|``. Worst-case, hence safe to use as a tolerance without
    any widening; inputs that are themselves rounded need their own ops counted.

    Args:
        n_ops: number of rounded operations on the longest dependency path (>= 1, below 2^53).
        scale: the magnitude the bound multiplies (see above).

    Returns:
        The absolute error budget.
    """
    validate_inputs(n_ops=n_ops, scale=scale)
    nu = n_ops * UNIT_ROUNDOFF
    if nu >= 1.0:
        raise ParameterError(f"n_ops={n_ops!r} is invalid: expected an integer >= 1 and < 2^53")
    return nu / (1.0 - nu) * scale


def invariance_budget(steps: int, n: int, d: int) -> float:
    """R1's float64 budget gamma_N with N = T (n + d), relative to the largest weight norm: each step forms
    a gradient from n points and applies it in d coordinates, and the errors can add up over T steps
    (worst case, not a tuned tolerance)."""
    return float64_rounding_budget(max(1, steps * (n + d)))
