"""R6's claims at the quick profile: the identity with theory's |N(x0)|/L, the sandwich certified <= r_perp <=
attack, and the exact radius by SCIP; a wrong theory fails the identity, a missing solver never passes."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import sympy as sp

from tests.verify.deciding import measure, run_claim
from theory.results import replaced
from theory.symbols import N0, L, m
from verify import claim, experiments
from verify.checks.r6_exact import exact_populations
from verify.checks.r6_sandwich import populations
from verify.experiments.population import ATTACK_METHODS, ATTACK_SPACES, PopulationSpec
from verify.harness import run_claims

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _run(claim_id: str, tmp_path):
    return run_claim(claim.get(claim_id), profile="quick", figures_dir=tmp_path)


def test_identity_passes_and_a_doubled_certificate_fails_it(tmp_path):
    outcome = _run("R6.identity", tmp_path)
    assert outcome.passed
    assert all(v.max_rel_error <= 1e-15 for v in outcome.verdicts)
    with replaced("R6", certified_radius=2 * sp.Abs(N0) / L):
        wrong = _run("R6.identity", tmp_path)
    assert not wrong.passed
    assert all(not v.passed for v in wrong.verdicts)  # every population catches it
    assert _run("R6.identity", tmp_path).passed  # the registry is restored


def test_a_certificate_m_times_too_large_fails_every_r6_claim(tmp_path):
    # L read as the mean of |u_i| ||Pi w_i|| instead of their sum: the radius exceeds the flips and r_perp.
    with replaced("R6", certified_radius=m * sp.Abs(N0) / L):
        for claim_id in ("R6.identity", "R6.sandwich", "R6.exact"):
            assert not _run(claim_id, tmp_path).passed, claim_id


def test_sandwich_passes_with_its_ratio_table_and_figure(tmp_path):
    outcome = _run("R6.sandwich", tmp_path)
    assert outcome.passed
    (ratios,) = outcome.tables
    assert len(ratios.rows) == len(populations("quick"))
    columns = [c.name for c in ratios.columns]
    tight, global_ = columns.index("median tight/attack"), columns.index("median R6/attack")
    for row in ratios.rows:
        assert 0 < row[global_] < row[tight] <= 1
    assert outcome.figures == ("R6_sandwich.png",) and (tmp_path / "R6_sandwich.png").is_file()


def test_exact_claim_passes_and_solves_every_flipped_point(tmp_path):
    outcome = _run("R6.exact", tmp_path)
    assert outcome.passed
    (rows,) = outcome.tables
    columns = [c.name for c in rows.columns]
    for row in rows.rows:
        assert row[columns.index("solved")] == row[columns.index("flipped")] > 0
        assert row[columns.index("median attack/exact")] == pytest.approx(1.0, abs=1e-5)
    assert (tmp_path / "R6_exact.png").is_file()


def test_the_measurements_are_consistent():
    pops = measure(populations("quick"))
    for pop in pops.values():
        ok = pop.measured
        assert set(pop.radii) == set(ATTACK_SPACES) == set(pop.attack_methods)
        for name in ATTACK_SPACES:
            found = np.isfinite(pop.radii[name][ok])
            methods = pop.attack_methods[name][ok]
            assert np.all((methods >= 0) == found) and np.all(methods < len(ATTACK_METHODS))
        assert np.all(pop.tight_certified[ok] >= pop.certified[ok] * (1 - 1e-9))
        assert pop.lipschitz.shape == (pop.runs,) and np.all(pop.lipschitz[ok] > 0)
        assert np.all(np.isnan(pop.tight_certified[~ok]))


def test_exact_needs_attacks():
    with pytest.raises(ValueError, match="'exact' needs 'attacks'"):
        PopulationSpec.of(runs=1, d=12, ell=8, n=10, lr=0.2, steps=300, measure=("gradient", "exact"))


def test_without_pyscipopt_the_exact_claim_is_an_error_not_a_pass(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyscipopt" else real(name, *a)
    )
    request = next(iter(exact_populations("quick").values()))
    with pytest.raises(ImportError, match="pyscipopt"):
        experiments.run(request, 0, "cpu")
    (record,) = run_claims(
        [claim.get("R6.exact")],
        profile="quick",
        seed=7,
        device="cpu",
        family_rate=1e-3,
        figures_dir=tmp_path,
        echo=False,
    )
    assert record.verdict == "error" and "pyscipopt" in record.error
