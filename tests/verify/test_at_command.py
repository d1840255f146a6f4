"""`python -m verify at`: one cell, its quantities beside `verify bounds`, each claim's verdict."""

from __future__ import annotations

import json
import re

import pytest

from verify import cli

POINT = ["--d", "24", "--ell", "12", "--m", "12", "--n", "20", "--runs", "60", "--steps", "40", "--jobs", "1"]


def test_json_has_the_point_and_every_claim(capsys):
    status = cli.main(["at", *POINT, "--format", "json"])
    obj = json.loads(capsys.readouterr().out)
    assert obj["point"]["d"] == 24 and obj["point"]["ell"] == 12 and obj["status"] == "ok"
    assert set(obj["claims"]) == {"R1.invariance", "R3.chi_square_trained", "R4.lower_bound", "R5.flip",
                                  "R6.identity", "R6.sandwich", "R7.chi_square"}  # fmt: skip
    for claim in obj["claims"].values():
        assert {"prediction", "measurement", "rule", "verdict"} <= set(claim)
    assert status == (0 if all(c["verdict"] == "pass" for c in obj["claims"].values()) else 1)
    # beside verify bounds at the same point (k and N(x0) the medians measured)
    assert {"orth_grad_lower_bound", "failure_probability_exact", "decay_factor"} <= set(obj["bounds"])
    assert obj["bounds"]["decay_factor"]["theory"].startswith("1.0")


def test_table_format(capsys):
    cli.main(["at", *POINT, "--claims", "R4", "R6"])
    out = capsys.readouterr().out
    assert "R4.lower_bound" in out and "R6.sandwich" in out and "R3.chi_square" not in out
    assert "orth_grad_lower_bound" in out
    # the quantities are a table (one row per quantity, a column per quantile), and no line is wider than 110
    assert "quantity over the networks" in out and re.search(r"^g_norm +\S+ +\S+ +\S+ +- +-$", out, re.M)
    assert max(len(line) for line in out.splitlines()) <= 110


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--d", "24", "--ell", "24", "--m", "8"], "ell=24 is invalid: expected an integer >= 1 and < d=24"),
        (["--d", "24.5", "--ell", "3", "--m", "8"], "d='24.5' is invalid: expected an integer >= 2"),
        (["--d", "24", "--ell", "3", "--m", "8", "--optimizer", "nope"], "optimizer='nope' is invalid"),
        (
            ["--d", "24", "--ell", "3", "--m", "8", "--optimizer", "adam", "--claims", "R1"],
            "claim R1.invariance does not apply",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, extra, message):
    assert cli.main(["at", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
