"""A two-layer ReLU network seen from points x0, along an allowed subspace: the shared input of the attacks.

For an allowed subspace with orthonormal basis B (d, q) (P^perp for R5/R6's orthogonal attacks, P for
on-manifold ones, R^d for unrestricted ones) and z = B c,

    N(x0 + B c) = sum_i u_i relu(h_i + <A_i, c>),   h_i = <w_i, x0> + b_i,   A_i = B^T w_i,

a network on R^q with one bias vector h per point. Its value depends on c only through A c, so the
minimal flipping c lies in the row space of A (any component orthogonal to it adds norm and changes
nothing); when q > m the coordinates are therefore rotated onto that row space, a frame F = B Q (d, q')
with q' = min(q, m) orthonormal columns, and delta = F c. The attacks then cost O(m q') per evaluation
whatever d is.

This module also validates what every attack and certificate receives (one-line `ParameterError`s that
name the parameter): shapes, finite weights and points, a network that is not identically zero, an
orthonormal basis or a symmetric idempotent projector, and, when the caller passes the data subspace P,
points x0 that lie in P to rounding.

Shapes: W (R, m, d), b (R, m), u (R, m); points X0 (R, p, d) (a shared (p, d) is broadcast); a basis
(d, q) or per run (R, d, q); candidates C (R, P, q') with P = p K (K candidates per point, point-major).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from numerics.measure import batch_points
from numerics.model import Network, forward, preactivations
from numerics.subspace import Subspace
from theory.parameters import ParameterError

__all__ = ["as_basis", "check_network", "check_points", "restrict", "RestrictedNetwork"]


def _tolerance(d: int, dtype: torch.dtype) -> float:
    """Rounding allowance for orthonormality, idempotence and membership in P: 100 d eps (as Subspace)."""
    return 100.0 * d * torch.finfo(dtype).eps


def check_network(net: Network) -> None:
    """Finite weights of consistent shapes, and no run whose network is identically zero.

    N is identically zero when every neuron is dead everywhere: u_i = 0, or w_i = 0 and b_i <= 0 (then
    relu(b_i) = 0 at every x). Cancellations between neurons (two copies with opposite u_i) are not
    detected; such a network is not bad input, only a network without flips.
    """
    W, b, u = net.W, net.b, net.u
    if W.dim() != 3 or b.shape != W.shape[:2] or u.shape != W.shape[:2]:
        raise ParameterError(
            f"net is invalid: expected W (R, m, d), b (R, m), u (R, m), got W {tuple(W.shape)}, "
            f"b {tuple(b.shape)}, u {tuple(u.shape)}"
        )
    row_max = torch.maximum(W.amax(-1), -W.amin(-1))  # max_j |W_ij|, (R, m); NaN propagates through amax
    for name, value in (("W", row_max), ("b", b), ("u", u)):
        bad = ~torch.isfinite(value).all(-1)
        if bool(bad.any()):
            raise ParameterError(
                f"net is invalid: non-finite {name} in run {int(torch.nonzero(bad)[0])} "
                f"({int(bad.sum())} of {net.runs} runs)"
            )
    dead = (u == 0) | ((row_max == 0) & (b <= 0))
    zero = dead.all(-1)
    if bool(zero.any()):
        raise ParameterError(
            f"net is invalid: run {int(torch.nonzero(zero)[0])} is the zero network (N identically 0; "
            f"{int(zero.sum())} of {net.runs} runs)"
        )


def check_points(net: Network, X0: torch.Tensor, data_subspace: Subspace | None = None) -> torch.Tensor:
    """X0 as (R, p, d): finite, with finite N(x0), and in P (to rounding) when P is given."""
    X0 = batch_points(net, X0)
    if X0.dtype != net.W.dtype:
        raise ParameterError(f"X0 is invalid: dtype {X0.dtype} differs from the network's {net.W.dtype}")
    if not bool(torch.isfinite(X0).all()):
        raise ParameterError("X0 is invalid: it has non-finite entries")
    if not bool(torch.isfinite(forward(net, X0)).all()):
        raise ParameterError("X0 is invalid: N(x0) is not finite there (the output overflows)")
    if data_subspace is not None:
        if data_subspace.d != net.dim:
            raise ParameterError(
                f"data_subspace is invalid: it lives in R^{data_subspace.d}, the network in R^{net.dim}"
            )
        off = data_subspace.project_perp(X0).norm(dim=-1)
        allowed = _tolerance(net.dim, X0.dtype) * X0.norm(dim=-1).clamp_min(1.0)
        if bool((off > allowed).any()):
            worst = float((off / allowed).max())
            raise ParameterError(
                f"X0 is invalid: a point is off the data subspace P (||Pi x0|| is {worst:.3g} times the "
                f"rounding allowance {_tolerance(net.dim, X0.dtype):.1e} ||x0||)"
            )
    return X0


def as_basis(space: torch.Tensor | None, net: Network, *, name: str = "basis") -> torch.Tensor | None:
    """An orthonormal basis (d, q) or (R, d, q) of the allowed subspace; None stays None (all of R^d).

    Accepts orthonormal columns, or a symmetric idempotent projector (d, d) or (R, d, d) (such as Pi),
    whose range is then spanned by the eigenvectors of eigenvalue 1. A square matrix that is both is
    the identity, which means the same in either reading.
    """
    if space is None:
        return None
    d = net.dim
    ok = space.dim() in (2, 3) and space.shape[-2] == d and (space.dim() == 2 or space.shape[0] == net.runs)
    if not ok or not 1 <= space.shape[-1] <= d:
        raise ParameterError(
            f"{name} of shape {tuple(space.shape)} is invalid: expected ({d}, q) or ({net.runs}, {d}, q) "
            f"with 1 <= q <= {d}, or a projector ({d}, {d})"
        )
    if space.dtype != net.W.dtype:
        raise ParameterError(
            f"{name} is invalid: dtype {space.dtype} differs from the network's {net.W.dtype}"
        )
    if not bool(torch.isfinite(space).all()):
        raise ParameterError(f"{name} is invalid: it has non-finite entries")
    tol = _tolerance(d, space.dtype)
    eye = torch.eye(space.shape[-1], dtype=space.dtype, device=space.device)
    gram_error = float((space.transpose(-1, -2) @ space - eye).abs().max())
    if gram_error <= tol:
        return space
    if space.shape[-1] == d:
        symmetric = float((space - space.transpose(-1, -2)).abs().max()) <= tol
        idempotent = float((space @ space - space).abs().max()) <= tol
        if symmetric and idempotent:
            values, vectors = torch.linalg.eigh(space)
            rank = (values > 0.5).sum(-1)
            if bool((rank != rank.flatten()[0]).any()) or int(rank.flatten()[0]) == 0:
                raise ParameterError(
                    f"{name} is invalid: a projector of rank 0 or of different ranks per run"
                )
            return vectors[..., d - int(rank.flatten()[0]) :]  # eigh sorts the eigenvalues ascending
    raise ParameterError(
        f"{name} is invalid: columns are not orthonormal (max |B^T B - I| = {gram_error:.1e}) "
        f"and it is not a symmetric idempotent projector"
    )


@dataclass
class RestrictedNetwork:
    """N(x0 + delta(c)) = sum_i u_i relu(H_i + <A_i, c>) for every run and candidate (module docstring).

    delta(c) = B c when q <= m. Otherwise the coordinates are those of the row space of W B: with the
    Cholesky factor L L^T = G = W B B^T W^T, A = L and delta(c) = B B^T W^T L^{-T} c, an isometry
    from R^m into span(B) (||delta||^2 = c^T L^{-1} G L^{-T} c = ||c||^2) with <w_i, delta(c)> = (L c)_i.
    """

    H: torch.Tensor  # (R, P, m) pre-activations h_i at x0, one row per candidate
    A: torch.Tensor  # (R, m, q') rows A_i, <A_i, c> = <w_i, delta(c)>
    u: torch.Tensor  # (R, m) output weights
    f0: torch.Tensor  # (R, P) N(x0)
    basis: torch.Tensor  # (R, d, q) orthonormal columns B of the allowed subspace (an expanded view)
    rows: torch.Tensor | None = None  # (R, m, d) W when the coordinates were reduced
    factor: torch.Tensor | None = None  # (R, m, m) lower-triangular L, L L^T = W B B^T W^T
    per_point: int = 1  # K: candidates per point (rows k K .. k K + K - 1 belong to point k)

    @property
    def sigma(self) -> torch.Tensor:
        """sign N(x0), (R, P)."""
        return torch.sign(self.f0)

    def preactivations(self, C: torch.Tensor) -> torch.Tensor:
        """H + A c for candidates C (R, P, q') -> (R, P, m)."""
        return torch.baddbmm(self.H, C, self.A.transpose(1, 2))

    def value(self, C: torch.Tensor) -> torch.Tensor:
        """N(x0 + delta(c)), (R, P)."""
        return (torch.relu(self.preactivations(C)) * self.u.unsqueeze(1)).sum(-1)

    def value_and_gradient(self, C: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """N(x0 + delta(c)) and its gradient sum_i u_i 1[H_i + <A_i, c> > 0] A_i, (R, P) and (R, P, q')."""
        pre = self.preactivations(C)
        value = (torch.relu(pre) * self.u.unsqueeze(1)).sum(-1)
        return value, self.gradient_of(pre > 0)

    def gradient_of(self, active: torch.Tensor) -> torch.Tensor:
        """sum_{i active} u_i A_i for activation patterns (R, P, m) -> (R, P, q')."""
        return torch.bmm(active.to(self.A.dtype) * self.u.unsqueeze(1), self.A)

    def slopes(self, V: torch.Tensor) -> torch.Tensor:
        """<A_i, v> for directions V (R, P, q') -> (R, P, m)."""
        return torch.bmm(V, self.A.transpose(1, 2))

    def repeat(self, K: int) -> RestrictedNetwork:
        """K candidates per point (each row of H repeated K times, point-major)."""
        return replace(
            self, H=self.H.repeat_interleave(K, dim=1), f0=self.f0.repeat_interleave(K, dim=1),
            per_point=self.per_point * K,
        )  # fmt: skip

    def select(self, index: torch.Tensor, per_point: int) -> RestrictedNetwork:
        """The candidates at `index` (R, P') of each run, now `per_point` per point."""
        H = self.H.gather(1, index.unsqueeze(-1).expand(-1, -1, self.H.shape[-1]))
        return replace(self, H=H, f0=self.f0.gather(1, index), per_point=per_point)

    def embed(self, C: torch.Tensor) -> torch.Tensor:
        """delta(c) in R^d: (R, P, q') -> (R, P, d)."""
        if self.rows is None or self.factor is None:
            return torch.bmm(C, self.basis.transpose(1, 2))
        # Row vectors: c -> x = L^{-1}-solve of c, then x W, then its projection onto span(B).
        x = torch.linalg.solve_triangular(self.factor.transpose(1, 2), C.transpose(1, 2), upper=True)
        z = torch.bmm(x.transpose(1, 2), self.rows)
        return torch.bmm(torch.bmm(z, self.basis), self.basis.transpose(1, 2))


def restrict(
    net: Network,
    X0: torch.Tensor,
    basis: torch.Tensor | None = None,
    *,
    data_subspace: Subspace | None = None,
) -> RestrictedNetwork:
    """The network at the points X0 along the subspace spanned by `basis` (None: all of R^d), validated.

    Args:
        net: R networks.
        X0: points (R, p, d) or (p, d).
        basis: orthonormal columns (d, q) or (R, d, q), or a projector (see `as_basis`); None for R^d.
        data_subspace: the data subspace P; if given, every x0 must lie in P to rounding.
    Returns:
        RestrictedNetwork with one candidate per point, in coordinates of the row space of W B when
        q > m (see the class docstring).
    """
    check_network(net)
    X0 = check_points(net, X0, data_subspace)
    B = as_basis(basis, net)
    d, m, R = net.dim, net.width, net.runs
    H, f0 = preactivations(net, X0), forward(net, X0)
    if B is None:
        B = torch.eye(d, dtype=net.W.dtype, device=net.W.device)
    q = B.shape[-1]
    shared = B.dim() == 2
    Bb = B.unsqueeze(0).expand(R, -1, -1) if shared else B
    if q <= m:
        A = (net.W.reshape(R * m, d) @ B).reshape(R, m, q) if shared else torch.bmm(net.W, B)
        return RestrictedNetwork(H, A, net.u, f0, Bb)
    if shared and 2 * q > d:
        # G = W (I - K K^T) W^T with K (d, d - q) an orthonormal basis of the complement: the large product
        # is W W^T, and W K is narrow.
        K = torch.linalg.qr(B, mode="complete")[0][:, q:]
        WK = (net.W.reshape(R * m, d) @ K).reshape(R, m, d - q)
        G = torch.bmm(net.W, net.W.transpose(1, 2)) - torch.bmm(WK, WK.transpose(1, 2))
    else:
        A = (net.W.reshape(R * m, d) @ B).reshape(R, m, q) if shared else torch.bmm(net.W, B)
        G = torch.bmm(A, A.transpose(1, 2))
    L, info = torch.linalg.cholesky_ex(G)
    diagonal = L.diagonal(dim1=-2, dim2=-1).abs()
    conditioned = float((diagonal.amin(-1) / diagonal.amax(-1).clamp_min(1e-300)).min()) >= 1e-6
    if bool((info == 0).all()) and conditioned:
        return RestrictedNetwork(H, L, net.u, f0, Bb, net.W, L)
    # Cholesky of the Gram matrix loses accuracy as cond(W B)^2; on a rank-deficient or ill-conditioned W B
    # (repeated or zero neurons) take the Householder QR of (W B)^T = Q T instead: W B = T^T Q^T, so A = T^T,
    # and delta = B Q c fits the same formula with rows (B Q)^T and factor I.
    A = (net.W.reshape(R * m, d) @ B).reshape(R, m, q) if shared else torch.bmm(net.W, B)
    Q, T = torch.linalg.qr(A.transpose(1, 2))
    eye = torch.eye(m, dtype=A.dtype, device=A.device).expand(R, m, m)
    return RestrictedNetwork(H, T.transpose(1, 2), net.u, f0, Bb, torch.bmm(Bb, Q).transpose(1, 2), eye)
