"""The data subspace P and the projector Pi onto P^perp."""

from __future__ import annotations

import math

import pytest
import scipy.stats
import torch

from numerics.subspace import Subspace, make_subspace
from theory.parameters import ParameterError

EPS = torch.finfo(torch.float64).eps


@pytest.mark.parametrize("axis_aligned", [False, True])
def test_basis_is_orthonormal_and_projector_is_exact(axis_aligned: bool) -> None:
    P = make_subspace(12, 7, seed=3, axis_aligned=axis_aligned)
    B, Pi = P.basis, P.perp_projector()
    assert (P.d, P.ell, P.r) == (12, 7, 5) and B.shape == (12, 5) and B.dtype == torch.float64
    assert torch.allclose(B.T @ B, torch.eye(5, dtype=torch.float64), rtol=0, atol=10 * EPS)
    assert torch.allclose(Pi, Pi.T, rtol=0, atol=0)
    assert torch.allclose(Pi @ Pi, Pi, rtol=0, atol=20 * EPS)
    assert (Pi @ B).abs().max() <= 20 * EPS
    assert abs(torch.trace(Pi).item() - 7) <= 20 * EPS  # rank ell


def test_axis_aligned_spans_the_first_coordinate_axes() -> None:
    P = make_subspace(5, 2, seed=0, axis_aligned=True)
    assert torch.equal(P.basis, torch.eye(5, 3, dtype=torch.float64))
    assert torch.equal(P.perp_projector(), torch.diag(torch.tensor([0.0, 0, 0, 1, 1], dtype=torch.float64)))


def test_embed_is_an_isometry_into_P_and_project_perp_is_X_times_Pi() -> None:
    P = make_subspace(20, 13, seed=1)
    gen = torch.Generator().manual_seed(0)
    Z = torch.randn(4, 9, P.r, generator=gen, dtype=torch.float64)
    X = P.embed(Z)
    assert X.shape == (4, 9, 20)
    assert torch.allclose(torch.cdist(X, X), torch.cdist(Z, Z), rtol=0, atol=1e-13)
    assert P.project_perp(X).norm(dim=-1).max() <= 1e-14 * X.norm(dim=-1).max()
    assert torch.allclose(P.coordinates(X), Z, rtol=0, atol=1e-14)
    V = torch.randn(3, 20, generator=gen, dtype=torch.float64)
    assert torch.allclose(P.project_perp(V), V @ P.perp_projector(), rtol=0, atol=1e-14)


@pytest.mark.parametrize("axis_aligned", [False, True])
def test_complement_basis_spans_P_perp(axis_aligned: bool) -> None:
    P = make_subspace(9, 4, seed=2, axis_aligned=axis_aligned)
    C = P.complement_basis()
    assert C.shape == (9, 4)
    assert torch.allclose(C.T @ C, torch.eye(4, dtype=torch.float64), rtol=0, atol=10 * EPS)
    assert torch.allclose(C @ C.T, P.perp_projector(), rtol=0, atol=20 * EPS)


def test_same_seed_same_bytes_other_seed_other_subspace() -> None:
    a, b, c = (make_subspace(30, 10, seed=s) for s in (5, 5, 6))
    assert torch.equal(a.basis, b.basis)
    assert not torch.allclose(a.perp_projector(), c.perp_projector())


def test_dtype_and_device_are_applied_after_a_float64_draw() -> None:
    P64 = make_subspace(10, 4, seed=7)
    P32 = make_subspace(10, 4, seed=7, dtype=torch.float32)
    assert P32.basis.dtype == torch.float32
    assert torch.equal(P32.basis, P64.basis.to(torch.float32))


def test_random_subspace_is_uniform() -> None:
    # For a uniformly random ell-dimensional P^perp in R^d, ||Pi e_1||^2 ~ Beta(ell/2, (d-ell)/2).
    # 400 seeds; KS test at false-fail rate 1e-3. Detects e.g. an axis-aligned or a Gaussian-without-QR
    # construction, whose laws are far from this Beta.
    d, ell = 6, 2
    values = [make_subspace(d, ell, seed=s).perp_projector()[0, 0].item() for s in range(400)]
    assert scipy.stats.kstest(values, scipy.stats.beta(ell / 2, (d - ell) / 2).cdf).pvalue > 1e-3


@pytest.mark.parametrize(("d", "ell"), [(5, 5), (5, 0), (1, 1), (5, 7)])
def test_bad_dimensions_raise(d: int, ell: int) -> None:
    with pytest.raises(ParameterError):
        make_subspace(d, ell, seed=0)


def test_bad_seed_and_bad_basis_raise() -> None:
    with pytest.raises(ParameterError, match="seed"):
        make_subspace(5, 2, seed=-1)
    with pytest.raises(ParameterError, match="orthonormal"):
        Subspace(torch.ones(4, 2, dtype=torch.float64))
    with pytest.raises(ParameterError, match="basis"):
        Subspace(torch.eye(3, dtype=torch.float64))  # r = d: no orthogonal complement
    Subspace(torch.full((2, 1), 1 / math.sqrt(2), dtype=torch.float64))  # accepted
