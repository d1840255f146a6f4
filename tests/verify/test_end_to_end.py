"""The real program, run as a user runs it: `python -m verify all --profile quick`."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch


def _verify(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "verify", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_quick_profile_passes_and_writes_every_report(quick_report):
    out, run = quick_report.out, quick_report.run
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    for name in (
        "report.md",
        "report.html",
        "report.json",
        "report.tex",
        "report-tables.tex",
        "manifest.json",
    ):
        assert (out / name).stat().st_size > 0
    report = json.loads((out / "report.json").read_text())
    assert {c["verdict"] for c in report["claims"]} == {"pass"}
    ids = {c["id"] for c in report["claims"]}
    for family in ("R1", "R3", "R4", "R5", "R6", "R7", "R8", "scaling", "symbolic"):
        assert any(i.startswith(family) for i in ids), family
    manifest = report["manifest"]
    for key in (
        "command",
        "profile",
        "seed",
        "versions",
        "hardware",
        "git_commit",
        "started",
        "finished",
        "claim_seconds",
        "wall_seconds",
        "executor",
    ):
        assert key in manifest
    for fig in (f for c in report["claims"] for f in c["figures"]):
        assert (out / fig).exists()
    # A table shows a number or "-" (no value), never NaN (R1.adam_control once printed one it could compute).
    nans = [
        (c["id"], column["name"])
        for c in report["claims"]
        for t in c["tables"]
        for row in t["rows"]
        for column, v in zip(t["columns"], row, strict=True)
        if str(v).lower() == "nan"
    ]
    assert not nans, nans
    assert manifest["wall_seconds"] < 180, manifest["claim_seconds"]


@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_quick_profile_passes_on_cuda(tmp_path):
    # Every check on the GPU. Its kernels round differently from the CPU's, so the numbers are compared
    # through the verdicts only: each check must pass there as it does here.
    out = tmp_path / "cuda"
    run = _verify("all", "--profile", "quick", "--device", "cuda", "--out", str(out))
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    report = json.loads((out / "report.json").read_text())
    assert {c["verdict"] for c in report["claims"]} == {"pass"}
    assert "gpu" in report["manifest"]["hardware"]


def _numbers(path: Path) -> list:
    claims = json.loads((path / "report.json").read_text())["claims"]
    return [{k: v for k, v in c.items() if not k.endswith("seconds")} for c in claims]


def test_same_command_gives_the_same_numbers(tmp_path):
    ids = ("R1.adam_control", "symbolic.decay_recurrence")
    a, b = tmp_path / "a", tmp_path / "b"
    assert _verify("run", *ids, "--profile", "quick", "--out", str(a)).returncode == 0
    assert _verify("run", *ids, "--profile", "quick", "--out", str(b)).returncode == 0
    assert _numbers(a) == _numbers(b)
    assert (a / "report.md").read_text().count("PASS") == (b / "report.md").read_text().count("PASS")


def test_numbers_do_not_depend_on_the_number_of_worker_processes(tmp_path):
    # Several experiments and claims, so both the inline and the parallel path are exercised.
    ids = ("R1", "symbolic")
    a, b = tmp_path / "serial", tmp_path / "parallel"
    assert _verify("run", *ids, "--profile", "quick", "--jobs", "1", "--out", str(a)).returncode == 0
    assert _verify("run", *ids, "--profile", "quick", "--jobs", "2", "--out", str(b)).returncode == 0
    assert _numbers(a) == _numbers(b)
    assert json.loads((b / "manifest.json").read_text())["jobs"] == 2


def test_a_dask_cluster_gives_the_same_numbers_as_the_local_pool(tmp_path):
    # A real LocalCluster of two worker processes (no mock), against the local process pool.
    ids = ("R1.invariance", "R3.chi_square_fixed", "symbolic.decay_recurrence")
    a, b = tmp_path / "local", tmp_path / "dask"
    assert _verify("run", *ids, "--profile", "quick", "--jobs", "2", "--out", str(a)).returncode == 0
    assert (
        _verify(
            "run", *ids, "--profile", "quick", "--jobs", "2", "--executor", "dask", "--out", str(b)
        ).returncode
        == 0
    )
    assert _numbers(a) == _numbers(b)
    assert json.loads((b / "manifest.json").read_text())["executor"] == "dask"
