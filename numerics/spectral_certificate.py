"""The spectral certified radius (ours), the third bound of `numerics.certificates`: a lower bound LB(r) <=
sigma N(x0 + z) over the whole ball ||z|| <= r of the allowed subspace, in the notation of that module.

Every neuron gets a bound linear or quadratic in t_i, and the sum is bounded over the
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
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from numerics.certificate_geometry import Geometry, geometry
from numerics.model import Network
from numerics.restricted import restrict
from theory.parameters import ParameterError

__all__ = ["spectral_lower_bound", "spectral_radius", "TAUS"]

#: Curvature budgets tau scanned by the spectral bound (tau = 0: the linear relaxation).
TAUS: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.5)
_NEWTON_STEPS = 8  # secular-equation steps per evaluation
_SEARCH_STEPS = 40  # bracket refinements of the spectral radius (each shrinks the bracket by >= 1/2 in log r)


@dataclass
class _Spectrum:
    """K = sum_{ũ_i < 0} |ũ_i| a_i a_i^T per point in its eigenbasis: eigenvalues and the rows a_i there."""

    values: torch.Tensor  # (R, p, q) ascending, inflated by the eigensolver's error bound
    rows: torch.Tensor  # (R, p, m, q) E^T a_i: the coordinates of a_i in K's eigenbasis


def _spectrum(geo: Geometry) -> _Spectrum:
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


def _spectral_bound(geo: Geometry, spec: _Spectrum, r: torch.Tensor) -> torch.Tensor:
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


def spectral_radius(geo: Geometry, low: torch.Tensor, upper: torch.Tensor | None) -> torch.Tensor:
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
    geo = geometry(problem)
    return _spectral_bound(geo, _spectrum(geo), r)
