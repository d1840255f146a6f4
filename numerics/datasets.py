"""Seeded training sets lying in a linear subspace P of R^d (or, for contrast, on an affine plane).

Every set is a batch of R runs: X (R, n, d), y (R, n) with labels in {-1, +1}. Synthetic sets draw an
independent task per run (points and teacher) from generators derived from (seed, run), so run r does not
depend on how many runs are drawn; the subspace P is one draw shared by the batch. The paper's figure sets
are fixed and identical across runs (`numerics.figure_datasets`). Draws happen on the CPU in float64 and
are then moved to dtype/device, so the same seed gives the same bytes everywhere.

Normalization: a synthetic point is x = B z with latent z ~ N(0, I_r) (plus a class offset for
"clusters"), i.e. the projection onto P of a standard Gaussian vector, ||x||^2 ~ chi2_r, ||x|| ~ sqrt(r).
Digits rows are scaled to norm exactly sqrt(r), the same typical size.

Off-subspace noise (the assumption-violation study): noise = sigma adds Pi e with e ~ N(0, sigma^2/ell I_d)
to every training point, i.e. N(0, sigma^2/ell) along each of the ell directions of P^perp, so
E||Pi e||^2 = sigma^2; test points stay clean.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from numerics.figure_datasets import CHESSBOARD_LAYOUTS, chessboard_maker, make_diagonal
from numerics.subspace import Subspace, make_subspace
from theory.parameters import ParameterError, choice, validate

__all__ = ["CHESSBOARD_LAYOUTS", "Dataset", "DATASETS", "make_dataset"]

DATASETS: tuple[str, ...] = (
    "gaussian_linear",
    "gaussian_teacher",
    "clusters",
    "diagonal",
    "chessboard",
    "chessboard_flat",
    "digits",
)

# Independent random streams derived from one seed.
_SUBSPACE, _TASK, _NOISE = 0, 1, 2


@dataclass
class Dataset:
    """A batch of R training sets in R^d, the subspace containing them, and optional test sets."""

    name: str
    X: torch.Tensor  # (R, n, d) training points
    y: torch.Tensor  # (R, n) labels in {-1., +1.}
    subspace: Subspace | None  # the linear subspace P holding the noise-free data; None for an affine plane
    X_test: torch.Tensor | None = None  # (R, n_test, d), never noisy
    y_test: torch.Tensor | None = None  # (R, n_test)
    info: dict = field(default_factory=dict)  # how the set was made: noise, seed, normalization, ...

    @property
    def runs(self) -> int:
        return self.X.shape[0]

    @property
    def n(self) -> int:
        return self.X.shape[1]

    @property
    def d(self) -> int:
        return self.X.shape[2]


def make_dataset(
    name: str,
    *,
    runs: int = 1,
    seed: int,
    d: int | None = None,
    ell: int | None = None,
    n: int | None = None,
    noise: float = 0.0,
    axis_aligned: bool = False,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
    **options: Any,
) -> Dataset:
    """Draw `runs` training sets of the named kind; see each `_make_*` for the law of the points.

    Args:
        name: one of DATASETS.
        runs: batch size R (independent tasks for the synthetic sets, copies for the figure sets).
        seed: all randomness (subspace, points, teachers, splits, noise) derives from it.
        d, ell, n: input dimension, codimension of P, training points (None: the set's default; the
            figure sets have fixed values and reject others).
        noise: sigma of the off-subspace noise added to training points (see the module docstring).
        axis_aligned: P = span{e_1, ..., e_r} instead of a Haar-random subspace.
        options: per set: n_test (synthetic, digits), teacher_width (gaussian_teacher),
            separation (clusters), layout (chessboard, chessboard_flat).
    """
    choice("dataset", name, DATASETS)
    validate(runs=runs, seed=seed, d=d, ell=ell, n=n, noise=noise)
    maker = _MAKERS[name]
    accepted = ", ".join(_OPTIONS[name]) or "none"
    for key in options:
        if key not in _OPTIONS[name]:
            raise ParameterError(
                f"{key}=... is invalid for dataset {name!r}: accepted options are {accepted}"
            )
    made = maker(runs=runs, seed=seed, d=d, ell=ell, n=n, axis_aligned=axis_aligned, **options)
    X, y, subspace, X_test, y_test, info = made
    if noise > 0:
        normal = subspace if subspace is not None else info.pop("_normal_space")
        X = X + _orthogonal_noise(normal, X.shape[:2], noise, seed)
    info.pop("_normal_space", None)
    info.update(seed=seed, noise=noise)
    move = {"dtype": dtype, "device": device}
    return Dataset(
        name=name,
        X=X.to(**move),
        y=y.to(**move),
        subspace=None if subspace is None else Subspace(subspace.basis.to(**move)),
        X_test=None if X_test is None else X_test.to(**move),
        y_test=None if y_test is None else y_test.to(**move),
        info=info,
    )


# --- seeding ---------------------------------------------------------------------------------------------


def _generator(seed: int, stream: int, run: int = 0) -> torch.Generator:
    """A CPU generator for (seed, stream, run), mixed by numpy's SeedSequence so nearby keys decorrelate."""
    state = np.random.SeedSequence([seed, stream, run]).generate_state(1, np.uint64)[0]
    return torch.Generator(device="cpu").manual_seed(int(state))


def _per_run(runs: int, seed: int, draw: Callable[[torch.Generator], tuple]) -> tuple[torch.Tensor, ...]:
    """Stack `draw(generator of run r)` over r = 0..runs-1 (each output gains a leading run axis)."""
    draws = [draw(_generator(seed, _TASK, r)) for r in range(runs)]
    return tuple(torch.stack(parts) for parts in zip(*draws, strict=True))


def _orthogonal_noise(normal: Subspace, shape: torch.Size, noise: float, seed: int) -> torch.Tensor:
    """Pi e for e ~ N(0, noise^2/ell I_d), one per training point: shape (R, n) -> (R, n, d)."""
    R, n = shape
    basis = normal.basis.cpu().to(torch.float64)
    std = noise / math.sqrt(normal.ell)
    e = torch.stack(
        [
            torch.randn(n, normal.d, generator=_generator(seed, _NOISE, r), dtype=torch.float64)
            for r in range(R)
        ]
    )
    return Subspace(basis).project_perp(e * std)


def _sign(values: torch.Tensor) -> torch.Tensor:
    """Labels sign(values) in {-1, +1}, with sign(0) = +1."""
    return torch.where(values < 0, -1.0, 1.0).to(torch.float64)


# --- synthetic sets in a random subspace -----------------------------------------------------------------


def _synthetic(law: Callable[..., list[tuple[torch.Tensor, torch.Tensor]]], defaults: tuple[int, int, int]):
    """A maker for latent sets: `law(gen, r, counts, **options)` draws one run's teacher, then one
    (Z (count, r), y (count,)) pair per count, so the training points do not depend on n_test."""

    def make(*, runs, seed, d, ell, n, axis_aligned, n_test=0, **law_options):
        d, ell, n = (
            v if v is not None else default for v, default in zip((d, ell, n), defaults, strict=True)
        )
        validate(d=d, ell=ell, n=n, n_test=n_test)
        subspace = make_subspace(d, ell, seed=_seed(seed, _SUBSPACE), axis_aligned=axis_aligned)
        counts = [n, n_test] if n_test else [n]
        parts = _per_run(runs, seed, lambda gen: sum(law(gen, d - ell, counts, **law_options), ()))
        X, y = subspace.embed(parts[0]), parts[1]
        X_test, y_test = (subspace.embed(parts[2]), parts[3]) if n_test else (None, None)
        return X, y, subspace, X_test, y_test, {"latent": "z ~ N(0, I_r), x = B z"}

    return make


def _seed(seed: int, stream: int) -> int:
    """An integer seed for a stream (for make_subspace, which takes a seed rather than a generator)."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1, np.uint64)[0])


def _gaussian(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def _linear_law(gen: torch.Generator, r: int, counts: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """z ~ N(0, I_r), y = sign(<a, z>) for a teacher direction a ~ N(0, I_r)."""
    a = _gaussian(gen, r)
    return [(Z, _sign(Z @ a)) for Z in (_gaussian(gen, count, r) for count in counts)]


def _teacher_law(gen: torch.Generator, r: int, counts: list[int], teacher_width: int = 4):
    """z ~ N(0, I_r), y = sign(sum_k v_k relu(<a_k, z>)), a_k ~ N(0, I_r), v_k = +1, -1, +1, ... ."""
    validate(teacher_width=teacher_width)
    if teacher_width < 2:  # with one (positive) unit every label would be +1
        raise ParameterError(f"teacher_width={teacher_width!r} is invalid: expected an integer >= 2")
    A = _gaussian(gen, teacher_width, r)
    v = torch.tensor([(-1.0) ** k for k in range(teacher_width)], dtype=torch.float64)
    return [(Z, _sign(torch.relu(Z @ A.T) @ v)) for Z in (_gaussian(gen, count, r) for count in counts)]


def _cluster_law(gen: torch.Generator, r: int, counts: list[int], separation: float = 3.0):
    """y alternates +1, -1; z = y * separation * a + N(0, I_r) for a random unit direction a."""
    validate(separation=separation)
    a = _gaussian(gen, r)
    a = a / a.norm()
    draws = []
    for count in counts:
        y = torch.tensor([1.0 if j % 2 == 0 else -1.0 for j in range(count)], dtype=torch.float64)
        draws.append((_gaussian(gen, count, r) + separation * y[:, None] * a, y))
    return draws


# --- real data ------------------------------------------------------------------------------------------


def _make_digits(*, runs, seed, d, ell, n, axis_aligned, n_test=None):
    """sklearn's 8x8 digits, even (+1) vs odd (-1), embedded isometrically in a random r-dim P of R^d.

    Per run: a random split into n training and n_test (default: all remaining) test images; features
    standardized with the training mean and std (constant pixels left at 0); PCA to r = d - ell
    components in float64 on the training split (component signs fixed: largest loading positive);
    every row scaled to norm sqrt(r); then x = B z with the batch's shared subspace.
    """
    from sklearn.datasets import load_digits

    d = 100 if d is None else d
    ell = 80 if ell is None else ell
    n = 300 if n is None else n
    validate(d=d, ell=ell, n=n)
    images, digits = load_digits(return_X_y=True)
    pixels = torch.from_numpy(images).to(torch.float64)
    labels = torch.where(torch.from_numpy(digits) % 2 == 0, 1.0, -1.0).to(torch.float64)
    total, features = pixels.shape
    r = d - ell
    if not r <= min(features, n - 1):
        raise ParameterError(
            f"ell={ell!r} is invalid: digits needs r = d - ell <= min(64, n - 1) = {min(features, n - 1)}"
        )
    if not n < total:
        raise ParameterError(f"n={n!r} is invalid: expected an integer < {total} (digits has {total} images)")
    n_test = total - n if n_test is None else n_test
    validate(n_test=n_test)
    if n_test == 0:
        raise ParameterError("n_test=0 is invalid for digits: expected an integer >= 1")
    if not n + n_test <= total:
        raise ParameterError(
            f"n_test={n_test!r} is invalid: expected an integer <= {total - n} (= {total} - n)"
        )
    subspace = make_subspace(d, ell, seed=_seed(seed, _SUBSPACE), axis_aligned=axis_aligned)

    def draw(gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        order = torch.randperm(total, generator=gen)
        train, test = order[:n], order[n : n + n_test]
        Z_train, Z_test = _pca_rows(pixels[train], pixels[test], r)
        return Z_train, labels[train], Z_test, labels[test], train, test

    Z, y, Z_test, y_test, train_index, test_index = _per_run(runs, seed, draw)
    info = {"task": "even (+1) vs odd (-1)", "r": r, "row_norm": math.sqrt(r)}
    info.update(train_index=train_index, test_index=test_index)  # (R, n), (R, n_test) rows of load_digits
    return subspace.embed(Z), y, subspace, subspace.embed(Z_test), y_test, info


def _pca_rows(train: torch.Tensor, test: torch.Tensor, r: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Standardize with the training statistics, project on the top-r principal axes, rows to norm sqrt(r)."""
    mean = train.mean(dim=0)
    std = train.std(dim=0)
    std = torch.where(std > 0, std, 1.0)
    train, test = (train - mean) / std, (test - mean) / std
    _, _, Vh = torch.linalg.svd(train, full_matrices=False)
    V = Vh[:r].T  # (features, r)
    V = V * torch.where(V.gather(0, V.abs().argmax(dim=0, keepdim=True)) < 0, -1.0, 1.0)
    rows = [
        Z * (math.sqrt(r) / Z.norm(dim=1, keepdim=True).clamp_min(torch.finfo(Z.dtype).tiny))
        for Z in (train @ V, test @ V)
    ]
    return rows[0], rows[1]


_MAKERS: dict[str, Callable[..., tuple]] = {
    "gaussian_linear": _synthetic(_linear_law, (60, 40, 50)),
    "gaussian_teacher": _synthetic(_teacher_law, (60, 40, 50)),
    "clusters": _synthetic(_cluster_law, (60, 40, 50)),
    "diagonal": make_diagonal,
    "chessboard": chessboard_maker(0.5),
    "chessboard_flat": chessboard_maker(0.0),
    "digits": _make_digits,
}
_OPTIONS: dict[str, tuple[str, ...]] = {
    "gaussian_linear": ("n_test",),
    "gaussian_teacher": ("n_test", "teacher_width"),
    "clusters": ("n_test", "separation"),
    "diagonal": (),
    "chessboard": ("layout",),
    "chessboard_flat": ("layout",),
    "digits": ("n_test",),
}
