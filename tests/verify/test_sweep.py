"""Sweeps: spec validation (one line, exit 2, nothing written), and one tiny sweep whose tables are bitwise
the same on the inline executor, a 2-process local pool and a real 2-worker Dask LocalCluster, and after an
interruption and --resume."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from verify import cli
from verify.runtime.executors import DaskExecutor, InlineExecutor, LocalExecutor
from verify.sweep.run import run_sweep
from verify.sweep.spec import parse

TINY = """
[sweep]
name = "tiny"
[fixed]
d = 24
runs = 40
steps = 40
m = 12
n = 20
[axes]
ell = [6, 16]
noise = [0.0, 0.1]
"""
OUTPUTS = (
    "table.csv", "table.json", "table.md", "table.tex",
    "figures/verdict.png", "figures/tightness.png", "figures/radius_ratio.png",
)  # fmt: skip


def _bytes(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in OUTPUTS}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sweep") / "inline"
    run_sweep(parse(TINY), out, executor=InlineExecutor(), device="cpu", progress=lambda line: None)
    return out


BAD = [
    ("[fixed]\nd = 40\nell = 10\nwidth = 3\n", "fixed.width: unknown key"),
    ("[fixed]\nd = 40\n[axes]\nell = [10, 40]\n", "ell=40 is invalid: expected an integer >= 1 and < d=40"),
    ("[fixed]\nd = 40\nell = 10\nlr = -1\n", "fixed.lr: lr=-1 is invalid: expected a finite real > 0"),
    ("[fixed]\nd = 40\n[axes]\nell = {start = 1, stop = 3, num = 2, scale = 'log'}\n", "axes.ell.scale"),
    (
        "[fixed]\nd = 40\nell = 10\noptimizer = 'adam'\n[sweep]\nclaims = ['R1.invariance']\n",
        "claim R1.invariance does not apply",
    ),
    ("[fixed]\nd = 40\nell = 10\n[sweep]\nclaims = ['R9.figure2']\n", "it is not decidable per cell"),
    ("[fixed]\nd = 40\nell = 10\n[sweep]\nclaims = ['R9']\n", "sweep.claims: claim 'R9' is invalid"),
    ("[fixed]\nd = 40\nell = 10\nbias = 1\n", "fixed.bias: bias=1 is invalid: expected true or false"),
    ("[fixed]\nd = 40\nell = 10\n[axes]\nm = [4, 4]\n", "axes.m: m takes a value twice"),
    ("[fixed]\nd = 40\n", "fixed.ell: missing"),
    ("[fixed\n", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_spec_is_one_line_exit_2_nothing_written(tmp_path, capsys, text, message):
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    out = tmp_path / "out"
    assert cli.main(["sweep", str(spec), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_out_with_foreign_files_is_refused(tmp_path, capsys):
    spec = tmp_path / "ok.toml"
    spec.write_text(TINY)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert cli.main(["sweep", str(spec), "--out", str(out)]) == 2
    assert "holds files a sweep did not write" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_geometric_range_rounds_integers():
    spec = parse("[fixed]\nd = 1000\n[axes]\nell = {start = 10, stop = 990, num = 3, scale = 'geometric'}\n")
    assert dict(spec.axes)["ell"] == (10, 99, 990)


def test_tiny_sweep_rows_and_rate(reference):
    import json

    rows = json.loads((reference / "table.json").read_text())
    claims = (
        "R1.invariance",
        "R3.chi_square_trained",
        "R4.lower_bound",
        "R5.flip",
        "R6.identity",
        "R6.sandwich",
        "R7.chi_square",
    )
    assert len(rows) == 4 * len(claims) and {r["claim"] for r in rows} == set(claims)
    by = {(r["ell"], r["noise"], r["claim"]): r for r in rows}
    assert by[(6, 0.0, "R1.invariance")]["verdict"] == "pass"
    assert by[(6, 0.1, "R1.invariance")]["verdict"] == "fail"  # off-subspace noise breaks R1
    assert by[(6, 0.1, "R1.invariance")]["within_hypotheses"] is False
    # Bonferroni over 4 cells x 4 statistical claims, then over each claim's tests
    assert by[(6, 0.0, "R4.lower_bound")]["alpha"] == pytest.approx(1e-3 / 16 / 3)
    assert "Bonferroni" in (reference / "table.md").read_text()


def test_local_pool_and_dask_cluster_give_the_same_bytes(reference, tmp_path):
    pool = LocalExecutor(2)
    try:
        run_sweep(parse(TINY), tmp_path / "pool", executor=pool, device="cpu", progress=lambda line: None)
    finally:
        pool.close()
    assert _bytes(tmp_path / "pool") == _bytes(reference)
    cluster = DaskExecutor(2)  # a real distributed.LocalCluster with two worker processes
    try:
        run_sweep(parse(TINY), tmp_path / "dask", executor=cluster, device="cpu", progress=lambda line: None)
        # Dask's default MALLOC_TRIM_THRESHOLD_ halves torch's speed on small tensors; our cluster unsets it.
        environ = [result for _, result, _ in cluster.run(_malloc_setting, [0, 1])]
    finally:
        cluster.close()
    assert _bytes(tmp_path / "dask") == _bytes(reference)
    assert environ == [None, None]


def _malloc_setting(_: object) -> str | None:
    import os

    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


class _Stop(Exception):
    pass


def test_interrupted_then_resumed_equals_uninterrupted(reference, tmp_path):
    out = tmp_path / "resumed"
    seen = []

    def stop_after_two(line: str) -> None:
        seen.append(line)
        if len(seen) == 2:
            raise _Stop

    with pytest.raises(_Stop):
        run_sweep(parse(TINY), out, executor=InlineExecutor(), device="cpu", progress=stop_after_two)
    assert len(list((out / "cells").glob("*.json"))) == 2 and not (out / "table.csv").exists()
    lines = []
    run_sweep(parse(TINY), out, executor=InlineExecutor(), device="cpu", resume=True, progress=lines.append)
    assert lines[0] == "resuming: 2 of 4 cells already finished" and len(lines) == 3
    assert _bytes(out) == _bytes(reference)


def test_without_resume_a_previous_sweep_is_refused(reference, tmp_path, capsys):
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY)
    copy = tmp_path / "copy"
    shutil.copytree(reference, copy)
    assert cli.main(["sweep", str(spec), "--out", str(copy)]) == 2
    assert "pass --resume" in capsys.readouterr().err


def test_parquet_table_holds_the_same_rows_as_the_json_table(reference):
    import json
    import math

    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is in the test extra")
    rows = json.loads((reference / "table.json").read_text())
    table = pq.read_table(reference / "table.parquet").to_pylist()
    assert len(table) == len(rows) > 0

    def same(a, b) -> bool:
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return a == b

    for left, right in zip(table, rows, strict=True):
        assert set(left) == set(right)
        assert all(same(left[k], right[k]) for k in right), [k for k in right if not same(left[k], right[k])]


def test_a_cluster_started_with_the_dask_commands_gives_the_same_bytes(reference, tmp_path):
    """`dask scheduler` and `dask worker` as separate processes (a cluster the suite did not start), the
    workers configured by examples/dask; the sweep reaches it through --scheduler's path."""
    import os
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[2]
    address_file = tmp_path / "scheduler.json"
    env = {**os.environ, "DASK_CONFIG": str(root / "examples" / "dask")}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env, "cwd": root}
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
         "--no-dashboard", "--scheduler-file", str(address_file)], **quiet,
    )  # fmt: skip
    workers = None
    try:
        for _ in range(300):
            if address_file.exists() and address_file.stat().st_size > 0:
                break
            time.sleep(0.1)
        workers = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(address_file),
             "--nworkers", "2", "--nthreads", "1", "--no-dashboard"], **quiet,
        )  # fmt: skip
        import json

        address = json.loads(address_file.read_text())["address"]
        cluster = DaskExecutor(2, scheduler=address)
        try:
            cluster._client.wait_for_workers(2, timeout=60)
            run_sweep(
                parse(TINY), tmp_path / "remote", executor=cluster, device="cpu", progress=lambda line: None
            )
            environ = [result for _, result, _ in cluster.run(_malloc_setting, [0, 1])]
        finally:
            cluster.close()
    finally:
        for process in (workers, scheduler):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    assert _bytes(tmp_path / "remote") == _bytes(reference)
    assert environ == [None, None]


def test_radius_levels_are_medians_with_a_band_that_covers(reference):
    import json

    import numpy as np

    from verify.sweep.cells import median_band

    # the band of the median: exact order statistics (n = 10: x_(2) and x_(9), coverage 0.979)
    assert median_band(np.arange(1.0, 11.0)) == (5.5, 2.0, 9.0)
    rng = np.random.default_rng(1)
    covered = np.mean(
        [
            (lambda m: m[1] <= 1.0 <= m[2])(median_band(rng.exponential(size=60) / np.log(2)))
            for _ in range(400)
        ]
    )
    assert covered >= 0.93  # 95% nominal; 400 draws leave about 1 point of noise
    rows = json.loads((reference / "table.json").read_text())
    for r in rows:
        assert r["orth_over_on_band_low"] <= r["orth_over_on_q50"] <= r["orth_over_on_band_high"]
        assert r["orth_over_x0_band_low"] <= r["orth_over_x0_q50"] <= r["orth_over_x0_band_high"]
    assert "how small the orthogonal flip radius is" in (reference / "table.md").read_text()


def test_ratio_maps_are_centred_on_one_and_do_not_stretch_over_noise():
    import math

    import numpy as np

    from verify import figures
    from verify.sweep.maps import MIN_DECADES, draw_map

    fig, axes = figures.new(1, 1)
    noise = np.array([[0.1375, 0.1525]])  # R4's log10 tightness on one panel of a sweep: a 3.5% spread
    draw_map(fig, axes[0, 0], noise, "tightness")
    image = axes[0, 0].images[0]
    assert (image.norm.vmin, image.norm.vmax) == (-MIN_DECADES, MIN_DECADES)  # centred on 1, a factor 2 wide
    fig, axes = figures.new(1, 1)
    draw_map(fig, axes[0, 0], np.array([[-1.0, 0.5]]), "ratio")
    image = axes[0, 0].images[0]
    assert image.norm.vmin == -1.0 and image.norm.vmax == 1.0  # the largest departure sets both ends
    assert math.isclose(MIN_DECADES, math.log10(2))


def test_a_ratio_panel_without_any_ratio_says_so():
    import numpy as np

    from verify import figures
    from verify.sweep.maps import NO_RATIO, draw_map

    fig, axes = figures.new(1, 1)
    draw_map(fig, axes[0, 0], np.full((2, 3), np.nan), "tightness")  # R6.identity: error 0 against 0
    assert [t.get_text() for t in axes[0, 0].texts] == [NO_RATIO]
    fig, axes = figures.new(1, 1)
    draw_map(fig, axes[0, 0], np.array([[0.1, np.nan]]), "tightness")
    assert NO_RATIO not in [t.get_text() for t in axes[0, 0].texts]
