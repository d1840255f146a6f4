"""`python -m verify calibrate`: the suite measures its own false-fail rate.

Every statistical claim is decided at N master seeds (independent populations each), under the theory as
it stands. Per claim, the observed failures are held against the claim's stated share a of the family rate
by the exact one-sided binomial test of H0 "failure rate <= a"; per test with a continuous p-value under
H0 (exact KS, the exact chi-square mean test), the N p-values are held against the uniform law by KS.
Binomial p-values are discrete, so they are counted, not tested for uniformity. A confirmation claim (an
ordering or the sign of a trend: it passes only when the data confirm the predicted effect) has as stated
rate the chance of confirming an effect that is not there; its failures under the right theory are missed
effects, at most 1 - DETECTION_POWER = 10% by the suite's design, and are tested against that. The
calibration's own tests share its family rate by Bonferroni. A check whose failures exceed their bound or
whose p-values are not uniform is a finding.

A long calibration runs in pieces (`verify.commands.calibration_seeds`): `--resume` reuses the seeds an
interrupted one finished, and the folder of seed records goes once the report is in. The calibration's
own tests and its report are in `verify.commands.calibration_report`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from theory.parameters import ParameterError, validate
from verify.claim import PROFILES, all_claims, select
from verify.commands.calibration_report import judge, markdown_report
from verify.commands.calibration_seeds import SeedStore, fold, seed_record, seed_store
from verify.commands.options import add_rate_option, validate_options

__all__ = ["calibrate", "configure", "main"]


def configure(p: argparse.ArgumentParser) -> None:
    from verify.runtime.execution import add_execution_options

    p.add_argument(
        "ids", nargs="*", metavar="ID", help="claim ids or prefixes (default: every statistical claim)"
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=50,
        help="master seeds to run, each an independent set of populations (default 50)",
    )
    p.add_argument(
        "--first-seed",
        type=int,
        default=1000,
        dest="first_seed",
        help="the first master seed (default 1000, away from the report's 0)",
    )
    p.add_argument("--profile", choices=PROFILES, default="quick", help="sample sizes (default quick)")
    add_rate_option(p, "the claims at each seed (the rate the claims run at)")
    p.add_argument(
        "--calibration-rate",
        type=float,
        default=1e-3,
        dest="calibration_rate",
        help="the family rate of the calibration's own tests (default 1e-3)",
    )
    p.add_argument(
        "--out",
        default="calibration",
        help="report folder (default calibration/; the same rules as verify all's --out)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted calibration of the same claims, profile, rate and device: the seeds it "
        "finished (kept beside --out) are not run again",
    )
    add_execution_options(p, seed=False)


def calibrate(
    claims,
    seeds: list[int],
    *,
    profile: str,
    device: str,
    family_rate: float,
    executor,
    progress=None,
    store: SeedStore | None = None,
) -> dict[str, Any]:
    """Decide `claims` at every seed (reusing `store`'s finished seeds, saving each new one there); return
    per claim its failures, errors, stated share and p-values."""
    from verify.harness import run_claims
    from verify.selfcheck import require, run_checks

    per_seed = []
    with tempfile.TemporaryDirectory(prefix="offsub-calibration-") as figures:
        for i, seed in enumerate(seeds):
            record = store.load(seed) if store is not None else None
            if record is None:
                records = run_claims(
                    claims,
                    profile=profile,
                    seed=seed,
                    device=device,
                    family_rate=family_rate,
                    figures_dir=Path(figures),
                    executor=executor,
                    echo=False,
                )
                require(run_checks(records, family_rate))  # the rates this seed used (verify.selfcheck)
                record = seed_record(records)
                if store is not None:
                    store.save(seed, record)
            per_seed.append(record)
            if progress is not None:
                progress(i + 1, len(seeds))
    return fold(claims, seeds, per_seed)


def main(args: argparse.Namespace) -> int:
    from verify.runtime import output
    from verify.runtime.execution import staged_run
    from verify.runtime.manifest import now, run_manifest

    validate_options(seeds=args.seeds)
    validate(seed=args.first_seed, false_fail_rate=args.false_fail_rate)
    validate(false_fail_rate=args.calibration_rate)
    chosen = select(args.ids) if args.ids else all_claims()
    claims = [c for c in chosen if c.statistical]
    if not claims:
        raise ParameterError(f"ids={args.ids!r} is invalid: expected at least one statistical claim")
    store: SeedStore | None = None
    with staged_run(args, args.out) as (device, executor, stage):
        started, start = now(), time.perf_counter()
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
        store = seed_store(args.out, claims=claims, profile=args.profile, family_rate=args.false_fail_rate,
                           device=device)  # fmt: skip
        kept = store.records()
        if kept and not args.resume:
            raise output.OutputError(
                f"out={args.out!r} is invalid: an interrupted calibration kept {len(kept)} finished seeds in "
                f"{store.folder}; pass --resume to continue it, or delete that folder to start again"
            )
        reused = sum(store.load(seed) is not None for seed in seeds)
        if reused:
            print(f"calibrate: resuming, {reused} of {len(seeds)} seeds already finished", file=sys.stderr)

        def progress(done: int, total: int) -> None:
            print(
                f"calibrate: {done}/{total} seeds, {time.perf_counter() - start:.0f} s",
                file=sys.stderr,
                flush=True,
            )

        try:
            results = calibrate(
                claims,
                seeds,
                profile=args.profile,
                device=device,
                family_rate=args.false_fail_rate,
                executor=executor,
                progress=progress,
                store=store,
            )
        except BaseException:
            if store.records():
                print(
                    f"calibrate: stopped; {len(store.records())} finished seeds kept in {store.folder}; "
                    "rerun the same command with --resume to continue",
                    file=sys.stderr,
                )
            raise
        claim_rows, test_rows = judge(results, len(seeds), args.calibration_rate)
        meta = run_manifest(
            args, seed=args.first_seed, device=device, executor=executor, started=started, start=start
        )
        meta.update(
            seeds=args.seeds,
            first_seed=args.first_seed,
            calibration_rate=args.calibration_rate,
            resumed_seeds=reused,
        )
        (stage / "report.md").write_text(markdown_report(claim_rows, test_rows, meta))
        (stage / "report.json").write_text(
            json.dumps({"manifest": meta, "claims": claim_rows, "tests": test_rows}, indent=2) + "\n"
        )
        (stage / "manifest.json").write_text(json.dumps(meta, indent=2) + "\n")
    assert store is not None
    store.remove()  # the report is in: the seed records have served
    bad = [c["id"] for c in claim_rows if not c["passed"]] + [
        f"{t['claim']}: {t['test']}" for t in test_rows if not t["uniform"]
    ]
    print(
        f"{len(claim_rows)} claims over {args.seeds} seeds; {len(bad)} findings; "
        f"report in {args.out}/report.md"
    )
    for finding in bad:
        print(f"finding: {finding}")
    return 1 if bad else 0
