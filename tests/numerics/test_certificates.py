"""Tests of numerics.certificates: the bounds hold at every probed point of the ball, never exceed an
attack's radius, never fall below the global certificate, and are exact where the network is affine."""

from __future__ import annotations

import math

import pytest
import torch

from numerics.attacks import certified_orthogonal_radius, check_sandwich, flip_along
from numerics.certificate_geometry import MARGIN
from numerics.certificates import certificates, certified_flip_radius
from numerics.minimal_flip import minimal_flip
from numerics.model import InitConfig, Network, forward, initialize, input_gradient, preactivations
from numerics.spectral_certificate import spectral_lower_bound
from numerics.subspace import make_subspace
from tests.numerics.trained_networks import trained
from theory.parameters import ParameterError

F64 = torch.float64
SIZES = [(20, 10, 64), (50, 40, 100), (110, 100, 40)]  # the last one has q = ell > m (reduced coordinates)


@pytest.mark.parametrize(("d", "ell", "m"), SIZES)
def test_certificates_never_exceed_the_attack_and_never_fall_below_the_global_one(d, ell, m):
    pop = trained(40, d, ell, m, seed=ell)
    perp = pop.subspace.perp_projector()
    attack = minimal_flip(pop.net, pop.X0, pop.perp_basis, seed=0)
    cert = certificates(pop.net, pop.X0, perp, data_subspace=pop.subspace)
    torch.testing.assert_close(
        cert.global_, certified_orthogonal_radius(pop.net, pop.X0, perp), rtol=1e-12, atol=0
    )
    for radius in (cert.global_, cert.piecewise, cert.spectral, cert.radius):
        check_sandwich(radius, attack.norm)  # raises SandwichViolation on any violation
    assert torch.all(cert.piecewise >= cert.global_) and torch.all(cert.radius >= cert.global_)
    assert torch.equal(cert.radius, torch.maximum(torch.maximum(cert.global_, cert.piecewise), cert.spectral))
    # Tighter by far than N'/L (the measured medians are 3x and 8x; the assertion leaves room).
    assert float((cert.piecewise / cert.global_).median()) > 1.5
    assert float((cert.radius / attack.norm).median()) > 0.5
    # Bracketing the search by the attack changes nothing but the cost.
    bracketed = certified_flip_radius(pop.net, pop.X0, perp, upper=attack.norm)
    torch.testing.assert_close(bracketed, cert.radius, rtol=1e-9, atol=0)


@pytest.mark.parametrize(("d", "ell", "m"), SIZES)
def test_the_spectral_bound_holds_at_every_probed_point_of_the_ball(d, ell, m):
    # sigma N(x0 + z) >= LB(r) for ||z|| <= r, probed at the attack's flip and path, the gradient direction
    # and random directions, for radii below and above the certified one (where LB < 0 must still hold).
    pop = trained(24, d, ell, m, seed=ell + 1)
    B = pop.perp_basis
    net, X0 = pop.net, pop.X0
    attack = minimal_flip(net, X0, B, seed=0)
    sigma = torch.sign(forward(net, X0))
    cert = certified_flip_radius(net, X0, B)
    gen = torch.Generator().manual_seed(ell)
    unit = attack.delta / attack.norm.unsqueeze(-1)
    g = (input_gradient(net, X0) @ B) @ B.T
    directions = [unit, -sigma.unsqueeze(-1) * g / g.norm(dim=-1, keepdim=True)]
    directions += [(torch.randn(net.runs, 1, ell, generator=gen, dtype=F64) @ B.T) for _ in range(20)]
    for factor in (0.5, 0.99, 1.5, 3.0):
        r = factor * cert
        lb = spectral_lower_bound(net, X0, B, r)
        for v in directions:
            v = v / v.norm(dim=-1, keepdim=True)
            for t in (0.25, 0.5, 0.75, 1.0):
                value = sigma * forward(net, X0 + (t * r).unsqueeze(-1) * v)
                assert torch.all(lb <= value + 1e-12 * value.abs().clamp_min(1.0)), (factor, t)
    # Inside the certified radius nothing flips along any probe (the margin keeps LB > 0 there).
    lb = spectral_lower_bound(net, X0, B, cert * (1 - 1e-6))
    assert torch.all((lb > 0) | (cert == 0))


def piecewise_bound_by_hand(net: Network, X0: torch.Tensor, perp: torch.Tensor, r: float) -> torch.Tensor:
    """The issue's construction evaluated neuron by neuron at one radius r, for R = p = 1."""
    h = preactivations(net, X0)[0, 0]
    sigma = float(torch.sign(forward(net, X0))[0, 0])
    u = sigma * net.u[0]
    a = net.W[0] @ perp
    norms = a.norm(dim=-1)
    value = abs(float(forward(net, X0)[0, 0]))
    v = torch.zeros_like(a[0])
    for i in range(net.width):
        rho = r * float(norms[i])
        if float(h[i]) >= rho:
            v = v + u[i] * a[i]
        elif float(h[i]) > -rho:
            value -= (
                float(u[i]) * max(float(h[i]), 0.0)
                if u[i] > 0
                else abs(float(u[i])) * (rho + min(float(h[i]), 0.0))
            )
    return torch.tensor(value - r * float(v.norm()))


def test_the_piecewise_radius_is_the_first_zero_of_the_bound():
    pop = trained(6, 12, 6, 10, seed=5)
    perp = pop.subspace.perp_projector()
    cert = certificates(pop.net, pop.X0, perp)
    for k in range(pop.net.runs):
        net, X0 = pop.net.select([k]), pop.X0[k : k + 1]
        radius = float(cert.piecewise[k, 0])
        # Positive (beyond the margin) on a grid below the radius, nonpositive just above it.
        scale = float(
            (
                net.u.abs() * (preactivations(net, X0)[0, 0].abs() + radius * (net.W[0] @ perp).norm(dim=-1))
            ).sum()
        )
        for r in torch.linspace(0, radius, 200)[1:-1].tolist():
            assert float(piecewise_bound_by_hand(net, X0, perp, r)) > MARGIN * scale * 0.99
        assert float(piecewise_bound_by_hand(net, X0, perp, radius * (1 + 1e-7))) <= MARGIN * scale * 1.01


def test_exact_where_every_neuron_stays_active():
    # Huge biases: N is affine on every ball the certificates consider, N(x0 + z) = N(x0) + <g, z>, so the
    # exact radius N'/||Pi g|| is certified by the piecewise and the spectral bound (up to the margin).
    d, ell, R = 8, 4, 3
    sub = make_subspace(d, ell, seed=9)
    net = initialize(InitConfig(m=6), d, R, seed=10)
    net.b = torch.full_like(net.b, 50.0)
    net.u = torch.tensor([[1.0, -1.0, 1.0, -1.0, 1.0, -1.3]], dtype=F64).expand(R, -1).contiguous()
    X0 = sub.embed(torch.randn(R, 2, d - ell, generator=torch.Generator().manual_seed(11), dtype=F64))
    perp = sub.perp_projector()
    exact = forward(net, X0).abs() / (input_gradient(net, X0) @ perp).norm(dim=-1)
    cert = certificates(net, X0, perp)
    torch.testing.assert_close(cert.piecewise, exact, rtol=1e-7, atol=0)
    torch.testing.assert_close(cert.spectral, exact, rtol=1e-7, atol=0)
    line = flip_along(net, X0, -torch.sign(forward(net, X0)).unsqueeze(-1) * (input_gradient(net, X0) @ perp))
    check_sandwich(cert.radius, line.norm)
    assert torch.all(cert.global_ < cert.radius)


def test_edge_cases_zero_output_and_nothing_moving():
    pop = trained(4, 12, 6, 8, seed=6)
    perp = pop.subspace.perp_projector()
    off = Network(pop.net.W, pop.net.b - 1e3, pop.net.u)  # N(x0) = 0: no radius
    assert torch.all(certified_flip_radius(off, pop.X0, perp) == 0)
    # Weights exactly in an axis-aligned P: Pi w_i = 0, nothing orthogonal moves N.
    axis = make_subspace(12, 6, seed=0, axis_aligned=True)
    W = pop.net.W.clone()
    W[..., 6:] = 0
    X0 = axis.embed(torch.randn(pop.net.runs, 1, 6, generator=torch.Generator().manual_seed(1), dtype=F64))
    inside = Network(W, pop.net.b, pop.net.u)
    radius = certified_flip_radius(inside, X0, axis.perp_projector())
    assert torch.all(torch.isinf(radius[forward(inside, X0) != 0]))


def test_bad_input_gets_one_line_value_errors():
    pop = trained(4, 12, 6, 8, seed=7)
    perp = pop.subspace.perp_projector()
    with pytest.raises(ParameterError, match="X0 is invalid: a point is off"):
        certificates(pop.net, pop.X0 + 1e-3 * perp[0], perp, data_subspace=pop.subspace)
    with pytest.raises(ParameterError, match="zero network"):
        certificates(Network(pop.net.W, pop.net.b, 0 * pop.net.u), pop.X0, perp)
    with pytest.raises(ParameterError, match="perp|basis"):
        certificates(pop.net, pop.X0, perp + 1e-3)
    with pytest.raises(ParameterError, match="upper of shape"):
        certificates(pop.net, pop.X0, perp, upper=torch.ones(3, dtype=F64))
    with pytest.raises(ParameterError, match="upper is invalid"):
        certificates(pop.net, pop.X0, perp, upper=-torch.ones(pop.net.runs, 1, dtype=F64))
    with pytest.raises(ParameterError, match="r of shape"):
        spectral_lower_bound(pop.net, pop.X0, perp, torch.zeros(pop.net.runs, 1, dtype=F64))
    with pytest.raises(ParameterError, match="non-finite"):
        certificates(Network(pop.net.W, pop.net.b * math.nan, pop.net.u), pop.X0, perp)
