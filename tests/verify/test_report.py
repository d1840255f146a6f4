"""Reports are rendered from values: numbers formatted by declared columns, every verdict re-decidable
from the JSON alone, a summary row per claim that fits a screen."""

import json

import pytest

from verify.claim import Claim, Column, Outcome, table
from verify.harness import Record
from verify.report import format_cell, summary_rows, write_all
from verify.statistics import Rule, ks_test
from verify.tolerance import compare, threshold

MANIFEST = {
    "generator": "offsub verify report",
    "command": "python -m verify demo",
    "profile": "quick",
    "seed": 0,
    "device": "cpu",
    "executor": "local",
    "jobs": 1,
    "false_fail_rate": 1e-3,
    "wall_seconds": 1.0,
    "git_commit": "abc",
    "started": "s",
    "finished": "f",
    "hardware": {"cpu": "x"},
    "versions": {"python": "3"},
}


def demo_claim(statistical: bool = True) -> Claim:
    return Claim(
        id="X.demo", title="a demo", statement="A demo claim.", results=("R3",), section="Demo",
        needs=lambda p: {}, tests=lambda p: 1 if statistical else 0, rule=lambda ctx, m: None,  # type: ignore[arg-type,return-value]
    )  # fmt: skip


def demo_record() -> Record:
    sample = [0.1, 0.5, 0.9, 0.3, 0.7]
    outcome = Outcome(
        verdicts=(
            ks_test(sample, lambda x: x, alpha=1e-3, name="vs U(0, 1)"),
            threshold("error/budget", 0.5, "<=", 1.0),
        ),
        prediction="uniform",
        tables=(
            table("t", [("a", ".2f"), "b", ("c", "d")], [(1.23456, "label", 7), (float("inf"), None, True)]),
        ),
    )
    return Record(demo_claim(), outcome, "pass", 1e-3, 1e-3, 0.1, 0.4)


def test_write_all_produces_every_file_and_json_re_decides_every_verdict(tmp_path):
    write_all(tmp_path, [demo_record()], MANIFEST, compile_pdf=False)
    assert {p.name for p in tmp_path.iterdir()} >= {"report.md", "report.json", "report.tex", "manifest.json"}
    data = json.loads((tmp_path / "report.json").read_text())
    assert set(data) == {"manifest", "claims"}
    c = data["claims"][0]
    for key in (
        "id",
        "title",
        "verdict",
        "prediction",
        "false_fail_rate",
        "test_rate",
        "verdicts",
        "decisive",
        "seconds",
    ):
        assert key in c
    for v in c["verdicts"]:
        rule = Rule(
            **{k: float(v["rule"][k]) if k in ("value", "threshold") else v["rule"][k] for k in v["rule"]}
        )
        assert rule.holds() == (v["passed"] if "passed" in v else True)
    # tables keep numbers: the writers format them, the JSON does not
    assert c["tables"][0]["rows"][0] == [1.23456, "label", 7]
    assert c["tables"][0]["rows"][1][0] == "inf"
    md = (tmp_path / "report.md").read_text()
    assert "| X.demo" in md and "1.23" in md and "1.23456" not in md
    assert "\\toprule" in (tmp_path / "report.tex").read_text()


def test_summary_row_is_short_and_shows_the_decisive_rule():
    [row] = summary_rows([demo_record()])
    assert row[0] == "X.demo" and row[1] == "a demo" and row[3] == "PASS"
    assert row[2].startswith("p = ") and ">= 0.001" in row[2]  # the statistical test, not the exact rule
    assert len(" | ".join(row)) < 120


@pytest.mark.parametrize(
    ("value", "column", "text"),
    [
        (0.123456, Column("x", ".3g"), "0.123"),
        (True, Column("x"), "yes"),
        (None, Column("x", ".2f"), "-"),
        (3, Column("x", "d"), "3"),
        (float("nan"), Column("x", ".2f"), "nan"),
    ],
)
def test_cells_are_formatted_by_their_column(value, column, text):
    assert format_cell(value, column) == text


def test_tables_refuse_formatted_or_foreign_cells():
    with pytest.raises(ValueError):
        table("t", ["a", "b"], [(1,)])
    with pytest.raises(TypeError):
        table("t", ["a"], [([1, 2],)])


def test_an_outcome_whose_verdict_disagrees_with_its_rule_is_refused():
    good = compare([1.0], [1.0], rtol=0.0)
    with pytest.raises(AssertionError):
        Outcome(verdicts=(type(good)(**{**good.__dict__, "passed": False}),), prediction="x")


def test_power_table_lists_each_detection_and_names_a_claim_without_any():
    from dataclasses import replace

    from verify.claim import Detection
    from verify.report import power_rows

    plain = demo_record()
    designed = replace(
        plain,
        outcome=replace(
            plain.outcome, detections=(Detection("dof ell + 1", "exact mean test", 745, 5e-6, 0.93),)
        ),
    )
    exact = replace(plain, claim=replace(demo_claim(statistical=False), id="X.exact"), false_fail_rate=None)
    rows = power_rows([designed, plain, exact])
    assert rows == [
        ["X.demo", "dof ell + 1", "exact mean test", "745", "5e-06", "0.930"],
        ["X.demo", "(none declared)", "", "", "", ""],
    ]
