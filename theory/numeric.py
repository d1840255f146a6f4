"""Float64 evaluation of the theory's SymPy expressions over numpy arrays, for predictions at many points.

`theory.precision.evaluate` gives one value to any number of digits; a check that predicts a bound for
every one of a thousand networks needs the same expression evaluated on arrays instead. `compile_numpy`
lambdifies an expression once (cached) into a numpy function of named arrays, after two rewrites that
keep float64 in range where the plain lambdify would overflow:
- lowergamma(a, x)/gamma(a) and uppergamma(a, x)/gamma(a) (the chi-square CDF and survival of R3/R4)
  become the regularized functions scipy.special.gammainc / gammaincc, so no Gamma(ell/2) is formed;
- every other gamma(z) becomes exp(loggamma(z)), and products of exponentials are combined, so a ratio
  such as Gamma((ell+1)/2)/Gamma(ell/2) (E chi_ell) is exp(loggamma - loggamma), finite at any ell.
The expression itself stays the single source: an edit of the SymPy expression changes this value too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import scipy.special
import sympy as sp

__all__ = ["evaluate_array"]


class _RegularizedLowerGamma(sp.Function):
    """P(a, x) = lowergamma(a, x) / gamma(a), only as a lambdify target."""


class _RegularizedUpperGamma(sp.Function):
    """Q(a, x) = uppergamma(a, x) / gamma(a), only as a lambdify target."""


class _LogGamma(sp.Function):
    """log Gamma(z) for z > 0, only as a lambdify target (SymPy's loggamma would fold exp(loggamma) back)."""


_MODULES = [
    {
        "_RegularizedLowerGamma": scipy.special.gammainc,
        "_RegularizedUpperGamma": scipy.special.gammaincc,
        "_LogGamma": scipy.special.gammaln,
    },
    "numpy",
]


def _float_friendly(expr: sp.Expr) -> sp.Expr:
    """`expr` rewritten with regularized incomplete gammas and log-gammas (module docstring)."""
    expr = expr.replace(
        lambda e: isinstance(e, sp.lowergamma),
        lambda e: sp.gamma(e.args[0]) * _RegularizedLowerGamma(*e.args),
    )
    expr = expr.replace(
        lambda e: isinstance(e, sp.uppergamma),
        lambda e: sp.gamma(e.args[0]) * _RegularizedUpperGamma(*e.args),
    )
    expr = expr.replace(lambda e: isinstance(e, sp.gamma), lambda e: sp.exp(_LogGamma(e.args[0])))
    return sp.powsimp(expr, combine="exp")


@functools.lru_cache(maxsize=512)
def _compiled(expr: sp.Expr, names: tuple[str, ...]) -> Callable[..., Any]:
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    by_name = {s.name: s for s in symbols}
    return sp.lambdify([by_name[name] for name in names], _float_friendly(expr), modules=_MODULES)


def evaluate_array(expr: sp.Expr, values: Mapping[str, Any]) -> np.ndarray:
    """`expr` at float64 `values` (symbol name -> scalar or array, broadcast together), as an array.

    Every free symbol of `expr` needs a value (a KeyError names the missing ones); extra values are
    ignored, so one dictionary of a run's parameters serves every expression of a result.
    """
    expr = sp.sympify(expr)
    names = tuple(sorted(s.name for s in expr.free_symbols))
    missing = [name for name in names if name not in values]
    if missing:
        raise KeyError(f"no value given for {', '.join(missing)} in {expr}")
    arrays = [np.asarray(values[name], dtype=np.float64) for name in names]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = _compiled(expr, names)(*arrays)
    return np.broadcast_to(np.asarray(out, dtype=np.float64), np.broadcast_shapes(*(a.shape for a in arrays)))
