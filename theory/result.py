"""The type of one result of `theory.results`: its statement, hypotheses and SymPy expressions, and how they
are evaluated (at exact values to mpmath precision, or in float64 at arrays, or in gradient-flow form);
`provenance`, the pointer into docs/derivations.md every result carries; and `log_log_slope`, the scaling
exponent d log(expr) / d log(var)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from theory.decay import to_flow
from theory.numeric import evaluate_array
from theory.parameters import validate
from theory.precision import evaluate, to_exact
from theory.symbols import symbol

__all__ = ["DERIVATIONS", "log_log_slope", "provenance", "Result"]

#: Where every result's derivation is written out (its `provenance` points to a heading there).
DERIVATIONS = "docs/derivations.md"


def provenance(anchor: str, kind: str = "derived") -> str:
    """The `provenance` of a result derived under the heading `anchor` of DERIVATIONS: "kind: path#anchor"."""
    return f"{kind}: {DERIVATIONS}#{anchor}"


@dataclass(frozen=True)
class Result:
    """One result: what it says, under which hypotheses, and the expressions it predicts."""

    id: str  # "R1".."R8", or "R1a"/"R3d" for the laws derived here beyond the paper's hypotheses
    name: str  # snake_case name
    statement: str  # one sentence
    paper_claim: int  # which claim of the paper's abstract it makes precise (1, 2 or 3), 0 for none
    provenance: str  # "derived: <pointer into docs/derivations.md>", or "our addition: ..."
    hypotheses: tuple[str, ...]
    expressions: Mapping[str, sp.Expr] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Frozen all the way down: the registry is shared by every check.
        object.__setattr__(self, "expressions", MappingProxyType(dict(self.expressions)))

    def predict(
        self, values: Mapping[str, Any], digits: int = 30, names: Iterable[str] | None = None
    ) -> dict[str, mpmath.mpf]:
        """Evaluate every expression (or those in `names`) whose symbols all have a value.

        Args:
            values: symbol name -> exact value (int, fraction, decimal string); validated by name.
            digits: significant digits of every returned value.
            names: restrict to these expressions (a KeyError names an unknown one).

        Returns:
            expression name -> mpf, in the order of `expressions`. An expression that divides by zero
            at `values` raises ValueError naming it, never a silent infinity.
        """
        exact = {key: to_exact(value, key) for key, value in values.items()}
        validate(**exact)
        given = {symbol(key) for key in exact}
        wanted = list(self.expressions) if names is None else list(names)
        for name in wanted:
            self.expression(name)
        out: dict[str, mpmath.mpf] = {}
        for name in wanted:
            expr = self.expressions[name]
            if not expr.free_symbols <= given:
                continue
            try:
                out[name] = evaluate(expr, exact, digits)
            except ZeroDivisionError:
                raise ValueError(
                    f"{self.id}.{name} = {expr} is undefined (division by zero) at {values}"
                ) from None
        return out

    def array(self, name: str, values: Mapping[str, Any], *, flow: bool = False) -> np.ndarray:
        """The expression `name` in float64 at array `values` (symbol name -> scalar or array, broadcast).

        For predictions at many points (one per network); `predict` is the high-precision path.
        `flow=True` evaluates the gradient-flow form (c_T replaced by exp(-lam*t)).
        """
        return evaluate_array(self.flow_expression(name) if flow else self.expression(name), values)

    def exponent(self, key: str) -> sp.Expr:
        """The scaling exponent `exponent_<key>` (a SymPy number, e.g. 1/2)."""
        expr = self.expression(f"exponent_{key}")
        if expr.free_symbols:
            raise ValueError(f"{self.id}.exponent_{key} = {expr} is not a number")
        return expr

    def flow_expression(self, name: str) -> sp.Expr:
        """The expression `name` for gradient flow: c_T = (1 - eta*lam)^T replaced by exp(-lam*t)."""
        return to_flow(self.expression(name))

    def expression(self, name: str) -> sp.Expr:
        """The expression `name` (a KeyError names the result's expressions if it has no such one)."""
        try:
            return self.expressions[name]
        except KeyError:
            raise KeyError(
                f"{self.id} has no expression {name!r}; it has {', '.join(self.expressions)}"
            ) from None


def log_log_slope(expr: sp.Expr, var: sp.Symbol) -> sp.Expr:
    """d log(expr) / d log(var) = var * expr' / expr, simplified: the exponent of var in expr."""
    return sp.simplify(var * sp.diff(expr, var) / expr)
