"""The instruments' self-checks: they pass on the suite as it is, fast; their references are those of the
committed script; each can fail, and each of the three bugs that outside mutation testing found is caught,
applied here by monkeypatching (the self-checks are generic: nothing in them names these bugs)."""

from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import mpmath
import pytest
from scipy import stats

import verify.claim as claim_module
import verify.design as design_module
import verify.selfcheck.instruments as instruments_module
import verify.statistics.binomial as binomial_module
import verify.statistics.chi_square_mean as chi_square_mean_module
import verify.statistics.goodness_of_fit as gof_module
import verify.statistics.orderings as orderings_module
import verify.statistics.slopes as slopes_module
import verify.statistics.two_sided_binomial as two_sided_binomial_module
from tests.verify.deciding import measure
from verify import cli, harness, selfcheck
from verify.checks.helpers import designed_populations
from verify.claim import check_rate, select
from verify.selfcheck.known_answers import REFERENCES
from verify.selfcheck.result import SelfCheckResult

ROOT = Path(__file__).resolve().parents[2]
CLAIM = "R3.chi_square_fixed"  # two statistical tests, a designed population: cheap at quick


def _failing(results: list[SelfCheckResult]) -> set[str]:
    return {r.id for r in results if not r.passed}


def test_the_instruments_pass_their_self_checks_within_two_seconds():
    results = selfcheck.instrument_checks()
    assert _failing(results) == set()
    names = ("ks", "mean", "binomial_upper", "binomial_two_sided", "slope", "mann_whitney")
    assert {r.id for r in results} == {f"instruments.{k}" for k in names}
    assert sum(r.seconds for r in results) < 2.0
    assert all(len(r.rows) >= 4 for r in results)  # known answers and both directions, every test


def test_the_stored_references_are_what_the_committed_script_computes():
    spec = importlib.util.spec_from_file_location(
        "selfcheck_references", ROOT / "tools" / "selfcheck_references.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    computed = {
        "ks": script.ks_reference(),
        "mean": script.mean_reference(),
        "binomial_upper": script.binomial_upper_reference(),
        "binomial_two_sided": script.binomial_two_sided_reference(),
        "slope": script.slope_reference(),
        "mann_whitney": script.mann_whitney_reference(),
    }
    assert computed.keys() == REFERENCES.keys()
    for test, values in computed.items():
        assert values.keys() == REFERENCES[test].keys()
        for name, value in values.items():
            assert mpmath.almosteq(
                value, mpmath.mpf(REFERENCES[test][name]), rel_eps=mpmath.mpf(10) ** -25
            ), (test, name)


def _ks_one_sided(sample, cdf):  # outside mutation 1: the KS test run one-sided
    result = stats.kstest(sample, cdf, alternative="less", method="exact")
    return float(result.statistic), float(result.pvalue)


def _tail_off_by_one(monkeypatch):  # P(X > k) for P(X >= k)
    tail = binomial_module._binomial_tail
    monkeypatch.setattr(binomial_module, "_binomial_tail", lambda k, n, p: tail(k + 1, n, p))


def _binomtest_one_sided(monkeypatch):  # the two-sided test run one-sided
    binomtest = stats.binomtest
    fake = SimpleNamespace(binomtest=lambda k, n, p, alternative: binomtest(k, n, p, alternative="greater"))
    monkeypatch.setattr(two_sided_binomial_module, "stats", SimpleNamespace(**{**vars(stats), **vars(fake)}))


def _slope_stderr_with_n(monkeypatch):  # the slope's standard error with n, not n - 2, degrees of freedom
    def linregress(x, y):
        fit = stats.linregress(x, y)
        return SimpleNamespace(slope=fit.slope, intercept=fit.intercept,
                               stderr=fit.stderr * math.sqrt((len(x) - 2) / len(x)))  # fmt: skip

    monkeypatch.setattr(slopes_module, "stats", SimpleNamespace(**{**vars(stats), "linregress": linregress}))


def _mann_whitney_two_sided(monkeypatch):  # the one-sided ordering test run two-sided
    mwu = stats.mannwhitneyu
    fake = {
        "mannwhitneyu": lambda a, b, alternative, method: mwu(a, b, alternative="two-sided", method=method)
    }
    monkeypatch.setattr(orderings_module, "stats", SimpleNamespace(**{**vars(stats), **fake}))


def _mean_test_one_tail(monkeypatch):  # the exact mean test's p-value from one tail only
    original = chi_square_mean_module.mean_test_chi_square

    def one_tail(sample, law, **kwargs):
        result = original(sample, law, **kwargs)
        sums = chi_square_mean_module._chi_square_law(law).sum_of(len(sample))
        p = float(sums.sf_array(float(sum(sample))))
        return replace(result, p_value=p, passed=p >= kwargs["alpha"])

    monkeypatch.setattr(instruments_module, "mean_test_chi_square", one_tail)


# Each realistic slip in a statistical test, and the self-check that must catch it.
MUTATIONS = {
    "KS run one-sided (outside mutation 1)": (
        "instruments.ks", lambda mp: mp.setattr(gof_module, "_ks_statistic", _ks_one_sided)),
    "exact mean test from one tail": ("instruments.mean", _mean_test_one_tail),
    "one-sided binomial tail P(X > k)": ("instruments.binomial_upper", _tail_off_by_one),
    "two-sided binomial run one-sided": ("instruments.binomial_two_sided", _binomtest_one_sided),
    "slope error with n degrees of freedom": ("instruments.slope", _slope_stderr_with_n),
    "Mann-Whitney run two-sided": ("instruments.mann_whitney", _mann_whitney_two_sided),
}  # fmt: skip


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_each_instrument_self_check_catches_a_broken_test(mutation, monkeypatch):
    expected, apply = MUTATIONS[mutation]
    apply(monkeypatch)
    assert _failing(selfcheck.instrument_checks()) == {expected}


def _records(tmp_path: Path, family_rate: float = 1e-3) -> list[harness.Record]:
    c = select([CLAIM])[0]
    outcome, rate = harness.decide(c, measure(c.needs("quick")), profile="quick",
                                   family_rate=family_rate, figures_dir=tmp_path)  # fmt: skip
    verdict = "pass" if outcome.passed else "fail"
    return [harness.Record(c, outcome, verdict, check_rate(family_rate), rate)]


def test_the_rates_and_the_power_of_a_right_run_pass(tmp_path):
    results = selfcheck.run_checks(_records(tmp_path), 1e-3)
    assert _failing(results) == set()
    assert {r.id for r in results} == {"instruments.rate_split", "instruments.detection_power"}


def test_a_share_not_split_over_its_tests_is_caught(tmp_path, monkeypatch):
    """Outside mutation 2: each test given its claim's whole share. The harness checks each verdict against
    the same function, so the run is self-consistent; the sum over the actual verdicts is not."""

    def whole_share(c, profile, family_rate):
        return check_rate(family_rate) if c.tests(profile) else None

    for module in (claim_module, harness, design_module):
        monkeypatch.setattr(module, "per_test_rate", whole_share)
    assert _failing(selfcheck.run_checks(_records(tmp_path), 1e-3)) == {"instruments.rate_split"}


def test_populations_designed_at_another_rate_are_caught(tmp_path, monkeypatch):
    """Outside mutation 3: the designed populations sized at a 5% family rate instead of the run's 1e-3."""
    monkeypatch.setattr(design_module, "DESIGN_FAMILY_RATE", 0.05)
    designed_populations._decay_runs.cache_clear()
    try:
        failing = _failing(selfcheck.run_checks(_records(tmp_path), 1e-3))
    finally:
        designed_populations._decay_runs.cache_clear()
    assert failing == {"instruments.detection_power"}


def test_a_detection_stated_at_a_larger_rate_than_the_run_used_is_caught(tmp_path):
    record = _records(tmp_path)[0]
    assert record.outcome is not None and record.test_rate is not None
    inflated = tuple(replace(d, alpha=50 * record.test_rate) for d in record.outcome.detections)
    bad = harness.Record(record.claim, replace(record.outcome, detections=inflated), record.verdict,
                         record.false_fail_rate, record.test_rate)  # fmt: skip
    assert _failing(selfcheck.run_checks([bad], 1e-3)) == {"instruments.detection_power"}


def test_a_broken_instrument_stops_a_run_with_exit_3_and_is_in_the_report(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(gof_module, "_ks_statistic", _ks_one_sided)
    out = tmp_path / "report"
    assert cli.main(["run", CLAIM, "--profile", "quick", "--jobs", "1", "--out", str(out)]) == 3
    report = json.loads((out / "report.json").read_text())
    verdicts = {c["id"]: c["verdict"] for c in report["claims"]}
    assert verdicts["instruments.ks"] == "error" and CLAIM not in verdicts  # nothing measured
    assert "self-check of the instruments failed" in (out / "report.md").read_text()
    assert "ERROR instruments.ks" in capsys.readouterr().out


@pytest.mark.parametrize(
    "command", [["calibrate", CLAIM, "--seeds", "1"], ["at", "--d", "6", "--ell", "3", "--m", "4"]]
)
def test_the_other_commands_that_decide_claims_check_the_instruments_first(
    command, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(gof_module, "_ks_statistic", _ks_one_sided)
    assert cli.main([*command, "--jobs", "1", "--out" if command[0] == "calibrate" else "--format",
                     str(tmp_path / "cal") if command[0] == "calibrate" else "json"]) == 3  # fmt: skip
    assert "internal error: self-check of the instruments failed: instruments.ks" in capsys.readouterr().err
    assert not (tmp_path / "cal").exists()
