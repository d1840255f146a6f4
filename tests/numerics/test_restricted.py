"""Tests of numerics.restricted: the network along a subspace, its coordinates, and input validation."""

from __future__ import annotations

import math

import pytest
import torch

from numerics.model import Network, forward
from numerics.restricted import as_basis, restrict
from tests.numerics.trained_networks import trained
from theory.parameters import ParameterError

F64 = torch.float64


@pytest.mark.parametrize("ell", [4, 60])  # q <= m keeps B's coordinates; q > m reduces to the row space
def test_the_restricted_network_is_the_network_along_the_subspace(ell):
    pop = trained(6, 70, ell, 20, seed=ell)
    B = pop.perp_basis
    problem = restrict(pop.net, pop.X0, B, data_subspace=pop.subspace).repeat(3)
    assert problem.A.shape[-1] == min(ell, 20)
    C = torch.randn(6, 3, problem.A.shape[-1], generator=torch.Generator().manual_seed(0), dtype=F64)
    delta = problem.embed(C)
    torch.testing.assert_close(delta.norm(dim=-1), C.norm(dim=-1), rtol=1e-13, atol=0)  # an isometry
    assert torch.all(pop.subspace.coordinates(delta).norm(dim=-1) <= 1e-13 * C.norm(dim=-1))  # into P^perp
    points = pop.X0.repeat_interleave(3, dim=1)
    torch.testing.assert_close(problem.value(C), forward(pop.net, points + delta), rtol=1e-12, atol=1e-13)
    value, gradient = problem.value_and_gradient(C)
    eps = 1e-6
    step = torch.zeros_like(C)
    step[..., 0] = eps
    numeric = (problem.value(C + step) - problem.value(C - step)) / (2 * eps)
    torch.testing.assert_close(gradient[..., 0], numeric, rtol=1e-5, atol=1e-8)


def test_a_rank_deficient_network_takes_the_qr_route():
    pop = trained(3, 70, 60, 20, seed=1)
    W = pop.net.W.clone()
    W[:, 1] = W[:, 0]  # a repeated neuron: W B has rank 19 < 20
    net = Network(W, pop.net.b, pop.net.u)
    problem = restrict(net, pop.X0, pop.perp_basis)
    assert problem.factor is not None and torch.equal(
        problem.factor, torch.eye(20, dtype=F64).expand(3, 20, 20)
    )
    C = torch.randn(3, 1, 20, generator=torch.Generator().manual_seed(2), dtype=F64)
    torch.testing.assert_close(
        problem.value(C), forward(net, pop.X0 + problem.embed(C)), rtol=1e-12, atol=1e-13
    )


def test_projectors_and_bases_describe_the_same_subspace():
    pop = trained(2, 12, 5, 8, seed=2)
    basis = as_basis(pop.subspace.perp_projector(), pop.net)
    assert basis is not None and basis.shape == (12, 5)
    torch.testing.assert_close(basis @ basis.T, pop.subspace.perp_projector(), rtol=0, atol=1e-13)
    assert as_basis(None, pop.net) is None


def test_validation_messages():
    pop = trained(2, 12, 5, 8, seed=3)
    net, X0, B = pop.net, pop.X0, pop.perp_basis
    bad = [
        (
            lambda: restrict(net, X0 + 1e-3 * B[:, 0], B, data_subspace=pop.subspace),
            "X0 is invalid: a point is off",
        ),
        (lambda: restrict(Network(net.W, -torch.ones_like(net.b), net.u * 0), X0, B), "zero network"),
        (lambda: restrict(Network(net.W * 0, -torch.ones_like(net.b), net.u), X0, B), "zero network"),
        (lambda: restrict(Network(net.W, net.b * math.inf, net.u), X0, B), "non-finite b"),
        (lambda: restrict(Network(net.W[..., :-1], net.b, net.u), X0, B), "X of shape"),
        (lambda: restrict(Network(net.W, net.b[:, :-1], net.u), X0, B), "net is invalid: expected W"),
        (lambda: restrict(net, X0 * math.nan, B), "X0 is invalid: it has non-finite entries"),
        (lambda: restrict(net, X0.float(), B), "X0 is invalid: dtype"),
        (lambda: restrict(net, X0, 2 * B), "not orthonormal"),
        (lambda: restrict(net, X0, B.unsqueeze(0).expand(5, -1, -1)), "basis of shape"),
        (lambda: restrict(net, X0, torch.zeros(12, 12, dtype=F64)), "projector of rank 0"),
    ]
    for call, message in bad:
        with pytest.raises(ParameterError, match=message) as info:
            call()
        assert "\n" not in str(info.value)
