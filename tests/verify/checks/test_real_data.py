"""The real-data checks end to end on tiny digits experiments, and their verdicts on wrong predictions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.verify.checks.conftest import quick_context
from verify.checks import real_data
from verify.registry import select

TINY = real_data.RealSizes(r=5, ds=(10, 20, 40), runs=40, n=60, n_test=20, m=16, steps=60)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[real_data.DigitsRun]:
    return real_data.digits_runs(quick_context(tmp_path_factory.mktemp("figures")), TINY)


def test_checks_are_registered_in_their_section():
    checks = select(["real"])
    assert [c.id for c in checks] == ["real.invariance", "real.chi_square", "real.radii"]
    assert {c.section for c in checks} == {real_data.SECTION}
    assert [c.statistical for c in checks] == [False, True, True]


@pytest.mark.parametrize("check_id", ["real.invariance", "real.chi_square", "real.radii"])
def test_registered_checks_pass_on_the_tiny_experiment(check_id, runs, tmp_path, monkeypatch):
    monkeypatch.setitem(real_data.SIZES, "quick", TINY)  # the fixture's cached runs are reused
    (chk,) = select([check_id])
    outcome = chk.run(quick_context(tmp_path))
    assert outcome.passed, outcome.statistic
    assert outcome.tables and outcome.statistic and outcome.predicted
    if check_id == "real.radii":
        assert (tmp_path / outcome.figures[0]).exists()
        headers = outcome.tables[0].headers
        assert "test acc" in headers and "on-manifold" in headers


def test_digits_runs_measure_what_the_checks_read(runs):
    for r in runs:
        assert r.ell == r.d - TINY.r and r.Q.shape == (TINY.runs,)
        assert (
            r.test_accuracy.mean() > 0.6
        )  # even vs odd is learnable from 5 principal components (chance 0.5)
        np.testing.assert_allclose(r.x_norm, np.sqrt(TINY.r), rtol=1e-12)  # rows scaled to norm sqrt(r)
        assert set(r.radii) == {"orthogonal", "on_manifold", "unrestricted"}


def test_chi_square_fails_on_a_wrong_law(runs):
    wrong = real_data.chi_square_outcome(runs, TINY, 1e-3, dof_shift=5)
    assert not wrong.passed
    assert "deliberately wrong" in wrong.predicted


def test_radii_fail_on_the_opposite_ordering(runs, tmp_path):
    wrong = real_data.radii_outcome(quick_context(tmp_path), runs, TINY, 1e-3, expect_decrease=False)
    assert not wrong.passed


def test_invariance_verdict_fails_when_an_orthogonal_move_is_planted(runs):
    """The exact check can fail: a run whose Pi W moved by 1e-9 relative is far outside the budget."""
    d = 10
    basis = torch.linalg.qr(
        torch.randn(d, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    )[0]
    perp = torch.eye(d, dtype=torch.float64) - basis @ basis.T
    W0 = torch.randn(2, 3, d, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    W = W0 + 1e-9 * W0 @ perp
    error = real_data.relative_invariance_error(W, W0, perp)
    assert np.all(error > 1e-10) and np.all(error < 1e-8)
    planted = [real_data.DigitsRun(**{**vars(runs[0]), "invariance": error})]
    assert not real_data.invariance_outcome(planted, TINY).passed
    assert real_data.invariance_outcome(runs, TINY).passed
