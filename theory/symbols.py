"""The named SymPy symbols of the setting, with the assumptions SymPy may use when simplifying.

Melamed, Yehudai & Vardi (NeurIPS 2023): data in a subspace P of R^d of codimension ell, a two-layer ReLU
network of width m with k neurons active at the point x0, trained for T steps (or for time t).

Two constraints of the setting cannot be stated as SymPy assumptions and are enforced numerically by
`theory.parameters.validate`: ``ell < d`` (P is a proper subspace) and ``k <= m`` (at most every neuron
is active). Where a result needs k >= 1 (so that S > 0) the numeric layer treats k = 0 separately.
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "beta",
    "d",
    "ell",
    "eta",
    "g_norm",
    "k",
    "kappa",
    "L",
    "lam",
    "m",
    "mu",
    "n",
    "N0",
    "Q",
    "S",
    "s_u",
    "s_w",
    "symbol",
    "SYMBOLS",
    "T",
    "t",
    "x",
    "z_norm_sq",
]

# Sizes: positive integers.
d = sp.Symbol("d", positive=True, integer=True)  # input dimension
ell = sp.Symbol("ell", positive=True, integer=True)  # codimension of the data subspace P
m = sp.Symbol("m", positive=True, integer=True)  # width
k = sp.Symbol("k", positive=True, integer=True)  # active neurons at x0
n = sp.Symbol("n", positive=True, integer=True)  # training points
T = sp.Symbol("T", positive=True, integer=True)  # training steps

# Scales and rates: positive reals.
s_w = sp.Symbol("s_w", positive=True)  # hidden scale: w_i(0) ~ N(0, s_w^2/d I)
s_u = sp.Symbol("s_u", positive=True)  # output scale: |u_i| = s_u/sqrt(m)
beta = sp.Symbol("beta", positive=True)  # "small initialization" multiplier of s_w
eta = sp.Symbol("eta", positive=True)  # step size
S = sp.Symbol("S", positive=True)  # S = sum_{i in I} u_i^2, the output mass on the active set
x = sp.Symbol("x", positive=True)  # Laurent-Massart tail parameter: probabilities e^{-x}
t = sp.Symbol("t", positive=True)  # gradient-flow time

lam = sp.Symbol("lam", nonnegative=True)  # weight decay lambda (L2 coefficient)
mu = sp.Symbol("mu", nonnegative=True)  # heavy-ball momentum coefficient

# Quantities measured at x0.
Q = sp.Symbol("Q", nonnegative=True)  # Q = d ||g||^2 / (c_T^2 s_w^2 S), a chi-square(ell) variable
g_norm = sp.Symbol("g_norm", positive=True)  # ||g||, g = Pi grad_x N(x0)
N0 = sp.Symbol("N0", real=True)  # the network output N(x0)
kappa = sp.Symbol("kappa", positive=True)  # active fraction k/m, in (0, 1]
L = sp.Symbol("L", positive=True)  # L = sum_i |u_i| ||Pi w_i||, Lipschitz constant of N along P^perp
z_norm_sq = sp.Symbol("z_norm_sq", positive=True)  # ||z||^2, z the first-layer backward vector (R3d)

#: name -> symbol, for callers that pass values by name.
SYMBOLS: dict[str, sp.Symbol] = {
    s.name: s
    for s in (d, ell, m, k, n, T, s_w, s_u, beta, eta, S, x, t, lam, mu, Q, g_norm, N0, kappa, L, z_norm_sq)
}


def symbol(name: str) -> sp.Symbol:
    """The symbol called `name` (a KeyError lists the known names)."""
    try:
        return SYMBOLS[name]
    except KeyError:
        raise KeyError(f"no symbol named {name!r}; known: {', '.join(SYMBOLS)}") from None
