"""The shared expressions of `theory.results`, each derived once from R3's law: the hidden scale, S under
the two output scalings, R3's variance scale and Q, ||g|| through Q, R4's bound, E L, the decay limit and
the stationary orthogonal weight (R8), and R3d's variance scale. `theory.results` re-exports them."""

from __future__ import annotations

import sympy as sp

from theory import chi_square
from theory.decay import C_T
from theory.symbols import N0, Q, S, beta, d, ell, g_norm, k, lam, m, s_u, s_w, z_norm_sq

__all__ = [
    "CERTIFIED_RADIUS_AT_EXPECTED_LIPSCHITZ",
    "CHI_SQUARE_STATISTIC",
    "DECAY_LIMIT",
    "DEEP_VARIANCE_SCALE",
    "DEGREES_OF_FREEDOM",
    "ELL_OVER_D",
    "EXPECTED_LIPSCHITZ",
    "EXPECTED_ORTH_GRAD_NORM_SQ",
    "HIDDEN_SCALE",
    "ORTH_GRAD_LOWER_BOUND",
    "ORTH_GRAD_LOWER_BOUND_STANDARD",
    "ORTH_GRAD_NORM",
    "R4_THRESHOLD",
    "RMS_ORTH_GRAD",
    "S_FIXED_OUTPUT",
    "S_MEAN_FIELD_OUTPUT",
    "STATIONARY_ORTH_WEIGHT",
    "VARIANCE_SCALE",
]


#: The hidden layer's scale: w_i(0) ~ N(0, (beta s_w)^2/d I_d).
HIDDEN_SCALE = beta * s_w
#: S with a fixed output layer |u_i| = s_u/sqrt(m): k active neurons of mass s_u^2/m each.
S_FIXED_OUTPUT = k * (s_u / sp.sqrt(m)) ** 2
#: The same under mean-field output scaling |u_i| = s_u/m.
S_MEAN_FIELD_OUTPUT = k * (s_u / m) ** 2
#: Var of each coordinate of g in P^perp: g ~ N(0, c_T^2 (beta s_w)^2 S/d Pi) given the training outcome (R3).
VARIANCE_SCALE = C_T**2 * HIDDEN_SCALE**2 * S / d
#: Q = ||g||^2 / VARIANCE_SCALE: chi-square with DEGREES_OF_FREEDOM = ell degrees of freedom (R3).
CHI_SQUARE_STATISTIC = g_norm**2 / VARIANCE_SCALE
DEGREES_OF_FREEDOM = ell
#: ||g|| written through Q: ||g||^2 solved from the definition of Q, then the nonnegative root
#: (so ||g||/sqrt(S) = |c_T| beta s_w sqrt(Q/d)); c_T^2 is split off because c_T < 0 when eta*lam > 1.
_g2 = sp.Symbol("g_norm_sq", positive=True)
_ORTH_GRAD_NORM_SQ = sp.solve(sp.Eq(CHI_SQUARE_STATISTIC.subs(g_norm**2, _g2), Q), _g2)[0]
ORTH_GRAD_NORM = sp.Abs(C_T) * sp.sqrt(sp.simplify(_ORTH_GRAD_NORM_SQ / C_T**2))
#: E||g||^2 = VARIANCE_SCALE E[chi2_ell].
EXPECTED_ORTH_GRAD_NORM_SQ = VARIANCE_SCALE * chi_square.MEAN.subs(ell, DEGREES_OF_FREEDOM)
#: R4's event is Q > ell/2, half the mean of chi2_ell: ||g|| >= |c_T| beta s_w sqrt(S ell / (2d)). Its
#: failure probability is bounded by e^{-x} at the x = ell/16 where Laurent-Massart's lower threshold is
#: ell/2 (selfcheck a proves it; selfcheck g ties the bound, the probabilities and R5 to this threshold).
R4_THRESHOLD = ell / 2
ORTH_GRAD_LOWER_BOUND = ORTH_GRAD_NORM.subs(Q, R4_THRESHOLD)
#: Standard initialization (s_w = s_u = beta = 1), fixed output layer, no decay (lam = 0).
_STANDARD = {s_w: 1, s_u: 1, beta: 1}
ORTH_GRAD_LOWER_BOUND_STANDARD = ORTH_GRAD_LOWER_BOUND.subs(S, S_FIXED_OUTPUT).subs(_STANDARD).subs(lam, 0)
#: E L for a fixed output layer: m neurons, |u_i| = s_u/sqrt(m), ||Pi w_i(0)|| ~ (beta s_w/sqrt(d)) chi_ell.
EXPECTED_LIPSCHITZ = sp.Abs(C_T) * m * (s_u / sp.sqrt(m)) * (HIDDEN_SCALE / sp.sqrt(d)) * chi_square.CHI_MEAN
#: The stationary value of the orthogonal coordinate z = <Pi w_i, e> solving lam z = 0 for lam > 0
#: (selfchecks.weight_decay_step shows the orthogonal part of the stationarity equation is lam Pi w_i).
_z = sp.Symbol("z", real=True)
STATIONARY_ORTH_WEIGHT = sp.solve(sp.Eq(sp.Symbol("lam_positive", positive=True) * _z, 0), _z)[0]
#: lim_{T -> oo} |c_T| = lim r^T for r = |1 - eta*lam| in [0, 1), written r = 1/(1+s), s > 0.
_s, _T = sp.Symbol("s", positive=True), sp.Symbol("T_real", positive=True)
DECAY_LIMIT = sp.limit((1 + _s) ** (-_T), _T, sp.oo)
#: Three-layer networks (R3d): the first layer's backward vector z takes the place of u on the active set.
DEEP_VARIANCE_SCALE = HIDDEN_SCALE**2 * z_norm_sq / d

#: ell/d, the variable of R7's exponent in the codimension ratio.
ELL_OVER_D = sp.Symbol("r", positive=True)
#: sqrt(E||g||^2), whose exponents R7 reads.
RMS_ORTH_GRAD = sp.sqrt(EXPECTED_ORTH_GRAD_NORM_SQ)
#: R6's certified radius |N(x0)|/L at L = E L.
CERTIFIED_RADIUS_AT_EXPECTED_LIPSCHITZ = sp.Abs(N0) / EXPECTED_LIPSCHITZ
