"""The data subspace P of an audit: given as a basis, or read off the training data X (n, d).

With the singular values s_1 >= ... of X, the rank tolerance is tau = max(n, d) eps s_1 (eps of the dtype
the data were stored in; NumPy's `matrix_rank` convention), and:
- exact span: P = span of the right singular vectors with s_j > tau (the data lie in P to rounding);
- `rank` R: the top R singular directions; `variance` V: the fewest top directions whose s_j^2 add up to a
  fraction >= V of sum s_j^2 (principal subspace; uncentred, as P must be a linear subspace);
- `basis` B (d, r): orthonormal columns to 100 d eps (as `numerics.subspace.Subspace`), and it must
  contain the data to the rank tolerance (||Pi x_j|| <= tau for every j), or it is bad input.
The data lie in P when every discarded s_j <= tau (R, V) or the basis contains them; otherwise the residual
||Pi x_j|| of every training point is reported and the claims whose hypothesis is "the data lie in P" are
marked as tested outside their hypothesis. ell = d - dim P must be >= 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from numerics.subspace import Subspace
from theory.parameters import ParameterError
from verify.audit.loading import AuditInputError

__all__ = ["DataSubspace", "data_subspace"]


@dataclass(frozen=True)
class DataSubspace:
    """P as an orthonormal basis (d, r), how it was chosen, and how far the training data are from it."""

    subspace: Subspace  # basis (d, r) float64
    how: str  # "basis", "rank", "variance" or "exact span"
    tolerance: float  # the rank tolerance tau (absolute, in the units of X)
    residuals: np.ndarray  # (n,) ||Pi x_j||
    data_in_p: bool  # every residual within rounding of P: R1-R3's hypothesis "the data lie in P" holds
    kept_variance: float  # fraction of sum_j ||x_j||^2 inside P

    @property
    def d(self) -> int:
        return self.subspace.d

    @property
    def ell(self) -> int:
        return self.subspace.ell

    def describe(self) -> str:
        where = (
            "the data lie in P to rounding"
            if self.data_in_p
            else (
                f"the data are NOT in P: max ||Pi x_j|| = {self.residuals.max():.3g} "
                f"(median {np.median(self.residuals):.3g}), claims needing 'data in P' are tested outside it"
            )
        )
        return (
            f"P from {self.how}: dim {self.subspace.r} of d = {self.d} (ell = {self.ell}), rank tolerance "
            f"{self.tolerance:.3g}, {100 * self.kept_variance:.4g}% of the data's energy in P; {where}"
        )


def _eps(dtype: str) -> float:
    try:
        return float(np.finfo(np.dtype(dtype)).eps)
    except (TypeError, ValueError):
        return float(np.finfo(np.float64).eps)  # integer data: exact in float64


def data_subspace(
    X: np.ndarray,
    *,
    dtype: str = "float64",
    basis: np.ndarray | None = None,
    rank: int | None = None,
    variance: float | None = None,
    source: str = "--subspace",
) -> DataSubspace:
    """P from at most one of `basis`, `rank`, `variance`, else the exact span of X (module docstring)."""
    if sum(v is not None for v in (basis, rank, variance)) > 1:
        raise AuditInputError("--subspace, --rank, --variance: give at most one of them")
    n, d = X.shape
    _, s, Vt = np.linalg.svd(X, full_matrices=True)
    tol = max(n, d) * _eps(dtype) * (float(s[0]) if s.size else 0.0)
    energy = float(np.square(s).sum())
    if basis is not None:
        B = np.asarray(basis, dtype=np.float64)
        if B.ndim != 2 or B.shape[0] != d or not 1 <= B.shape[1] < d:
            raise AuditInputError(
                f"{source}: basis of shape {B.shape}; expected (d, d - ell) = ({d}, r), 1 <= r < {d}"
            )
        if not np.isfinite(B).all():
            raise AuditInputError(
                f"{source}: the basis has NaN or infinite entries; expected an orthonormal basis"
            )
        try:
            sub = Subspace(torch.from_numpy(B.copy()))
        except ParameterError as exc:
            raise AuditInputError(f"{source}: {exc} (expected orthonormal columns)") from None
        how = "basis"
    else:
        kept = int((s > tol).sum())
        if rank is not None:
            if isinstance(rank, bool) or not isinstance(rank, int | np.integer) or not 1 <= rank < d:
                raise AuditInputError(f"--rank={rank!r} is invalid: expected an integer >= 1 and < d = {d}")
            kept, how = int(rank), f"rank {rank}"
        elif variance is not None:
            if not (isinstance(variance, float | int) and 0 < variance < 1):
                raise AuditInputError(f"--variance={variance!r} is invalid: expected a fraction in (0, 1)")
            cumulative = np.cumsum(np.square(s)) / energy
            kept, how = int(np.searchsorted(cumulative, variance) + 1), f"variance {variance:g}"
        else:
            how = "exact span"
            if kept >= d:
                raise AuditInputError(
                    f"--data: the training points span all of R^{d} at rank tolerance {tol:.3g} (no "
                    "direction orthogonal to the data); pass --rank R or --variance V for a principal "
                    "subspace"
                )
        if kept < 1 or kept >= d:
            raise AuditInputError(f"the subspace has dimension {kept}; expected 1 <= dim P < d = {d}")
        sub = Subspace(torch.from_numpy(np.ascontiguousarray(Vt[:kept].T)))
    B = sub.basis.numpy()
    residuals = np.linalg.norm(X - (X @ B) @ B.T, axis=1)
    inside = float(np.square(X @ B).sum()) / energy if energy > 0 else 1.0
    in_p = (
        bool(residuals.max(initial=0.0) <= tol)
        if how == "basis"
        else bool(s[sub.r :].max(initial=0.0) <= tol)
    )
    if how == "basis" and not in_p:
        raise AuditInputError(
            f"{source}: the basis does not contain the training data (max ||Pi x_j|| = {residuals.max():.3g} "
            f"> rank tolerance {tol:.3g}); expected a basis of a subspace containing every x_j, or use "
            "--rank/--variance"
        )
    return DataSubspace(sub, how, tol, residuals, in_p, inside)
