"""`verify calibrate`: failures against the stated rate and uniform p-values under the right theory; a
wrong theory is a finding."""

from __future__ import annotations

import json

from theory import results as R
from theory.symbols import ell
from verify import cli
from verify.claim import select
from verify.commands.calibrate import calibrate, judge
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
