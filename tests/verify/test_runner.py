"""The runner: grouping of checks into worker units, verdicts, exit status, internal errors."""

from verify import runner
from verify.registry import Check, Outcome, select


def _fake(id: str, module: str, fn) -> Check:
    fn.__module__ = module
    return Check(id, "claim", "R0", False, fn, "section")


def test_units_group_by_module_in_report_order():
    checks = select(["R1", "symbolic", "R6"])
    groups = runner.units(checks)
    assert [c.id for g in groups for c in g] == [c.id for c in checks]
    assert all(len({c.run.__module__ for c in g}) == 1 for g in groups)
    assert len(groups) == 3


def test_default_jobs_one_per_core_on_cpu_and_one_on_gpu(monkeypatch):
    monkeypatch.setattr(runner.os, "cpu_count", lambda: 6)
    assert runner.default_jobs("cpu") == 6
    assert runner.default_jobs("cuda") == 1


def test_a_crashing_check_is_an_error_verdict_and_exit_3(tmp_path):
    def boom(ctx):
        raise ValueError("broken on purpose")

    def fine(ctx):
        return Outcome(True, "p", "m", "s")

    checks = [_fake("x.boom", "m1", boom), _fake("x.fine", "m2", fine)]
    records = runner.run_checks(
        checks, profile="quick", seed=0, device="cpu", false_fail_rate=1e-3, out=tmp_path / "r"
    )
    assert [r.verdict for r in records] == ["error", "pass"]
    assert "broken on purpose" in records[0].error
    assert runner.exit_status(records) == 3
    assert runner.exit_status(records[1:]) == 0
    assert (tmp_path / "r" / "report.json").exists()
