"""`python -m verify bench` end to end on the tiny size: keys, agreement, table, usage errors."""

import json

import pytest

from verify.cli import main
from verify.commands import bench as bench_command

KEYS = {
    "baseline_seconds",
    "batched_seconds",
    "speedup",
    "achieved_gflops",
    "peak_gflops",
    "fraction_of_peak",
    "max_relative_difference",
}
TINY = ["bench", "--sizes", "tiny", "--skip-quick", "--repeats", "1", "--peak-size", "64"]


def test_json_has_every_key_and_float64_agrees(capsys):
    assert main([*TINY, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["quick"] is None
    assert {"cpu", "torch_threads", "load_average_before", "load_average_after"} <= set(report["machine"])
    assert [(r["size"], r["dtype"]) for r in report["results"]] == [("tiny", "float64"), ("tiny", "float32")]
    for r in report["results"]:
        assert KEYS <= set(r)
        assert r["speedup"] == pytest.approx(r["baseline_seconds"] / r["batched_seconds"])
        assert r["fraction_of_peak"] == pytest.approx(r["achieved_gflops"] / r["peak_gflops"])
    f64, f32 = report["results"]
    assert f64["max_relative_difference"] <= 1e-10 and f64["agree"] and f64["gated"]
    assert f32["max_relative_difference"] <= 1e-4 and f32["agree"] and not f32["gated"]
    # float32 against the float64 result of the same networks: off by float32 rounding, not more
    assert 0 < f32["float64_reference_difference"]["batched"] <= 1e-4


def test_table_names_the_machine_and_every_column(capsys):
    assert main([*TINY, "--dtypes", "float64"]) == 0
    out = capsys.readouterr().out
    for word in ("speedup", "peak GFLOP/s", "max rel diff", "tiny", "machine:", "threads", "load average"):
        assert word in out
    assert not any(line.startswith("tiny") and "float32" in line for line in out.splitlines())


@pytest.mark.parametrize("argv", [["--sizes", "huge"], ["--dtypes", "float16"], ["--repeats", "0"],
                                  ["--sizes", ","], ["--device", "tpu"], ["--threads", "0"]])  # fmt: skip
def test_bad_options_are_one_line_usage_errors(argv, capsys):
    assert main([*TINY, *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error" in err


def test_quick_timings_are_read_from_the_manifest():
    quick = bench_command.quick_run_timings("cpu", ids=["symbolic.decay_recurrence"])
    assert quick["exit_status"] == 0, quick
    assert {k for k in quick["check_seconds"] if not k.startswith("instruments.")} == {
        "symbolic.decay_recurrence"
    }
    assert 0 <= quick["check_seconds"]["symbolic.decay_recurrence"] <= quick["seconds"]
    report = {"results": [], "quick": quick, "settings": {"steps": 1, "lr": 0.1, "repeats": 1},
              "machine": {"cpu": "x", "cpu_count": 2, "torch": "t", "torch_threads": 2, "device": "cpu",
                          "load_average_before": 0.0, "load_average_after": 0.0}}  # fmt: skip
    assert "symbolic.decay_recurrence" in bench_command.format_table(report)
