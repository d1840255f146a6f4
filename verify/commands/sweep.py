"""`python -m verify sweep SPEC.toml [--out DIR] [--executor local|dask] [--scheduler ADDR] [--resume]`.

Validates the spec, the output folder and the execution options before anything runs (a bad one is one
line on stderr, exit 2, nothing written); then runs the cells (`verify.sweep.run`) and prints where the
outputs are. Exit status 0 once every cell has a record (failing verdicts are results of the sweep, in its
table), 2 for bad input, 3 when a cell or a claim row met an internal error (its row says `error`; the
other cells still ran); an interrupt keeps the finished cells for --resume (130 / 143).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

__all__ = ["configure", "main"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of `sweep` to `parser`."""
    from verify.runtime.execution import add_execution_options

    parser.add_argument("spec", metavar="SPEC.toml", help="the sweep spec (docs/sweeps.md)")
    parser.add_argument(
        "--out", default=None, metavar="DIR", help="output folder (default: sweeps/<spec name>)"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the sweep in --out: keep its finished cells, run the rest",
    )
    add_execution_options(parser)
    parser.set_defaults(seed=None)
    for action in parser._actions:  # the master seed of a sweep is the spec's `seed`
        if action.dest == "seed":
            action.help = (
                "master seed of a spec that does not set `seed` itself (default 0; refused if it does)"
            )


def main(args: argparse.Namespace) -> int:
    """Run the sweep of `args`; ParameterError (exit 2, nothing written) for any bad input."""
    from verify.runtime.execution import Interrupted, execution
    from verify.sweep.answer import radius_answer
    from verify.sweep.outputs import axis_names, tidy_rows
    from verify.sweep.run import check_out, run_sweep
    from verify.sweep.spec import load, with_default

    spec = load(args.spec)
    if args.seed is not None:
        spec = with_default(spec, "seed", args.seed)
    out = Path(args.out if args.out is not None else Path("sweeps") / spec.name)
    check_out(out, args.resume)
    args.seed = 0  # execution() validates it; the cells carry their own
    device, executor = execution(args)
    try:
        records = run_sweep(
            spec,
            out,
            executor=executor,
            device=device,
            resume=args.resume,
            manifest_extra={"executor": args.executor, "scheduler": args.scheduler},
        )
    except Interrupted:
        executor.close(kill=True)
        done = len(list((out / "cells").glob("*.json"))) if (out / "cells").is_dir() else 0
        print(
            f"sweep stopped: {done} finished cells kept in {out}/cells; rerun with --resume to continue",
            file=sys.stderr,
        )
        raise
    except BaseException:
        executor.close(kill=True)
        raise
    executor.close()
    rows = [r for record in records for r in record["claims"]]
    counts = ", ".join(
        f"{sum(r['verdict'] == v for r in rows)} {v}" for v in ("pass", "fail", "diverged", "error")
    )
    print(
        f"{len(records)} cells, {len(rows)} claim rows ({counts}); table in {out}/table.csv, {out}/table.md"
    )
    for sentence in radius_answer(tidy_rows(records)[1], axis_names(spec)):
        print(textwrap.fill(sentence, 110))
    return 3 if any(r["verdict"] == "error" for r in rows) else 0
