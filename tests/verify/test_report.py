"""Reports are written atomically and carry what a reviewer needs."""

import json

import pytest

from verify.registry import Check, Context, Outcome, Table
from verify.report import CheckRecord, staged_directory, write_all


def _record(verdict="pass") -> CheckRecord:
    chk = Check("X.demo", "a demo claim", "R0", True, lambda ctx: None, "Demo")  # type: ignore[arg-type]
    out = Outcome(
        verdict == "pass", "p=1", "m=1", "D=0 (p=1)", notes="n", tables=[Table("t", ("a",), ((1,),))]
    )
    return CheckRecord(chk, out, verdict, 0.5, 1e-4)


MANIFEST = {
    "command": "python -m verify demo",
    "profile": "quick",
    "seed": 0,
    "device": "cpu",
    "false_fail_rate": 1e-3,
    "git_commit": "abc",
    "started": "s",
    "finished": "f",
    "hardware": {"cpu": "x"},
    "versions": {"python": "3"},
}


def test_write_all_produces_every_file(tmp_path):
    with staged_directory(tmp_path / "rep") as stage:
        write_all(stage, [_record()], MANIFEST)
    rep = tmp_path / "rep"
    assert {p.name for p in rep.iterdir()} >= {"report.md", "report.json", "report.tex", "manifest.json"}
    data = json.loads((rep / "report.json").read_text())
    assert set(data) == {"manifest", "checks"}
    c = data["checks"][0]
    for key in ("id", "claim", "verdict", "predicted", "measured", "statistic", "false_fail_rate", "seconds"):
        assert key in c
    assert "| X.demo" in (rep / "report.md").read_text()
    assert "\\toprule" in (rep / "report.tex").read_text()


def test_crash_leaves_previous_report_intact(tmp_path):
    rep = tmp_path / "rep"
    with staged_directory(rep) as stage:
        (stage / "report.md").write_text("old")
    with pytest.raises(RuntimeError), staged_directory(rep) as stage:
        (stage / "report.md").write_text("half")
        raise RuntimeError("crash mid-run")
    assert (rep / "report.md").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_context_size_picks_profile(tmp_path):
    ctx = Context("quick", 0, "cpu", 1e-4, tmp_path, lambda it, **k: it)
    assert ctx.size({"quick": 1, "standard": 2, "full": 3}) == 1
