"""`python -m verify bench`: the batched trainer against a naive baseline and the machine's peak, in one run.

For each size and dtype, the same R networks and data are trained for STEPS full-batch GD steps on the
logistic loss twice: by numerics.train.train (all R at once) and by bench.baseline.train_baseline
(one nn.Module at a time, autograd, torch.optim.SGD). Baseline and batched repeats alternate, so a change
of load slows both; each time is the median of `--repeats`. The final W and u must agree to
max |batched - baseline| / max |baseline| <= 1e-10 (float64) or 1e-4 (float32) per tensor; otherwise
the exit status is 1. The trainer's rate is its analytic FLOP count (bench.flops) over its time, as
a fraction of the best square-matmul rate measured in the same run for the same dtype. Finally
`verify all --profile quick` runs as a subprocess and its per-check seconds are read from its manifest.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tabulate import tabulate

from bench.baseline import train_baseline
from bench.flops import peak_matmul_gflops, synchronize, training_flops
from numerics.datasets import make_dataset
from numerics.model import InitConfig, Network, initialize
from numerics.train import TrainConfig, train
from theory.parameters import ParameterError, choice
from verify.commands.options import validate_options
from verify.runtime.devices import resolve_device
from verify.runtime.manifest import cpu_model

__all__ = [
    "bench_case",
    "configure",
    "DEFAULT_SIZES",
    "DTYPES",
    "format_table",
    "FORMATS",
    "LATENT",
    "LR",
    "machine",
    "main",
    "max_relative_difference",
    "problem",
    "quick_run_timings",
    "Size",
    "SIZES",
    "STEPS",
    "TOLERANCE",
]

FORMATS = ("table", "json")
DTYPES = {"float64": torch.float64, "float32": torch.float32}
STEPS = 200
LR = 0.1  # GD on the logistic loss from the standard init stays finite and far from its minimum here
LATENT = 25  # dimension d - ell of the data subspace P (d = 50 is the smallest benchmarked dimension)
# max |batched - baseline| / max |baseline| per tensor: float64 rounding over 200 steps grows to ~1e-15
# here, float32 to ~1e-6; the tolerances leave room for other BLAS orderings, not for a wrong gradient.
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-4}


@dataclass(frozen=True)
class Size:
    """One benchmarked problem: R runs of width m on n points in R^d."""

    R: int
    n: int
    m: int
    d: int


SIZES: dict[str, Size] = {
    "small": Size(R=32, n=100, m=100, d=50),
    "medium": Size(R=32, n=100, m=100, d=500),
    "large": Size(R=32, n=100, m=500, d=1000),
    "tiny": Size(R=3, n=12, m=6, d=8),  # for the tests: seconds, not minutes
}
DEFAULT_SIZES = "small,medium,large"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of `bench` to `parser`."""
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--format", choices=FORMATS, default="table", help="table (default) or json")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs per measurement; medians (default 3)"
    )
    parser.add_argument(
        "--sizes",
        default=DEFAULT_SIZES,
        help=f"comma-separated among {', '.join(SIZES)} (default {DEFAULT_SIZES}; tiny is for tests)",
    )
    parser.add_argument(
        "--dtypes", default="float64,float32", help="comma-separated among float64, float32 (default both)"
    )
    parser.add_argument(
        "--peak-size",
        type=int,
        default=2048,
        help="side of the square matmul timed for the peak (default 2048)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads for torch (default: torch's, one per core)"
    )
    parser.add_argument(
        "--skip-quick", action="store_true", help="do not time `python -m verify all --profile quick`"
    )


def main(args: argparse.Namespace) -> int:
    """Run the benchmark, print it as a table or JSON; 1 if batched and baseline disagree, else 0."""
    validate_options(repeats=args.repeats, peak_size=args.peak_size, threads=args.threads)
    device = resolve_device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    sizes = [choice("size", name, tuple(SIZES)) for name in _names(args.sizes)]
    dtypes = [choice("dtype", name, tuple(DTYPES)) for name in _names(args.dtypes)]
    report: dict = {
        "machine": machine(device),
        "settings": {"steps": STEPS, "lr": LR, "repeats": args.repeats},
    }
    peaks = {dt: peak_matmul_gflops(DTYPES[dt], device, size=args.peak_size) for dt in dtypes}
    report["results"] = []
    for name in sizes:
        reference = None  # the float64 batched result: float32 runs are compared with it too
        for dt in sorted(dtypes, key=lambda dt: dt != "float64"):
            record, net = bench_case(name, dt, repeats=args.repeats, device=device, peak_gflops=peaks[dt],
                                     reference=reference)  # fmt: skip
            reference = net if dt == "float64" else reference
            report["results"].append(record)
    report["quick"] = None if args.skip_quick else quick_run_timings(device)
    report["machine"]["load_average_after"] = _load()
    print(json.dumps(report, indent=2) if args.format == "json" else format_table(report))
    return 0 if all(r["agree"] or not r["gated"] for r in report["results"]) else 1


def bench_case(
    size: str, dtype: str, *, repeats: int, device: str, peak_gflops: float, reference: Network | None = None
) -> tuple[dict, Network]:
    """Median times of the baseline and the batched trainer on one size and dtype, and how they compare.

    Returns the JSON record (baseline_seconds, batched_seconds, speedup, achieved_gflops = analytic FLOPs
    of STEPS steps over batched_seconds, peak_gflops, fraction_of_peak, max_relative_difference, agree,
    gated; with a float64 `reference` of the same size also the distance of both trainers from it) and
    the batched trainer's networks.
    """
    shape, dt = SIZES[size], DTYPES[dtype]
    net0, X, y = problem(shape, dt, device)
    config = TrainConfig(optimizer="gd", loss="logistic", lr=LR, steps=STEPS)
    load_before = _load()
    base_times, batch_times = [], []
    for _ in range(repeats):  # alternate, so a change of load reaches both
        seconds, baseline = _timed(lambda: train_baseline(net0, X, y, lr=LR, steps=STEPS), device)
        base_times.append(seconds)
        seconds, result = _timed(lambda: train(net0, X, y, config), device)
        batch_times.append(seconds)
    if any(s != "max_steps" for s in result.status) or bool((result.steps_taken != STEPS).any()):
        raise RuntimeError(f"bench {size}/{dtype}: a batched run stopped early ({set(result.status)})")
    difference = max_relative_difference(result.net, baseline)
    baseline_seconds, batched_seconds = statistics.median(base_times), statistics.median(batch_times)
    flops = training_flops(shape.R, shape.n, shape.m, shape.d, STEPS)
    achieved = flops / batched_seconds / 1e9
    record = {
        "size": size,
        "dtype": dtype,
        **vars(shape),
        "steps": STEPS,
        "flops": flops,
        "baseline_seconds": baseline_seconds,
        "batched_seconds": batched_seconds,
        "speedup": baseline_seconds / batched_seconds,
        "achieved_gflops": achieved,
        "baseline_gflops": flops / baseline_seconds / 1e9,
        "peak_gflops": peak_gflops,
        "fraction_of_peak": achieved / peak_gflops,
        "max_relative_difference": difference,
        "tolerance": TOLERANCE[dt],
        "agree": difference <= TOLERANCE[dt],
        # Only float64 decides the exit status. In float32 a rounding difference can flip a ReLU mask
        # (h_ji near 0) and the two trajectories then part at ~1e-4; whether that is rounding or a bug is
        # told by float64_reference_difference: both float32 trainers are then as far from float64.
        "gated": dt == torch.float64,
        "baseline_seconds_all": base_times,
        "batched_seconds_all": batch_times,
        "load_average": [load_before, _load()],
    }
    if reference is not None and dt != torch.float64:
        record["float64_reference_difference"] = {
            "batched": max_relative_difference(result.net, reference),
            "baseline": max_relative_difference(baseline, reference),
        }
    return record, result.net


def problem(shape: Size, dtype: torch.dtype, device: str) -> tuple[Network, torch.Tensor, torch.Tensor]:
    """The benchmark's networks (standard init, no bias) and data (R Gaussian sets with linear labels
    in a subspace of dimension min(LATENT, d - 1)), drawn in float64 from fixed seeds, then cast."""
    latent = min(LATENT, shape.d - 1)
    data = make_dataset(
        "gaussian_linear", runs=shape.R, seed=7, d=shape.d, ell=shape.d - latent, n=shape.n, dtype=dtype,
        device=device,
    )  # fmt: skip
    net0 = initialize(InitConfig(m=shape.m), shape.d, shape.R, seed=8, dtype=dtype, device=device)
    return net0, data.X, data.y


def max_relative_difference(a: Network, b: Network) -> float:
    """max over W and u of max |a - b| / max |b| (norm-wise: entrywise ratios blow up near zero), in b's
    dtype."""
    pairs = ((a.W, b.W), (a.u, b.u))
    return max(float((x.to(ref.dtype) - ref).abs().max() / ref.abs().max()) for x, ref in pairs)


def quick_run_timings(device: str, ids: list[str] | None = None) -> dict:
    """Wall time of `python -m verify all --profile quick` (or `run IDS`; a subprocess writing its
    reports to a temporary directory), its exit status, and each check's seconds from its manifest.json."""
    with tempfile.TemporaryDirectory(prefix="offsub-bench-") as tmp:
        out = Path(tmp) / "quick"
        which = ["all"] if ids is None else ["run", *ids]
        command = [sys.executable, "-m", "verify", *which, "--profile", "quick", "--out", str(out)]
        start = time.perf_counter()
        done = subprocess.run([*command, "--device", device], capture_output=True, text=True)
        seconds = time.perf_counter() - start
        manifest = out / "manifest.json"
        checks = json.loads(manifest.read_text()).get("claim_seconds", {}) if manifest.exists() else {}
    tail = done.stderr.strip().splitlines()[-1:] if done.returncode not in (0, 1) else []
    return {
        "command": " ".join(["python -m verify", *which, "--profile quick"]),
        "seconds": seconds,
        "exit_status": done.returncode,
        "check_seconds": checks,
        "error": tail,
    }


def machine(device: str) -> dict:
    """CPU model, core count, torch threads (and GPU), and the 1-minute load average now."""
    info = {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": device,
        "load_average_before": _load(),
    }
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def format_table(report: dict) -> str:
    """The report as text: one table per size and dtype, the quick-run checks, and the machine."""
    headers = ["size", "dtype", "R,n,m,d", "baseline s", "batched s", "speedup", "GFLOP/s", "peak GFLOP/s",
               "of peak", "max rel diff"]  # fmt: skip
    rows = [
        [r["size"], r["dtype"], f"{r['R']},{r['n']},{r['m']},{r['d']}", f"{r['baseline_seconds']:.3g}",
         f"{r['batched_seconds']:.3g}", f"{r['speedup']:.1f}x", f"{r['achieved_gflops']:.3g}",
         f"{r['peak_gflops']:.3g}", f"{r['fraction_of_peak']:.0%}",
         _verdict(r)]
        for r in report["results"]
    ]  # fmt: skip
    m, s = report["machine"], report["settings"]
    lines = [
        f"{s['steps']} full-batch GD steps, logistic loss, lr {s['lr']}; medians of {s['repeats']} runs",
        tabulate(rows, headers=headers, disable_numparse=True),
        "max rel diff: max |batched - baseline| / max |baseline| over the final W and u; float64 must be "
        "<= 1e-10 (else exit status 1); a float32 difference above 1e-4 is followed by the batched and the "
        "baseline float32 results' distances from the float64 result.",
    ]
    quick = report["quick"]
    if quick is not None:
        lines += ["", f"{quick['command']}: {quick['seconds']:.1f} s, "
                      f"exit status {quick['exit_status']} {' '.join(quick['error'])}"]  # fmt: skip
        rows = sorted(quick["check_seconds"].items(), key=lambda kv: -kv[1])
        lines.append(tabulate(rows, headers=["check", "seconds"], floatfmt=".1f"))
    lines += ["", f"machine: {m['cpu']}, {m['cpu_count']} cores, torch {m['torch']} with "
        f"{m['torch_threads']} threads on {m['device']}; load average {m['load_average_before']:.2f} before, "
        f"{m['load_average_after']:.2f} after"]  # fmt: skip
    return "\n".join(lines)


def _verdict(r: dict) -> str:
    """The difference, and what it means: FAIL (float64 beyond 1e-10), or for float32 beyond 1e-4 the
    distances of both trainers from float64 (equal: rounding, not a bug)."""
    text = f"{r['max_relative_difference']:.1e}"
    if r["agree"]:
        return text
    if r["gated"]:
        return text + " FAIL"
    ref = r.get("float64_reference_difference")
    return text + (f" (vs f64: {ref['batched']:.1e} / {ref['baseline']:.1e})" if ref else " (> 1e-4)")


def _timed(fn, device: str):
    synchronize(device)
    start = time.perf_counter()
    value = fn()
    synchronize(device)
    return time.perf_counter() - start, value


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ParameterError(f"{text!r} is invalid: expected a comma-separated list of names")
    return names


def _load() -> float:
    return os.getloadavg()[0]
