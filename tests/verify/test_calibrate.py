"""`verify calibrate`: failures against the stated rate and uniform p-values under the right theory; a
wrong theory is a finding."""

from __future__ import annotations

import json
import signal

from theory import results as R
from theory.symbols import ell
from verify import cli, harness
from verify.claim import select
from verify.commands import calibration_seeds
from verify.commands.calibrate import calibrate
from verify.commands.calibration_report import judge
from verify.runtime.execution import Interrupted
from verify.runtime.executors import InlineExecutor

CLAIM = "R3.chi_square_fixed"


def test_the_right_theory_is_calibrated_and_the_report_is_written(tmp_path, capsys):
    status = cli.main(["calibrate", CLAIM, "--seeds", "3", "--jobs", "1", "--out", str(tmp_path / "cal")])
    report = json.loads((tmp_path / "cal" / "report.json").read_text())
    assert status == 0 and [c["id"] for c in report["claims"]] == [CLAIM]
    assert report["claims"][0]["failures"] == 0 and report["claims"][0]["passed"]
    assert all(t["n"] == 3 and t["uniform"] for t in report["tests"])  # one p-value per seed and test
    assert {"#1 chi2_3", "#2 Q"} <= {t["test"] for t in report["tests"]}
    assert "report in" in capsys.readouterr().out


def test_a_wrong_theory_is_a_finding():
    claims = select([CLAIM])
    with R.replaced("R3", degrees_of_freedom=ell + 1):
        results = calibrate(
            claims, [7, 8], profile="quick", device="cpu", family_rate=1e-3, executor=InlineExecutor()
        )
    rows, tests = judge(results, 2, 1e-3)
    assert rows[0]["failures"] == 2 and not rows[0]["passed"]


def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    assert cli.main(["calibrate", "--seeds", "0", "--out", str(tmp_path / "cal")]) == 2
    assert not (tmp_path / "cal").exists() and "seeds=0 is invalid" in capsys.readouterr().err


def _without_timings(report: dict) -> dict:
    claims = [{k: v for k, v in c.items() if k != "seconds"} for c in report["claims"]]
    return {"claims": claims, "tests": report["tests"]}


def test_an_interrupted_calibration_resumes_to_the_same_report(tmp_path, capsys, monkeypatch):
    """Interrupted after its first seed, a calibration keeps that seed; --resume runs only the others and
    reports what an uninterrupted calibration reports (timings aside); the kept records then go."""
    args = ["calibrate", CLAIM, "--seeds", "3", "--jobs", "1"]
    assert cli.main([*args, "--out", str(tmp_path / "whole")]) == 0
    whole = json.loads((tmp_path / "whole" / "report.json").read_text())
    assert not list(tmp_path.glob(".whole.calibration-seeds"))

    save, ran = calibration_seeds.SeedStore.save, []

    def save_then_stop(self, seed, record):
        save(self, seed, record)
        raise Interrupted(signal.SIGINT)

    monkeypatch.setattr(calibration_seeds.SeedStore, "save", save_then_stop)
    out = str(tmp_path / "pieces")
    assert cli.main([*args, "--out", out]) == 130
    assert not (tmp_path / "pieces").exists()
    kept = sorted(p.name for p in (tmp_path / ".pieces.calibration-seeds").iterdir())
    assert kept == ["seed-1000.json"]
    assert "--resume" in capsys.readouterr().err
    monkeypatch.setattr(calibration_seeds.SeedStore, "save", save)
    assert cli.main([*args, "--out", out]) == 2  # records kept: refused without --resume
    assert "pass --resume" in capsys.readouterr().err

    run_claims = harness.run_claims

    def counted(claims, *, seed, **kwargs):
        ran.append(seed)
        return run_claims(claims, seed=seed, **kwargs)

    monkeypatch.setattr(harness, "run_claims", counted)
    assert cli.main([*args, "--out", out, "--resume"]) == 0
    assert ran == [1001, 1002]  # seed 1000 was not run again
    assert "resuming, 1 of 3 seeds" in capsys.readouterr().err
    pieces = json.loads((tmp_path / "pieces" / "report.json").read_text())
    assert _without_timings(pieces) == _without_timings(whole)
    assert pieces["manifest"]["resumed_seeds"] == 1
    assert not (tmp_path / ".pieces.calibration-seeds").exists()


def test_a_seed_record_of_other_settings_is_not_reused(tmp_path):
    claims = select([CLAIM])
    store = calibration_seeds.seed_store(tmp_path / "cal", claims=claims, profile="quick", family_rate=1e-3,
                                         device="cpu")  # fmt: skip
    store.save(5, {"x": 1})
    assert store.load(5) == {"x": 1}
    other = calibration_seeds.seed_store(tmp_path / "cal", claims=claims, profile="quick", family_rate=1e-2,
                                         device="cpu")  # fmt: skip
    assert other.folder == store.folder and other.load(5) is None and other.load(6) is None
