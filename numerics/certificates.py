"""Certified flip radii: radii r such that no z in the allowed subspace with ||z|| < r changes sign N(x0 + z).

Write ũ_i = sigma u_i with sigma = sign N(x0), so that sigma N(x0 + z) = sum_i ũ_i relu(h_i + t_i), with
h_i = <w_i, x0> + b_i, a_i the projection of w_i on the allowed subspace (Pi w_i for R6) and t_i = <a_i, z>.
On the ball ||z|| <= r, |t_i| <= rho_i = r ||a_i||, so neuron i is stably active (SA, h_i >= rho_i), stably
off (SO, h_i <= -rho_i) or unstable (U). Each bound below is a lower bound LB(r) <= sigma N(x0 + z) for every
z of the ball; every r with LB(r) > 0 is certified, and the function returns the largest such r it finds.

global (R6): LB = N' - r L, L = sum_i |u_i| ||a_i||, N' = |N(x0)|; radius N'/L.

piecewise (the construction of the issue): SA neurons are linear on the ball, SO ones constant, and an
    unstable one is bounded alone: ũ_i relu(h_i + t_i) >= 0 if ũ_i > 0 (a loss ũ_i relu(h_i) against
    N(x0)), >= ũ_i (h_i + rho_i) if ũ_i < 0 (a loss |ũ_i| (rho_i + min(h_i, 0))). Hence
        LB(r) = N' - r ||sum_SA ũ_i a_i|| - sum_{U, ũ>0} ũ_i relu(h_i) - sum_{U, ũ<0} |ũ_i| (rho_i +
        min(h_i, 0)).
    Between consecutive breakpoints r_i = |h_i| / ||a_i|| the classes are fixed and LB is affine and
    decreasing in r; at a breakpoint it jumps down or not at all, so the certified radius is its first
    zero, found exactly by a scan of the sorted breakpoints. Every term is at most its global counterpart
    (relu(h_i) < rho_i for unstable i, and the norm of a sum is at most the sum of norms), so this radius is
    never below the global one.

spectral (ours): every neuron gets a bound linear or quadratic in t_i, and the sum is bounded over the
    ball as a whole, where the directions a_i, nearly orthogonal in high dimension, stop adding up. Given
    a curvature budget d >= 0, each term is bounded below by ũ_i (q_i(0) + c_i t + kappa_i t^2) with a
    loss q_i(0) - relu(h_i) >= 0 against N(x0):
    - SA: relu(h_i + t) = h_i + t (c_i = 1); SO: relu = 0 (c_i = 0); unstable with ũ_i > 0:
      relu(h_i + t) >= 1[h_i > 0] (h_i + t), exact at t = 0 (c_i = 1[h_i > 0], no loss); all kappa_i = 0;
    - unstable with ũ_i < 0 (an upper bound on relu is needed): the tangent parabola
      relu(h + t) <= (h + t + s)^2 / (4 s), valid on all of R for every s >= |h| (it touches both
      branches), with s = max(|h|, 1/(4 d)) while that is <= rho (loss (s - |h|)^2 / (4 s), c = (h + s)/(2s),
      kappa = 1/(4s) <= d); otherwise the chord of relu over [h - rho, h + rho] bent down by
      kappa (rho^2 - t^2), valid on that interval for kappa <= (rho - |h|)/(4 rho^2), with
      kappa = min(d, (rho - |h|)/(4 rho^2)) (loss (rho - |h|)/2 - kappa rho^2, c = (h + rho)/(2 rho)).
    Then sigma N(x0 + z) >= N' - sum_i |ũ_i| loss_i + <v, z> - z^T M z with v = sum_i c_i ũ_i a_i and
    M = sum_{U, ũ<0} |ũ_i| kappa_i a_i a_i^T <= d K in the Loewner order, K = sum_{ũ<0} |ũ_i| a_i a_i^T
    (fixed per point). For any mu > d lambda_max(K), since ||z||^2 <= r^2 (Lagrangian duality for the
    trust-region problem),
        <v, z> - d z^T K z >= -(1/4) v^T (mu I - d K)^{-1} v - mu r^2,
    evaluated in K's eigenbasis (one eigendecomposition per point) with mu from a safeguarded Newton
    iteration on the secular equation ||(mu I - d K)^{-1} v|| = 2 r (every mu > d lambda_max gives a valid
    bound; Newton only makes it tight). The budget d = tau N' / (r^2 lambda_max(K)) is scanned over TAUS;
    tau = 0 is the linear (triangle) relaxation with the chord for every unstable negative neuron.

A certified r must satisfy LB(r) > MARGIN * sum_i |ũ_i| (|h_i| + rho_i): float64 evaluates each bound with a
relative error of a few (m + q) eps of that sum (sums of m terms, an eigendecomposition backward-stable to
~q eps ||K||), which for m, q <= 10^4 is below 10^-11; the margin 10^-9 is far above that and costs about
10^-9 of the radius. The returned radius is the largest of the three, so never below the global one.

Shapes: R runs, p points; results (R, p). Inf where nothing in the subspace moves N (L = 0), 0 where N(x0) =
0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from numerics.model import Network
from numerics.restricted import RestrictedNetwork, restrict
from numerics.subspace import Subspace
from theory.parameters import ParameterError

__all__ = ["Certificates", "certificates", "certified_flip_radius", "MARGIN", "spectral_lower_bound", "TAUS"]

#: Relative margin a certified radius keeps against rounding (module docstring).
MARGIN = 1e-9
#: Curvature budgets tau scanned by the spectral bound (tau = 0: the linear relaxation).
TAUS: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.5)
_NEWTON_STEPS = 8  # secular-equation steps per evaluation
_SEARCH_STEPS = 40  # bracket refinements of the spectral radius (each shrinks the bracket by >= 1/2 in log r)


@dataclass
class Certificates:
    """Certified radii of the three bounds of the module docstring, and their maximum."""

    global_: torch.Tensor  # (R, p) N' / L
    piecewise: torch.Tensor  # (R, p) first zero of the stable/unstable bound
    spectral: torch.Tensor  # (R, p) largest r found with the spectral bound > margin (0: none)
    radius: torch.Tensor  # (R, p) the maximum of the three


@dataclass
class _Geometry:
    """What every bound reads, per run and point."""

    h: torch.Tensor  # (R, p, m)
    ut: torch.Tensor  # (R, p, m) ũ_i = sigma u_i
    G: torch.Tensor  # (R, m, m) Gram matrix <a_i, a_j>
    norms: torch.Tensor  # (R, 1, m) ||a_i||
    N: torch.Tensor  # (R, p) N' = |N(x0)|
    A: torch.Tensor  # (R, m, q) rows a_i in coordinates of the subspace (any factor of G)

    def margin(self, r: torch.Tensor) -> torch.Tensor:
        """MARGIN * sum_i |ũ_i| (|h_i| + r ||a_i||), (R, p) for r (R, p)."""
        scale = self.ut.abs() * (self.h.abs() + r.unsqueeze(-1) * self.norms)
        return MARGIN * scale.sum(-1)


def _geometry(problem: RestrictedNetwork) -> _Geometry:
    A = problem.A
    G = A @ A.transpose(1, 2)
    norms = G.diagonal(dim1=-2, dim2=-1).clamp_min(0).sqrt().unsqueeze(1)
    return _Geometry(
        problem.H, problem.sigma.unsqueeze(-1) * problem.u.unsqueeze(1), G, norms, problem.f0.abs(), A
    )


def _quadratic_form(G: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """w^T G w for w (R, P, T, m) and G (R, m, m): (R, P, T), clamped at 0 (G is a Gram matrix)."""
    R, P, T, m = w.shape
    Gw = torch.bmm(w.reshape(R, P * T, m), G).reshape(R, P, T, m)
    return (Gw * w).sum(-1).clamp_min(0)


def _global_radius(geo: _Geometry) -> torch.Tensor:
    L = (geo.ut.abs() * geo.norms).sum(-1)  # (R, p): |ũ_i| = |u_i|
    return torch.where(L > 0, geo.N / torch.where(L > 0, L, 1.0), float("inf"))


def _piecewise_radius(geo: _Geometry) -> torch.Tensor:
    """The first zero of the piecewise bound, by a scan of its sorted breakpoints (module docstring)."""
    h, ut, norms = geo.h, geo.ut, geo.norms.expand_as(geo.h)
    R, p, m = h.shape
    moving = norms > 0
    r_break = torch.where(moving, h.abs() / torch.where(moving, norms, 1.0), float("inf"))
    r_sorted, order = r_break.sort(-1)
    start = torch.cat(
        [torch.zeros_like(r_sorted[..., :1]), r_sorted], -1
    )  # interval j: [start_j, start_{j+1})
    # In interval j the neurons with r_i <= start_j are unstable (index order: the j smallest r_i).
    rank = torch.empty_like(order).scatter_(-1, order, torch.arange(m, device=h.device).expand_as(order))
    j = torch.arange(m + 1, device=h.device).reshape(1, 1, -1, 1)
    unstable = rank.unsqueeze(2) < j  # (R, p, m + 1, m)
    active = (h > 0).unsqueeze(2) & ~unstable  # SA: stable and h > 0 (stable with h <= 0 is SO)
    norm_SA = _quadratic_form(geo.G, torch.where(active, ut.unsqueeze(2), 0.0)).sqrt()  # (R, p, m + 1)
    pos = (ut > 0).unsqueeze(2) & unstable
    neg = (ut < 0).unsqueeze(2) & unstable
    # LB(r) = alpha_j - beta_j r on interval j, minus the margin (affine in r too).
    alpha = geo.N.unsqueeze(-1) - torch.where(pos, (ut * torch.relu(h)).unsqueeze(2), 0.0).sum(-1)
    alpha = alpha - torch.where(neg, (ut.abs() * torch.clamp(h, max=0)).unsqueeze(2), 0.0).sum(-1)
    beta = norm_SA + torch.where(neg, (ut.abs() * norms).unsqueeze(2), 0.0).sum(-1)
    alpha = alpha - MARGIN * (ut.abs() * h.abs()).sum(-1, keepdim=True)
    beta = beta + MARGIN * (ut.abs() * norms).sum(-1, keepdim=True)
    end = torch.cat([r_sorted, torch.full_like(r_sorted[..., :1], float("inf"))], -1)
    finite_start = torch.isfinite(start)
    value_at_start = alpha - beta * torch.where(finite_start, start, 0.0)
    root = torch.where(beta > 0, alpha / torch.where(beta > 0, beta, 1.0), float("inf"))
    # The first interval that is not certified all through: LB <= 0 at its start, or its root before its end.
    fails_at_start = finite_start & (value_at_start <= 0)
    fails_inside = finite_start & ~fails_at_start & (root < end)
    first = ((fails_at_start | fails_inside).cumsum(-1) == 0).sum(-1, keepdim=True).clamp(max=m)
    radius = torch.where(
        fails_at_start.gather(-1, first), start.gather(-1, first), root.gather(-1, first).clamp_min(0)
    ).squeeze(-1)
    none_fails = ~(fails_at_start | fails_inside).any(-1)
    return torch.where(none_fails, float("inf"), radius)


@dataclass
class _Spectrum:
    """K = sum_{ũ_i < 0} |ũ_i| a_i a_i^T per point in its eigenbasis: eigenvalues and the rows a_i there."""

    values: torch.Tensor  # (R, p, q) ascending, inflated by the eigensolver's error bound
    rows: torch.Tensor  # (R, p, m, q) E^T a_i: the coordinates of a_i in K's eigenbasis


def _spectrum(geo: _Geometry) -> _Spectrum:
    weight = torch.where(geo.ut < 0, geo.ut.abs(), 0.0)  # (R, p, m)
    R, p, m = weight.shape
    q = geo.A.shape[-1]
    A = geo.A.unsqueeze(1).expand(R, p, m, q)
    K = (A * weight.unsqueeze(-1)).transpose(-1, -2) @ A  # (R, p, q, q)
    values, vectors = torch.linalg.eigh(K)
    # eigh is backward stable: the computed pairs are exact for K + E, ||E|| <= ~q eps ||K||; adding
    # 64 q eps lambda_max to every eigenvalue keeps d K below the matrix the bound uses.
    slack = 64 * q * torch.finfo(K.dtype).eps * values[..., -1:].abs()
    return _Spectrum((values + slack).clamp_min(0), A @ vectors)


def _spectral_bound(geo: _Geometry, spec: _Spectrum, r: torch.Tensor) -> torch.Tensor:
    """max over tau in TAUS of the spectral lower bound at radius r (R, p) (module docstring): (R, p).

    The raw bound, without the rounding margin (the search subtracts it).
    """
    h, ut = geo.h.unsqueeze(2), geo.ut.unsqueeze(2)  # (R, p, 1, m)
    rho = r.reshape(*r.shape, 1, 1) * geo.norms.unsqueeze(2)  # (R, p, 1, m)
    top = spec.values[..., -1]  # lambda_max(K), (R, p)
    tau = torch.tensor(TAUS, dtype=h.dtype, device=h.device).reshape(1, 1, -1, 1)
    # The curvature budget d (per tau) and each unstable negative neuron's curvature kappa_i <= d.
    d = tau * (geo.N / torch.where(top > 0, r.square() * top, 1.0)).reshape(*r.shape, 1, 1)
    d = torch.where((top > 0).reshape(*r.shape, 1, 1), d, 0.0)  # (R, p, T, 1)
    stable_on, stable_off = h >= rho, h <= -rho
    unstable = ~(stable_on | stable_off)
    negative = unstable & (ut < 0)
    habs = h.abs()
    safe_rho = torch.where(rho > 0, rho, 1.0)
    # Tangent parabolas: s = max(|h|, 1/(4 d)), usable while s <= rho.
    s = torch.maximum(habs, 1.0 / (4.0 * torch.where(d > 0, d, 1e-300)))
    tangent = negative & (s <= rho)
    safe_s = torch.where(tangent, s, 1.0)
    tangent_loss = (s - habs).square() / (4.0 * safe_s)
    tangent_slope = (h + s) / (2.0 * safe_s)
    # Bent chords: kappa = min(d, (rho - |h|) / (4 rho^2)).
    kappa = torch.minimum(d, (rho - habs) / (4.0 * safe_rho.square()))
    chord_loss = (rho - habs) / 2.0 - kappa * rho.square()
    chord_slope = (h + rho) / (2.0 * safe_rho)
    loss = torch.where(tangent, tangent_loss, torch.where(negative, chord_loss, 0.0))
    slope = torch.where(tangent, tangent_slope, chord_slope)
    c = torch.where(negative, slope, torch.where(stable_on | (unstable & (h > 0)), 1.0, 0.0))
    w = c * ut  # (R, p, T, m): v = sum_i w_i a_i
    constant = geo.N.unsqueeze(-1) - (ut.abs() * loss).sum(-1)  # (R, p, T)
    v = torch.einsum("rptm,rpmq->rptq", w, spec.rows)  # v in K's eigenbasis
    quadratic = _trust_region_bound(v, d * spec.values.unsqueeze(2), r.unsqueeze(-1))
    return (constant + quadratic).amax(-1)


def _trust_region_bound(v: torch.Tensor, a: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """A lower bound on min_{||z|| <= r} <v, z> - z^T diag(a) z for a >= 0: (R, p, T).

    -(1/4) sum_e v_e^2 / (mu - a_e) - mu r^2 for one mu > max_e a_e (valid for every such mu); mu solves
    ||z(mu)|| = r, z(mu)_e = v_e / (2 (mu - a_e)), by Newton steps on the concave, increasing secular
    function 1/||z(mu)|| - 1/r, started where ||z|| <= r (one step lands left of the root, the following ones
    increase monotonically towards it), and kept above max a.
    """
    vv = v.square()
    top = a.amax(-1)
    floor = top + 1e-12 * top.abs() + 1e-300
    mu = torch.maximum(floor, top + vv.sum(-1).sqrt() / (2.0 * r))  # here ||z(mu)|| <= r
    for _ in range(_NEWTON_STEPS):
        gap = (mu.unsqueeze(-1) - a).clamp_min(1e-300)
        s2 = 0.25 * (vv / gap.square()).sum(-1)  # ||z||^2
        ds2 = -0.5 * (vv / gap.pow(3)).sum(-1)  # d ||z||^2 / d mu
        psi = s2.rsqrt() - 1.0 / r
        dpsi = -0.5 * s2.pow(-1.5) * ds2
        step = torch.where(dpsi > 0, psi / torch.where(dpsi > 0, dpsi, 1.0), 0.0)
        candidate = mu - step
        # Below the pole the formula is meaningless; halve the distance to it instead.
        mu = torch.where(candidate > floor, candidate, 0.5 * (mu + floor))
        mu = torch.where(torch.isfinite(mu), mu, floor)
    gap = (mu.unsqueeze(-1) - a).clamp_min(1e-300)
    return -0.25 * (vv / gap).sum(-1) - mu * r.square()


def _spectral_radius(geo: _Geometry, low: torch.Tensor, upper: torch.Tensor | None) -> torch.Tensor:
    """The largest r in a bracket search with the spectral bound > margin; 0 where low is not certified."""
    spec = _spectrum(geo)
    bound = lambda r: _spectral_bound(geo, spec, r) - geo.margin(r)  # noqa: E731
    low = torch.where(torch.isfinite(low) & (low > 0), low, 0.0)
    tiny = torch.finfo(low.dtype).tiny
    # A certified start: just below the other bounds' radius (where those are tight, as on an affine
    # network, the spectral bound is too and fails at it only by the margin), else half of it.
    lo = torch.zeros_like(low)
    for factor in (1 - 1e-6, 0.5, 0.05):
        start = factor * low
        ok = (lo == 0) & (start > 0) & (bound(torch.where(start > 0, start, 1.0)) > 0)
        lo = torch.where(ok, start, lo)
    good = lo > 0
    hi = (
        torch.full_like(lo, float("inf"))
        if upper is None
        else torch.where(good, torch.maximum(upper, lo), lo)
    )
    finite = torch.isfinite(hi)
    at_hi = good & finite & (bound(torch.where(finite & (hi > 0), hi, 1.0)) > 0)
    lo = torch.where(at_hi, hi, lo)  # the bound holds at the given flip radius itself (an exact case)
    # Without a finite upper end, double until the bound fails (it does: LB -> -inf as r grows).
    growing = good & ~finite
    hi = torch.where(growing, 2.0 * lo, hi)
    for _ in range(60):
        if not bool(growing.any()):
            break
        ok = growing & (bound(torch.where(growing, hi, 1.0)) > 0)
        lo = torch.where(ok, hi, lo)
        growing = ok
        hi = torch.where(ok, 2.0 * hi, hi)
    for _ in range(_SEARCH_STEPS):
        open_ = (lo > 0) & (hi > lo * (1.0 + 1e-12)) & torch.isfinite(hi)
        if not bool(open_.any()):
            break
        mid = torch.where(open_, (lo * hi).clamp_min(tiny).sqrt(), lo)
        ok = open_ & (bound(torch.where(mid > 0, mid, 1.0)) > 0)
        lo = torch.where(ok, mid, lo)
        hi = torch.where(open_ & ~ok, mid, hi)
    return lo


def certificates(
    net: Network,
    X0: torch.Tensor,
    perp: torch.Tensor | None,
    *,
    upper: torch.Tensor | None = None,
    data_subspace: Subspace | None = None,
) -> Certificates:
    """The global, piecewise and spectral certified radii (module docstring) and their maximum.

    Args:
        net: R networks.
        X0: points (R, p, d) or (p, d).
        perp: the allowed subspace: Pi (d, d) or (R, d, d) for R6, or orthonormal columns (d, q) or (R, d, q);
            None for all of R^d.
        upper: optional flip radii (R, p) (an attack's norms) that bracket the spectral search: faster, and
            the result never exceeds them. They must be radii of flips (no check reads them as proof).
        data_subspace: the data subspace P; if given, every x0 must lie in P (to rounding).
    Returns:
        Certificates, every field (R, p).
    """
    problem = restrict(net, X0, perp, data_subspace=data_subspace)
    R, p, _ = problem.H.shape
    if upper is not None:
        if upper.shape != (R, p) or upper.dtype != problem.H.dtype:
            raise ParameterError(
                f"upper of shape {tuple(upper.shape)} is invalid: expected ({R}, {p}) floats"
            )
        if bool(torch.isnan(upper).any()) or bool((upper < 0).any()):
            raise ParameterError("upper is invalid: expected nonnegative radii (inf where no flip is known)")
    geo = _geometry(problem)
    zero = geo.N == 0
    global_ = torch.where(zero, 0.0, _global_radius(geo))
    piecewise = torch.where(zero, 0.0, torch.maximum(_piecewise_radius(geo), global_))
    low = torch.maximum(global_, piecewise)
    spectral = torch.where(zero | torch.isinf(global_), global_, _spectral_radius(geo, low, upper))
    return Certificates(global_, piecewise, spectral, torch.maximum(low, spectral))


def certified_flip_radius(
    net: Network,
    X0: torch.Tensor,
    perp: torch.Tensor | None,
    *,
    upper: torch.Tensor | None = None,
    data_subspace: Subspace | None = None,
) -> torch.Tensor:
    """The best certified radius of `certificates` (R, p): no z in the subspace shorter than it flips N.

    Same arguments as `certificates`; never below |N(x0)|/L (R6's `certified_orthogonal_radius`).
    """
    return certificates(net, X0, perp, upper=upper, data_subspace=data_subspace).radius


def spectral_lower_bound(
    net: Network, X0: torch.Tensor, perp: torch.Tensor | None, r: torch.Tensor
) -> torch.Tensor:
    """The spectral bound LB(r) (module docstring), without the margin: sigma N(x0 + z) >= LB(r) for every
    z in the subspace with ||z|| <= r. r (R, p) > 0; returns (R, p)."""
    problem = restrict(net, X0, perp)
    if r.shape != problem.f0.shape or not bool((r > 0).all()) or not bool(torch.isfinite(r).all()):
        raise ParameterError(
            f"r of shape {tuple(r.shape)} is invalid: expected finite radii > 0 of shape "
            f"{tuple(problem.f0.shape)}"
        )
    geo = _geometry(problem)
    return _spectral_bound(geo, _spectrum(geo), r)
