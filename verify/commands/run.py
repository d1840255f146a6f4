"""`python -m verify all` and `python -m verify run ID [ID ...]`: decide every claim (or the named ones, ids
or family prefixes) through the harness (`verify.harness.run_claims`) and write the report into a staged
folder that replaces the previous report only when complete. Exit status 0 every claim passes, 1 a claim
fails, 3 an internal error."""

from __future__ import annotations

import argparse
import time

from theory.parameters import validate
from verify.claim import all_claims, select
from verify.runtime.execution import staged_run

__all__ = ["main"]


def main(args: argparse.Namespace, ids: list[str] | None) -> int:
    """Run the claims of `args` (every claim where `ids` is None) and write the report."""
    from verify.commands.options import validate_options
    from verify.harness import run_claims
    from verify.report import write_all
    from verify.runtime.manifest import now, run_manifest
    from verify.selfcheck import is_self_check, with_self_checks

    validate(false_fail_rate=args.false_fail_rate, seed=args.seed)
    validate_options(threads=args.threads, jobs=args.jobs)
    claims = all_claims() if ids is None else select(ids)
    with staged_run(args, args.out) as (device, executor, stage):
        started, start = now(), time.perf_counter()
        records = with_self_checks(  # the instruments' self-checks around the run (verify.selfcheck)
            lambda: run_claims(
                claims,
                profile=args.profile,
                seed=args.seed,
                device=device,
                family_rate=args.false_fail_rate,
                figures_dir=stage / "figures",
                executor=executor,
            ),
            family_rate=args.false_fail_rate,
        )
        meta = run_manifest(
            args, seed=args.seed, device=device, executor=executor, started=started, start=start
        )
        log = write_all(stage, records, meta)
    from verify.harness import exit_status

    print(log)
    claimed = [r for r in records if not is_self_check(r)]
    checks = [r for r in records if is_self_check(r)]
    n_pass = sum(r.verdict == "pass" for r in claimed)
    n_checks = sum(r.verdict == "pass" for r in checks)
    print(
        f"{n_pass}/{len(claimed)} claims passed ({n_checks}/{len(checks)} self-checks of the instruments); "
        f"report in {args.out}/report.md"
    )
    return exit_status(records)
