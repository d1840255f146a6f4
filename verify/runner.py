"""Run a list of checks under one context, time each, and write the report atomically.

Checks run in worker processes, one module's checks per task: a module's checks share cached
populations (R5.flip, R6 and R5.radii measure the same networks), and every check draws its seeds
from `derive_seed(seed, ...)`, never from shared state, so the numbers do not depend on `jobs` or on
the order in which modules finish. `jobs=1` runs everything in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from tqdm import tqdm

from verify.manifest import manifest, now
from verify.registry import Check, Context, Outcome, per_check_rate, select
from verify.report import CheckRecord, staged_directory, write_all


def _progress(iterable=None, **kwargs):
    # Bars go to stderr and vanish when it is not a terminal, so logs and CI stay readable.
    return tqdm(iterable, leave=False, disable=None, file=sys.stderr, dynamic_ncols=True, **kwargs)


@dataclass(frozen=True)
class RunSpec:
    """What every check of one run shares (plain data, so it crosses process boundaries)."""

    profile: str
    seed: int
    device: str
    check_rate: float  # the per-check share of the family false-fail rate
    figures_dir: Path
    threads: int


@dataclass(frozen=True)
class Finished:
    """A check's result as it comes back from a worker: the `Check` itself stays in the parent."""

    id: str
    outcome: Outcome | None
    verdict: str
    seconds: float
    error: str


def default_jobs(device: str) -> int:
    """One worker per CPU core on the CPU (each torch single-threaded); one process on a GPU."""
    return 1 if device != "cpu" else max(1, os.cpu_count() or 1)


def units(checks: list[Check]) -> list[list[Check]]:
    """`checks` grouped by the module defining them, in report order: the unit of parallel work."""
    groups: dict[str, list[Check]] = {}
    for chk in checks:
        groups.setdefault(chk.run.__module__, []).append(chk)
    return list(groups.values())


def _run_one(chk: Check, spec: RunSpec, bar_position: int) -> Finished:
    ctx = Context(
        profile=spec.profile,
        seed=spec.seed,
        device=spec.device,
        false_fail_rate=spec.check_rate,
        figures_dir=spec.figures_dir,
        progress=partial(_progress, position=bar_position, desc=chk.id),
    )
    t0 = time.perf_counter()
    try:
        outcome: Outcome | None = chk.run(ctx)
        assert outcome is not None
        verdict, error = ("pass" if outcome.passed else "fail"), ""
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception:  # an internal error is reported per check, and the exit status says so
        outcome, verdict, error = None, "error", traceback.format_exc(limit=8)
    seconds = time.perf_counter() - t0
    line = f"{verdict.upper():5s} {chk.id:28s} {seconds:7.1f}s  "
    line += outcome.statistic if outcome else error.strip().splitlines()[-1]
    tqdm.write(line, file=sys.stdout)
    sys.stdout.flush()
    return Finished(chk.id, outcome, verdict, seconds, error)


_WORKER_POSITION = 1


def _init_worker(positions, threads: int) -> None:
    global _WORKER_POSITION
    _WORKER_POSITION = positions.get()
    torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float64)


def _run_unit(ids: list[str], spec: RunSpec) -> list[Finished]:
    return [_run_one(chk, spec, _WORKER_POSITION) for chk in select(ids)]


def run_checks(
    checks: list[Check],
    *,
    profile: str,
    seed: int,
    device: str,
    false_fail_rate: float,
    out: Path,
    jobs: int = 1,
    threads: int = 1,
) -> list[CheckRecord]:
    """Run `checks` on `jobs` processes and write the report to `out`; returns the records in
    report order (one verdict per check)."""
    started = now()
    torch.set_default_dtype(torch.float64)
    rate = per_check_rate(false_fail_rate)
    work = units(checks)
    jobs = max(1, min(jobs, len(work)))
    finished: dict[str, Finished] = {}
    with staged_directory(out) as stage:
        spec = RunSpec(profile, seed, device, rate, stage / "figures", threads)
        overall = _progress(total=len(checks), desc="checks", unit="check", position=0)
        if jobs == 1:
            for chk in checks:
                overall.set_postfix_str(chk.id)
                finished[chk.id] = _run_one(chk, spec, 1)
                overall.update(1)
        else:
            _run_parallel(work, spec, jobs, finished, overall)
        overall.close()
        by_id = {c.id: c for c in checks}
        records = [
            CheckRecord(
                by_id[c.id],
                finished[c.id].outcome,
                finished[c.id].verdict,
                finished[c.id].seconds,
                rate if c.statistical else None,
                finished[c.id].error,
            )
            for c in checks
        ]
        write_all(
            stage,
            records,
            manifest(
                profile=profile,
                seed=seed,
                device=device,
                false_fail_rate=false_fail_rate,
                started=started,
                jobs=jobs,
            ),
        )
    return records


def _run_parallel(work: list[list[Check]], spec: RunSpec, jobs: int, finished: dict, overall) -> None:
    # spawn, not fork: a forked child would inherit torch's thread pool and a CUDA context.
    mp = multiprocessing.get_context("spawn")
    positions = mp.Queue()
    for p in range(1, jobs + 1):
        positions.put(p)
    with ProcessPoolExecutor(
        jobs, mp_context=mp, initializer=_init_worker, initargs=(positions, spec.threads)
    ) as pool:
        # Longest-first would need timings we do not have before the run; report order is close,
        # because the cheap modules (symbolic, invariance) come first and the rest are similar.
        pending = {pool.submit(_run_unit, [c.id for c in unit], spec): unit for unit in work}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    pending.pop(fut)
                    for f in fut.result():
                        finished[f.id] = f
                        overall.update(1)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def exit_status(records: list[CheckRecord]) -> int:
    """0 all pass, 1 any check fails, 3 any internal error."""
    if any(r.verdict == "error" for r in records):
        return 3
    return 1 if any(r.verdict == "fail" for r in records) else 0
