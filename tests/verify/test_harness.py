"""The harness: each experiment once, rules decided on their measurements, the family rate split and
asserted, internal errors reported per claim, the same numbers with any executor."""

from pathlib import Path

import pytest

from tests.verify import deciding
from verify import harness
from verify.claim import Claim, Outcome, check_rate, per_test_rate
from verify.experiments import Request
from verify.experiments.population import PopulationSpec
from verify.statistics import ks_test
from verify.tolerance import threshold

TINY = PopulationSpec.of(runs=3, d=6, ell=3, n=8, m=4, lr=0.2, steps=5)


def _claim(id: str, rule, needs=None, tests: int = 0) -> Claim:
    return Claim(id, "t", "s.", (), "section", needs or (lambda p: {}), lambda p: tests, rule)


def _exact(ctx, m):
    return Outcome(verdicts=(threshold("x", 0.0, "<=", 1.0),), prediction="p")


def _run(claims, figures_dir, **options):
    """The harness on `claims` at the quick profile, seed 0, on this CPU, quietly."""
    settings = dict(profile="quick", seed=0, device="cpu", family_rate=1e-3, echo=False) | options
    return harness.run_claims(claims, figures_dir=figures_dir, **settings)


def test_a_crashing_rule_is_an_error_record_and_exit_3(tmp_path):
    def boom(ctx, m):
        raise ValueError("broken on purpose")

    records = _run([_claim("x.boom", boom), _claim("x.fine", _exact)], tmp_path)
    assert [r.verdict for r in records] == ["error", "pass"]
    assert "broken on purpose" in records[0].error
    assert harness.exit_status(records) == 3 and harness.exit_status(records[1:]) == 0


def test_a_shared_experiment_runs_once_and_its_time_is_split(tmp_path, monkeypatch):
    calls = []
    real = harness.experiments.run
    monkeypatch.setattr(harness.experiments, "run", lambda r, s, d: calls.append(r) or real(r, s, d))
    request = Request("population", TINY, seed_parts=("shared",))
    need = lambda p: {"pop": request}  # noqa: E731
    records = _run([_claim("x.a", _exact, need), _claim("x.b", _exact, need)], tmp_path)
    assert len(calls) == 1
    assert records[0].experiment_seconds == pytest.approx(records[1].experiment_seconds)


def test_a_rule_must_make_exactly_its_declared_tests_at_its_rate(tmp_path):
    def one_test(ctx, m):
        return Outcome(
            verdicts=(ks_test([0.2, 0.4, 0.6], lambda x: x, alpha=ctx.test_alpha),), prediction="p"
        )

    def too_loose(ctx, m):
        return Outcome(verdicts=(ks_test([0.2, 0.4, 0.6], lambda x: x, alpha=0.5),), prediction="p")

    records = _run(
        [
            _claim("x.ok", one_test, tests=1),
            _claim("x.count", one_test, tests=2),
            _claim("x.rate", too_loose, tests=1),
        ],
        tmp_path,
    )
    assert [r.verdict for r in records] == ["pass", "error", "error"]
    assert "declares 2 statistical tests" in records[1].error and "above its share" in records[2].error


def test_rates_are_split_over_every_registered_claim_and_sum_to_the_family_rate():
    from verify.claim import all_claims

    claims = all_claims()
    shares = [check_rate(1e-3) for c in claims if c.statistical]
    assert sum(shares) == pytest.approx(1e-3)
    for c in claims:
        rate = per_test_rate(c, "quick", 1e-3)
        assert (rate is None) == (not c.statistical)
        if rate is not None:
            assert rate * c.tests("quick") == pytest.approx(check_rate(1e-3))


def test_run_claim_memoises_experiments(tmp_path):
    need = lambda p: {"pop": Request("population", TINY, seed_parts=("memo",))}  # noqa: E731
    c = _claim("x.memo", _exact, need)
    deciding.run_claim(c, figures_dir=Path(tmp_path))
    key = need("quick")["pop"].key(0, "cpu")
    assert key in deciding.MEMO
