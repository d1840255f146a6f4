"""Command line of offsub: `python -m verify {all,run,list,bounds,bench,sweep,at,calibrate,audit}`.

Exit status: 0 every claim passes, 1 a claim fails, 2 usage, configuration or output error, 3 internal
error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import NoReturn

from theory.parameters import ParameterError
from verify.claim import PROFILES, UnknownClaim
from verify.commands.options import add_rate_option
from verify.runtime.execution import Interrupted, add_execution_options
from verify.selfcheck import SelfCheckFailed

__all__ = ["EPILOG", "build_parser", "main"]

EPILOG = """\
examples:
  python -m verify all                       # standard profile, reports in reports/
  python -m verify all --profile quick       # about a minute on 2 CPU cores
  python -m verify list                      # every claim id and what it says
  python -m verify run R3 R6.sandwich        # a family (prefix) or single claims
  python -m verify all --executor dask       # the experiments on a Dask LocalCluster
  python -m verify bounds --d 1000 --ell 900 --m 512 --k 256 --digits 40
  python -m verify bench --format json       # trainer speed against a naive baseline
  python -m verify sweep examples/noise.toml # a grid of cells: tables and phase diagrams (docs/sweeps.md)
  python -m verify at --d 200 --ell 150 --m 64   # one cell: measured beside the bounds, each claim's verdict
  python -m verify calibrate --seeds 50 R3 R4    # the observed false-fail rate over 50 seeds
  python -m verify audit --model 'final*.pt' --init 'init*.pt' --data train.npz  # your own networks

exit status: 0 all claims pass, 1 a claim fails, 2 usage or output error, 3 internal error,
130 interrupted, 143 terminated
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
        help="sample sizes: quick (about a minute on 2 cores; what the tests run), standard (the committed "
        "report, about 5 minutes), full (larger samples: for a GPU or a long night)",
    )
    p.add_argument(
        "--out",
        default="reports",
        help="report folder (default: reports/). It must not exist yet, or hold a previous report of this "
        "suite: any other folder or file is refused before anything runs",
    )
    add_rate_option(p, "the statistical claims and their tests")
    add_execution_options(p)


def build_parser() -> argparse.ArgumentParser:
    from verify.commands import at as at_command
    from verify.commands import bench as bench_command
    from verify.commands import bounds as bounds_command
    from verify.commands import calibrate as calibrate_command
    from verify.commands import sweep as sweep_command

    parser = _Parser(
        prog="python -m verify",
        description="Check the claims of Melamed, Yehudai & Vardi (NeurIPS 2023) on trained two-layer ReLU "
        "networks and write reports (Markdown, HTML, LaTeX and PDF, JSON, figures).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    p_all = sub.add_parser("all", help="run every claim and write the report")
    _add_run_options(p_all)
    p_run = sub.add_parser("run", help="run the named claims (ids or id prefixes) and write the report")
    p_run.add_argument("ids", nargs="+", metavar="ID", help="claim ids, or a prefix such as R3")
    _add_run_options(p_run)
    sub.add_parser("list", help="list every claim id with its claim")
    p_bounds = sub.add_parser("bounds", help="print every bound of the theory at a point, to N digits")
    bounds_command.configure(p_bounds)
    p_bench = sub.add_parser("bench", help="time the batched trainer against a naive baseline and peak")
    bench_command.configure(p_bench)
    p_sweep = sub.add_parser("sweep", help="measure the claims over a grid of settings (a TOML spec)")
    sweep_command.configure(p_sweep)
    p_at = sub.add_parser("at", help="measure one setting beside `bounds`, with each claim's verdict")
    at_command.configure(p_at)
    p_cal = sub.add_parser(
        "calibrate", help="re-run the statistical claims over many seeds: observed false-fail rates"
    )
    calibrate_command.configure(p_cal)
    from verify.audit import command as audit_command

    audit_command.configure(
        sub.add_parser("audit", help="measure and check the theory on your own trained networks")
    )
    return parser


def _run(args: argparse.Namespace, ids: list[str] | None) -> int:
    from verify.commands import run

    return run.main(args, ids)


def _list() -> int:
    from verify.commands import list as list_command

    return list_command.main()


def _raise_interrupted(signum: int, frame) -> None:
    raise Interrupted(signum)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if args.command == "all":
            return _run(args, None)
        if args.command == "run":
            return _run(args, args.ids)
        if args.command == "list":
            return _list()
        from verify.commands import at as at_command
        from verify.commands import bench as bench_command
        from verify.commands import bounds as bounds_command
        from verify.commands import calibrate as calibrate_command
        from verify.commands import sweep as sweep_command

        commands = {
            "bounds": bounds_command,
            "bench": bench_command,
            "sweep": sweep_command,
            "at": at_command,
            "calibrate": calibrate_command,
        }
        from verify.audit import command as audit_command

        commands["audit"] = audit_command
        module = commands[args.command]
        if args.command in ("calibrate", "sweep", "at", "audit"):  # they decide claims: the instruments first
            from verify.selfcheck import instrument_checks, require

            require(instrument_checks())
        return module.main(args)
    except UnknownClaim as exc:
        print(
            f"{parser.prog}: error: unknown claim id {exc.args[0]!r} (see python -m verify list)",
            file=sys.stderr,
        )
        return 2
    except ParameterError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except SelfCheckFailed as exc:
        print(f"{parser.prog}: internal error: {exc}", file=sys.stderr)
        return 3
    except Interrupted as exc:
        name = signal.Signals(exc.signum).name
        print(
            f"{parser.prog}: {name}: stopped; workers ended, nothing written, "
            "the previous report is unchanged",
            file=sys.stderr,
        )
        return 128 + exc.signum
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
