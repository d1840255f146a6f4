"""R9 checks: the paper's Figures 2 and 3 and the affine chessboard, run on a tiny context."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from numerics.datasets import make_dataset
from numerics.model import InitConfig, forward, initialize
from verify.checks import figures_paper as fp
from verify.registry import Context, Outcome

RATE = 1e-3


def _context(tmp_path: Path) -> Context:
    return Context(
        profile="quick",
        seed=0,
        device="cpu",
        false_fail_rate=RATE,
        figures_dir=tmp_path,
        progress=lambda it, **k: it,
    )


@pytest.fixture(scope="module")
def figure2(tmp_path_factory) -> tuple[Outcome, Path]:
    path = tmp_path_factory.mktemp("figure2")
    return fp.figure2(_context(path)), path


def _medians(outcome: Outcome) -> dict[str, np.ndarray]:
    return {
        k: np.array([math.inf if v == "inf" else v for v in values])
        for k, values in outcome.details["medians"].items()
    }


def test_figure2_confirms_the_ordering_and_draws(figure2):
    outcome, path = figure2
    assert outcome.passed, outcome.statistic
    assert outcome.figures == ["R9_figure2.png"] and (path / "R9_figure2.png").stat().st_size > 0
    assert "Mann-Whitney" in outcome.statistic and "margin" in outcome.notes
    training = outcome.tables[0]
    assert [row[0] for row in training.rows] == ["vanilla", "small_init", "weight_decay"]
    steps = outcome.details["steps"]
    assert all(len(v) == fp.FIGURE2.runs["quick"] for v in steps.values())


def test_ordering_fails_when_the_prediction_is_reversed(figure2):
    medians = _medians(figure2[0])
    assert all(t.confirms_ordering for t in fp.radius_ordering(medians, alpha=RATE).values())
    # Swap each setting with vanilla: the same numbers now predict the opposite ordering.
    for other in ("small_init", "weight_decay"):
        swapped = dict(medians)
        swapped["vanilla"], swapped[other] = medians[other], medians["vanilla"]
        tests = fp.radius_ordering(swapped, alpha=RATE)
        assert not tests[other].confirms_ordering
    # Identical samples carry no ordering either.
    same = {k: medians["vanilla"] for k in medians}
    assert not any(t.confirms_ordering for t in fp.radius_ordering(same, alpha=RATE).values())


def test_infinite_radius_ranks_above_every_finite_one():
    tests = fp.radius_ordering(
        {"vanilla": np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]), "robust": np.full(8, math.inf)},
        alpha=0.01,
    )
    assert tests["robust"].confirms_ordering and tests["robust"].effect == 1.0
    assert fp.per_network_median(np.array([[1.0, math.inf, math.inf]]))[0] == math.inf


def test_critical_effect():
    # Complete separation of 12 vs 12 has p = 1/C(24, 12) = 3.7e-7; 8 reversed pairs of 144 still pass.
    assert fp.critical_effect(12, 12, 2.8e-5) == pytest.approx(136 / 144)
    assert fp.critical_effect(5, 5, 1e-3) > 1  # C(10, 5) = 252 < 1000: no sample can confirm
    assert fp.critical_effect(64, 64, 2.8e-5) < fp.critical_effect(32, 32, 2.8e-5)


def test_exact_orthogonal_radius_matches_a_dense_scan():
    """min(t_+, t_-) from the breakpoint walk against the first sign change on a grid of step h."""
    data = make_dataset("diagonal", runs=3, seed=0)
    net = initialize(InitConfig(m=100, bias=True, s_b=0.7), 2, 3, seed=4)
    normal = torch.tensor(fp.FIGURE2.normal, dtype=torch.float64)
    radius, side = fp.normal_flip_radius(net, data.X, normal)
    h, reach = 2e-4, 4.0
    t = torch.arange(h, reach, h, dtype=torch.float64)
    f0 = forward(net, data.X)  # (R, 7)
    scanned = torch.full_like(radius, math.inf)
    for s in (1.0, -1.0):
        line = data.X.unsqueeze(2) + s * t[:, None] * normal  # (R, 7, T, 2)
        values = forward(net, line.reshape(3, -1, 2)).reshape(3, 7, -1)
        flipped = values * f0.unsqueeze(-1) < 0
        first = torch.where(flipped.any(-1), t[flipped.to(torch.int64).argmax(-1)], math.inf)
        scanned = torch.minimum(scanned, first)
    finite = torch.isfinite(radius) & (radius < reach - h)
    assert bool(finite.any())
    # The scan's first flipped grid point lies within one step after the exact zero.
    gap = scanned[finite] - radius[finite]
    assert bool((gap >= 0).all()) and bool((gap <= h).all()), gap
    assert bool(torch.isinf(scanned[~finite]).all())
    # The side reported is the one the flip happens on.
    moved = data.X + (side * radius * (1 + 1e-6)).unsqueeze(-1) * normal
    assert bool((forward(net, moved) * f0 < 0)[finite].all())


def test_figure3_runs_end_to_end(tmp_path, monkeypatch):
    # Smaller internal sizes: 10 networks per setting (the test's minimum) and a short step budget; the
    # verdict itself is not asserted (too few steps to reach the margin), only that the check reports.
    small = replace(fp.FIGURE3, runs={"quick": 10, "standard": 10, "full": 10}, max_steps=600)
    monkeypatch.setattr(fp, "FIGURE3", small)
    monkeypatch.setattr(fp, "_TRAINED", {})  # neither reuse nor leave behind the small networks
    outcome = fp.figure3(_context(tmp_path))
    assert outcome.figures == ["R9_figure3.png"] and (tmp_path / "R9_figure3.png").exists()
    assert len(outcome.details["tests"]) == 2
    radii = outcome.tables[1]
    assert [row[0] for row in radii.rows] == ["vanilla", "small_init", "weight_decay"]
    assert "n/a (affine)" in outcome.tables[0].rows[0]


def test_affine_board_moves_e3_and_flat_board_does_not(tmp_path):
    outcome = fp.affine(_context(tmp_path))
    assert outcome.passed, outcome.statistic
    lifted, flat = outcome.details["lifted"], outcome.details["flat"]
    assert lifted["relative_error"] > 1e6 * lifted["budget"]
    assert flat["relative_error"] <= flat["budget"]
    assert len(outcome.tables[0].rows) == 2
