"""Command line of offsub: `python -m verify {all,run,list,bounds,bench}`.

Exit status: 0 every check passes, 1 a check fails, 2 usage or configuration error, 3 internal error.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import NoReturn

from tabulate import tabulate

from theory.parameters import ParameterError, validate
from verify.registry import PROFILES, UnknownCheck, all_checks, per_check_rate, select

EPILOG = """\
examples:
  python -m verify all                       # standard profile, reports in reports/
  python -m verify all --profile quick       # under a minute on 2 CPU cores
  python -m verify list                      # every check id and the claim it tests
  python -m verify run R3 R5.sandwich        # a family (prefix) or single checks
  python -m verify bounds --d 1000 --ell 900 --m 512 --k 256 --digits 40
  python -m verify bench --format json       # trainer speed against a naive baseline

exit status: 0 all checks pass, 1 a check fails, 2 usage error, 3 internal error
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--profile",
        choices=PROFILES,
        default="standard",
        help="sample sizes: quick (<3 min on 2 cores, what the tests run), standard (<20 min, the "
        "committed report), full (larger samples: for a GPU or a long night)",
    )
    p.add_argument("--seed", type=int, default=0, help="master seed; the same seed gives the same numbers")
    p.add_argument("--out", type=Path, default=Path("reports"), help="report directory (default: reports/)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for torch (default 1: the checks train many small networks, whose batched "
        "products run faster on one thread than split across cores)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="worker processes, each running one check module at a time (default: one per CPU core "
        "on cpu, 1 on cuda); the numbers do not depend on it",
    )
    p.add_argument(
        "--false-fail-rate",
        type=float,
        default=1e-3,
        dest="false_fail_rate",
        help="family-wise false-fail rate, split over the statistical checks (default 1e-3)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m verify",
        description="Check the claims of Melamed, Yehudai & Vardi (NeurIPS 2023) on trained two-layer ReLU "
        "networks and write reports (Markdown, JSON, LaTeX, figures).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    p_all = sub.add_parser("all", help="run every check and write the report")
    _add_run_options(p_all)
    p_run = sub.add_parser("run", help="run the named checks (ids or id prefixes) and write the report")
    p_run.add_argument("ids", nargs="+", metavar="ID", help="check ids, or a prefix such as R3")
    _add_run_options(p_run)
    sub.add_parser("list", help="list every check id with its claim")
    from verify import bench_command, bounds_command

    p_bounds = sub.add_parser("bounds", help="print every bound of the theory at a point, to N digits")
    bounds_command.configure(p_bounds)
    p_bench = sub.add_parser("bench", help="time the batched trainer against a naive baseline and peak")
    bench_command.configure(p_bench)
    return parser


def _device(name: str) -> str:
    import torch

    if name == "cpu":
        return name
    if name == "cuda" or re.fullmatch(r"cuda:\d+", name):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ParameterError(f"device={name!r} is invalid: no CUDA device is available here (use cpu)")
        index = torch.device(name).index or 0
        if index >= count:
            raise ParameterError(f"device={name!r} is invalid: expected cuda or cuda:0 to cuda:{count - 1}")
        return name
    raise ParameterError(f"device={name!r} is invalid: expected cpu, cuda or cuda:N")


def _run(args: argparse.Namespace, ids: list[str] | None) -> int:
    from verify.runner import default_jobs, exit_status, run_checks

    validate(false_fail_rate=args.false_fail_rate, threads=args.threads)
    device = _device(args.device)
    jobs = default_jobs(device) if args.jobs is None else args.jobs
    validate(jobs=jobs)
    import torch

    torch.set_num_threads(args.threads)
    checks = all_checks() if ids is None else select(ids)
    records = run_checks(
        checks,
        profile=args.profile,
        seed=args.seed,
        device=device,
        false_fail_rate=args.false_fail_rate,
        out=args.out,
        jobs=jobs,
        threads=args.threads,
    )
    n_pass = sum(r.verdict == "pass" for r in records)
    print(f"{n_pass}/{len(records)} checks passed; report in {args.out}/report.md")
    return exit_status(records)


def _list() -> int:
    checks = all_checks()
    rate = per_check_rate(1e-3)
    rows = [[c.id, c.result, "yes" if c.statistical else "exact", c.claim] for c in checks]
    print(tabulate(rows, headers=["id", "result", "statistical", "claim"], tablefmt="simple"))
    print(f"\n{len(checks)} checks; at the default family rate 1e-3 each statistical check gets {rate:.2g}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "all":
            return _run(args, None)
        if args.command == "run":
            return _run(args, args.ids)
        if args.command == "list":
            return _list()
        from verify import bench_command, bounds_command

        module = {"bounds": bounds_command, "bench": bench_command}[args.command]
        return module.main(args)
    except UnknownCheck as exc:
        print(
            f"{parser.prog}: error: unknown check id {exc.args[0]!r} (see python -m verify list)",
            file=sys.stderr,
        )
        return 2
    except ParameterError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
