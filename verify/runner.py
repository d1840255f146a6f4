"""Run a list of checks under one context, time each, and write the report atomically."""

from __future__ import annotations

import sys
import time
import traceback
from functools import partial
from pathlib import Path

import torch
from tqdm import tqdm

from verify.manifest import manifest, now
from verify.registry import Check, Context, per_check_rate
from verify.report import CheckRecord, staged_directory, write_all


def _progress(iterable=None, **kwargs):
    # Bars go to stderr and vanish when it is not a terminal, so logs and CI stay readable.
    return tqdm(iterable, leave=False, disable=None, file=sys.stderr, dynamic_ncols=True, **kwargs)


def run_checks(
    checks: list[Check],
    *,
    profile: str,
    seed: int,
    device: str,
    false_fail_rate: float,
    out: Path,
) -> list[CheckRecord]:
    """Run `checks` and write the report to `out`; returns the records (verdict per check)."""
    started = now()
    torch.set_default_dtype(torch.float64)
    records: list[CheckRecord] = []
    rate = per_check_rate(false_fail_rate)
    with staged_directory(out) as stage:
        overall = _progress(checks, desc="checks", unit="check", position=0)
        for chk in overall:
            overall.set_postfix_str(chk.id)
            ctx = Context(
                profile=profile,
                seed=seed,
                device=device,
                false_fail_rate=rate,
                figures_dir=stage / "figures",
                progress=partial(_progress, position=1),
            )
            t0 = time.perf_counter()
            try:
                outcome = chk.run(ctx)
                verdict, error = ("pass" if outcome.passed else "fail"), ""
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception:  # an internal error is reported per check, and the exit status says so
                outcome, verdict, error = None, "error", traceback.format_exc(limit=8)
            seconds = time.perf_counter() - t0
            records.append(
                CheckRecord(chk, outcome, verdict, seconds, rate if chk.statistical else None, error)
            )
            line = f"{verdict.upper():5s} {chk.id:28s} {seconds:7.1f}s  "
            line += outcome.statistic if outcome else error.strip().splitlines()[-1]
            tqdm.write(line, file=sys.stdout)
        overall.close()
        write_all(
            stage,
            records,
            manifest(
                profile=profile, seed=seed, device=device, false_fail_rate=false_fail_rate, started=started
            ),
        )
    return records


def exit_status(records: list[CheckRecord]) -> int:
    """0 all pass, 1 any check fails, 3 any internal error."""
    if any(r.verdict == "error" for r in records):
        return 3
    return 1 if any(r.verdict == "fail" for r in records) else 0
