"""Seeded data generators: shapes, determinism, the subspace, the paper's figure sets, digits, noise."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from numerics.datasets import DATASETS, Dataset, make_dataset
from numerics.subspace import Subspace
from theory.parameters import ParameterError

SYNTHETIC = ("gaussian_linear", "gaussian_teacher", "clusters")
FIGURES = ("diagonal", "chessboard", "chessboard_flat")
SMALL = {"digits": {"d": 30, "ell": 22, "n": 60, "n_test": 40}}  # keep the digits draws cheap


def _distances(X: torch.Tensor) -> torch.Tensor:
    """Pairwise Euclidean distances, computed directly (cdist's matmul shortcut loses ~1e-8)."""
    return (X.unsqueeze(-2) - X.unsqueeze(-3)).norm(dim=-1)


def _subspace(ds: Dataset) -> Subspace:
    assert ds.subspace is not None
    return ds.subspace


def _test_points(ds: Dataset) -> torch.Tensor:
    assert ds.X_test is not None
    return ds.X_test


def _make(name: str, **kwargs):
    return make_dataset(name, **{**SMALL.get(name, {}), **kwargs})


@pytest.mark.parametrize("name", DATASETS)
def test_shapes_labels_and_same_seed_same_bytes(name: str) -> None:
    a, b = _make(name, runs=3, seed=11), _make(name, runs=3, seed=11)
    R, n, d = a.X.shape
    assert R == 3 and a.y.shape == (R, n) and a.X.dtype == torch.float64
    assert set(a.y.unique().tolist()) == {-1.0, 1.0}
    for field in ("X", "y", "X_test", "y_test"):
        first, second = getattr(a, field), getattr(b, field)
        assert (first is None and second is None) or torch.equal(first, second), field
    if a.subspace is not None:
        assert torch.equal(a.subspace.basis, b.subspace.basis)


@pytest.mark.parametrize("name", DATASETS)
def test_data_lie_in_the_subspace(name: str) -> None:
    ds = _make(name, runs=2, seed=1)
    if name == "chessboard":
        assert ds.subspace is None and ds.info["affine_offset"] == 0.5
        assert torch.linalg.matrix_rank(ds.X[0]).item() == 3  # the affine plane spans R^3: R1 does not apply
        return
    assert ds.subspace is not None and ds.subspace.d == ds.d
    # x = B z is computed with O(r) roundings of size eps ||x||: ||Pi x|| is a few 1e-16 ||x||.
    for X in (ds.X, ds.X_test):
        if X is not None:
            assert ds.subspace.project_perp(X).norm(dim=-1).max() <= 1e-14 * X.norm(dim=-1).max()


@pytest.mark.parametrize("name", (*SYNTHETIC, "digits"))
def test_runs_are_independent_draws_and_do_not_depend_on_the_batch_size(name: str) -> None:
    three, two = _make(name, runs=3, seed=4), _make(name, runs=2, seed=4)
    assert torch.equal(three.X[:2], two.X) and torch.equal(three.y[:2], two.y)
    assert not torch.allclose(three.X[0], three.X[1])
    assert not torch.allclose(_make(name, runs=1, seed=5).X[0], three.X[0])


@pytest.mark.parametrize("name", FIGURES)
def test_figure_sets_are_identical_across_runs(name: str) -> None:
    ds = make_dataset(name, runs=4, seed=0)
    assert torch.equal(ds.X, ds.X[:1].expand_as(ds.X)) and torch.equal(ds.y, ds.y[:1].expand_as(ds.y))
    assert torch.equal(ds.X, make_dataset(name, runs=4, seed=99).X)


def test_diagonal_matches_figure_2_point_for_point() -> None:
    ds = make_dataset("diagonal", seed=0)
    t = [Fraction(k, 3) for k in range(-3, 4)]  # -1, -2/3, -1/3, 0, 1/3, 2/3, 1
    positive = {Fraction(-2, 3), Fraction(0), Fraction(2, 3)}
    expected = torch.tensor([[float(s), float(s)] for s in t], dtype=torch.float64)
    assert torch.equal(ds.X[0], expected)
    assert ds.y[0].tolist() == [1.0 if s in positive else -1.0 for s in t]
    assert torch.allclose(
        _subspace(ds).basis.abs(), torch.full((2, 1), 1 / math.sqrt(2), dtype=torch.float64)
    )


@pytest.mark.parametrize(
    ("layout", "coordinates"), [("grid", [0, 0.25, 0.5, 0.75, 1]), ("centres", [0.1, 0.3, 0.5, 0.7, 0.9])]
)
def test_chessboard_matches_figure_3_point_for_point(layout: str, coordinates: list[float]) -> None:
    for name, height in (("chessboard", 0.5), ("chessboard_flat", 0.0)):
        ds = make_dataset(name, seed=0, layout=layout)
        points = {tuple(p) for p in ds.X[0].tolist()}
        assert points == {(a, b, height) for a in coordinates for b in coordinates}
        for (x1, x2, _), label in zip(ds.X[0].tolist(), ds.y[0].tolist(), strict=True):
            i, j = coordinates.index(x1), coordinates.index(x2)
            # A chessboard: neighbours differ, the corners are +1 (authors' code: label 1 iff the row and
            # column parities agree).
            assert label == (1.0 if (i % 2) == (j % 2) else -1.0)
    flat = make_dataset("chessboard_flat", seed=0)
    assert torch.equal(_subspace(flat).basis, torch.eye(3, 2, dtype=torch.float64))
    assert (flat.y[0] == 1).sum() == 13


def test_digits_embedding_is_an_isometry_of_an_independent_pca() -> None:
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    d, ell, n = 40, 28, 150
    ds = make_dataset("digits", runs=2, seed=3, d=d, ell=ell, n=n)
    r = d - ell
    images, digits = sklearn_datasets.load_digits(return_X_y=True)
    for run in range(2):
        train = ds.info["train_index"][run].numpy()
        assert ds.y[run].tolist() == [1.0 if k % 2 == 0 else -1.0 for k in digits[train]]
        # An independent route: sklearn's scaler and PCA (ddof and component signs differ from ours, but a
        # common feature scale and per-component reflections are isometries once rows are normalized).
        Z = PCA(n_components=r, svd_solver="full").fit_transform(
            StandardScaler().fit_transform(images[train])
        )
        Z = torch.from_numpy(Z * (math.sqrt(r) / np.linalg.norm(Z, axis=1, keepdims=True)))
        X = ds.X[run]
        assert torch.allclose(X.norm(dim=1), torch.full((n,), math.sqrt(r), dtype=torch.float64), rtol=1e-14)
        assert torch.allclose(_distances(X), _distances(Z), rtol=0, atol=1e-12)
    assert _test_points(ds).shape == (2, len(images) - n, d)
    assert _subspace(ds).project_perp(_test_points(ds)).norm(dim=-1).max() <= 1e-14 * math.sqrt(r)


@pytest.mark.parametrize("name", [*SYNTHETIC, "digits", "diagonal", "chessboard", "chessboard_flat"])
def test_noise_is_orthogonal_with_the_stated_variance_and_recorded(name: str) -> None:
    sigma = 0.3
    clean, noisy = _make(name, runs=40, seed=2), _make(name, runs=40, seed=2, noise=sigma)
    assert noisy.info["noise"] == sigma and clean.info["noise"] == 0.0
    if clean.X_test is not None:
        assert torch.equal(noisy.X_test, clean.X_test)  # test points stay clean
    delta = noisy.X - clean.X
    if name.startswith("chessboard"):  # noise along the normal e3 of the board only
        assert torch.equal(delta[..., :2], torch.zeros_like(delta[..., :2]))
        ell, sq = 1, delta[..., 2] ** 2
    else:
        P = clean.subspace
        assert P.coordinates(delta).norm(dim=-1).max() <= 1e-14
        ell, sq = P.ell, delta.norm(dim=-1) ** 2
    # ell ||Pi e||^2 / sigma^2 ~ chi2_ell, so the mean of N draws has sd sigma^2 sqrt(2/(ell N)); 5 sd
    # bounds a false failure by 6e-7.
    N = sq.numel()
    assert abs(sq.mean().item() - sigma**2) <= 5 * sigma**2 * math.sqrt(2 / (ell * N))


def test_synthetic_laws() -> None:
    lin = make_dataset("gaussian_linear", runs=50, seed=0, d=30, ell=10, n=40)
    # ||x||^2 ~ chi2_r: mean r, sd of the mean over N = 2000 points sqrt(2r/N); 5 sd.
    sq = lin.X.norm(dim=-1) ** 2
    assert abs(sq.mean().item() - 20) <= 5 * math.sqrt(40 / sq.numel())
    assert abs(lin.y.mean().item()) < 0.1  # sign(<a, z>) is symmetric: sd of the mean 1/sqrt(2000) = 0.022
    clusters = make_dataset("clusters", runs=2, seed=0, n=9, separation=2.0, n_test=5)
    assert clusters.y[0].tolist() == [1.0, -1.0] * 4 + [1.0] and _test_points(clusters).shape == (2, 5, 60)
    teacher = make_dataset("gaussian_teacher", runs=20, seed=0, teacher_width=6)
    assert 0.1 < (teacher.y == 1).double().mean().item() < 0.9


def test_training_points_do_not_depend_on_the_test_size() -> None:
    a = make_dataset("gaussian_teacher", runs=2, seed=8)
    b = make_dataset("gaussian_teacher", runs=2, seed=8, n_test=30)
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y) and _test_points(b).shape == (2, 30, 60)


def test_axis_aligned_and_float32() -> None:
    ds = make_dataset("gaussian_linear", runs=2, seed=0, d=8, ell=3, axis_aligned=True)
    assert torch.equal(ds.X[..., 5:], torch.zeros(2, ds.n, 3, dtype=torch.float64))
    f32 = make_dataset("gaussian_linear", runs=2, seed=0, d=8, ell=3, dtype=torch.float32)
    assert f32.X.dtype == torch.float32 and _subspace(f32).basis.dtype == torch.float32
    assert torch.equal(f32.X, make_dataset("gaussian_linear", runs=2, seed=0, d=8, ell=3).X.to(torch.float32))


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("mnist", {}, "dataset='mnist'.*gaussian_linear"),
        ("gaussian_linear", {"d": 10, "ell": 10}, "ell"),
        ("gaussian_linear", {"runs": 0}, "runs"),
        ("gaussian_linear", {"noise": -0.1}, "noise"),
        ("gaussian_linear", {"noise": math.inf}, "noise"),
        ("gaussian_linear", {"seed": -3}, "seed"),
        ("gaussian_linear", {"separation": 2.0}, "separation"),
        ("gaussian_teacher", {"teacher_width": 1}, "teacher_width"),
        ("clusters", {"separation": 0.0}, "separation"),
        ("diagonal", {"d": 3}, "d=3.*d=2"),
        ("diagonal", {"axis_aligned": True}, "axis_aligned"),
        ("chessboard", {"n": 16}, "n=16"),
        ("chessboard", {"layout": "hex"}, "layout"),
        ("digits", {"d": 100, "ell": 20}, "ell"),
        ("digits", {"n": 5000}, "n=5000"),
        ("digits", {"n_test": 0}, "n_test"),
    ],
)
def test_bad_inputs_raise(name: str, kwargs: dict, match: str) -> None:
    kwargs.setdefault("seed", 0)
    with pytest.raises(ParameterError, match=match):
        make_dataset(name, **kwargs)
