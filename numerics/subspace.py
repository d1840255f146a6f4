"""The data subspace P of R^d and the orthogonal projector Pi onto its complement P^perp.

P has dimension r = d - ell and is represented by an orthonormal basis B (d, r), so that Pi = I - B B^T.
By default P is a uniformly random (Haar) r-dimensional subspace; the axis-aligned option spans the first
r coordinate axes. The difference matters only for coordinate-wise optimizers (Adam, result R1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from theory.parameters import ParameterError, validate

__all__ = ["make_subspace", "Subspace"]


@dataclass(frozen=True)
class Subspace:
    """A linear subspace P of R^d given by an orthonormal basis B of shape (d, r), r = d - ell."""

    basis: torch.Tensor  # (d, r) orthonormal columns spanning the data subspace P

    def __post_init__(self) -> None:
        B = self.basis
        if B.ndim != 2 or not 1 <= B.shape[1] < B.shape[0]:
            raise ParameterError(
                f"basis of shape {tuple(B.shape)} is invalid: expected (d, r) with 1 <= r < d"
            )
        # Orthonormal to a few hundred roundings of the working precision (QR meets this with room).
        gram_error = (B.T @ B - torch.eye(B.shape[1], dtype=B.dtype, device=B.device)).abs().max().item()
        if not gram_error <= 100 * B.shape[0] * torch.finfo(B.dtype).eps:
            raise ParameterError(
                f"basis is invalid: columns are not orthonormal (max |B^T B - I| = {gram_error:.1e})"
            )

    @property
    def d(self) -> int:
        """Input dimension d."""
        return self.basis.shape[0]

    @property
    def r(self) -> int:
        """Dimension r = d - ell of P."""
        return self.basis.shape[1]

    @property
    def ell(self) -> int:
        """Codimension ell = d - r of P."""
        return self.d - self.r

    def perp_projector(self) -> torch.Tensor:
        """Pi = I_d - B B^T, the orthogonal projector onto P^perp, shape (d, d)."""
        B = self.basis
        return torch.eye(self.d, dtype=B.dtype, device=B.device) - B @ B.T

    def embed(self, Z: torch.Tensor) -> torch.Tensor:
        """Latent coordinates in P to points of R^d: (..., r) -> (..., d), x = B z (an isometry)."""
        return Z @ self.basis.T

    def coordinates(self, X: torch.Tensor) -> torch.Tensor:
        """Coordinates of the projection onto P: (..., d) -> (..., r), z = B^T x."""
        return X @ self.basis

    def project_perp(self, X: torch.Tensor) -> torch.Tensor:
        """Pi x for every row: (..., d) -> (..., d); equals X @ Pi, computed as x - B (B^T x) in O(d r)."""
        return X - (X @ self.basis) @ self.basis.T

    def complement_basis(self) -> torch.Tensor:
        """An orthonormal basis (d, ell) of P^perp: the last ell columns of the complete QR of B."""
        Q, _ = torch.linalg.qr(self.basis, mode="complete")
        return Q[:, self.r :]


def _signs(values: torch.Tensor) -> torch.Tensor:
    """sign(values) with sign(0) = +1."""
    return torch.where(values < 0, -1.0, 1.0).to(values.dtype)


def make_subspace(
    d: int,
    ell: int,
    *,
    seed: int,
    axis_aligned: bool = False,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> Subspace:
    """A (d - ell)-dimensional subspace P of R^d: Haar-random, or span{e_1, ..., e_r} if axis_aligned.

    Haar: B = Q diag(sign(diag R)) for the QR factorization Q R of a (d, r) standard Gaussian matrix;
    the sign fix makes the law exactly uniform on the Stiefel manifold and the result deterministic.
    Drawn on the CPU in float64 so a seed gives the same P on every device and dtype.
    """
    validate(d=d, ell=ell, seed=seed)
    r = d - ell
    if axis_aligned:
        B = torch.eye(d, r, dtype=torch.float64)
    else:
        gen = torch.Generator(device="cpu").manual_seed(seed)
        G = torch.randn(d, r, generator=gen, dtype=torch.float64)
        Q, R = torch.linalg.qr(G)
        B = Q * _signs(R.diagonal())
    return Subspace(B.to(dtype=dtype, device=device))
