"""`python -m verify audit`: measure and check the theory on networks trained by someone else's code.

    python -m verify audit --model FINAL [--init INIT] --data TRAIN.npz [--points POINTS.npz]
        [--subspace BASIS.npy | --rank R | --variance V] [--lr ETA --weight-decay LAM --steps T]
        [--out DIR] [--format table|json] [--seed S] [--false-fail-rate A]

Every input is read and checked before any measurement, and a bad one is one line on stderr naming the file
and what was expected (exit 2), with nothing written. The record is printed as a table or as JSON
(`networks[i].points[j]` with the keys of `verify.audit.api.POINT_KEYS`, null where not computed and
"inf" where no flip was found; `claims` as in report.json); with --out, report.md, report.json,
report-tables.tex, manifest.json and figures/ are written into a staging folder and swapped in atomically
(`verify.runtime.output.staged`). Exit status as `verify all`, over the claims decided within their
hypotheses: 0 every one passes, 1 one fails, 2 bad input, 3 internal error (a certificate above a verified
flip). A claim failing outside its hypotheses is printed as FAIL and marked, and does not set 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from verify.audit.api import audit_loaded
from verify.audit.decide import Settings
from verify.audit.loading import AuditInputError, expand, load_data, load_network, load_points
from verify.audit.render import audit_figures, format_table, markdown_report
from verify.commands.options import add_rate_option

__all__ = ["configure", "main", "format_table"]

FORMATS = ("table", "json")


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of `audit` (module docstring)."""
    parser.description = (
        "Measure and check the theory on networks trained by your own code: the gradient split on and off "
        "the data subspace P, the shortest verified flips in P^perp, in P and unrestricted, certified "
        "orthogonal radii, and R1, R3-R6 decided by the rules of `verify all`."
    )
    parser.epilog = (
        "example: python -m verify audit --model 'final_*.pt' --init 'init_*.pt' --data train.npz "
        "--points points.npz --lr 0.1 --steps 200 (README: Audit your own networks)"
    )
    parser.add_argument(
        "--model",
        required=True,
        metavar="FINAL",
        help="trained network(s): a file or a quoted glob; torch.save(model.state_dict()) files "
        "(read with weights_only=True), .safetensors, or .npz with W, u[, b, c]",
    )
    parser.add_argument(
        "--init",
        metavar="INIT",
        default=None,
        help="the same networks at initialization (paired with --model in sorted order): R1, s_w for R3-R5",
    )
    parser.add_argument(
        "--data",
        required=True,
        metavar="TRAIN.npz",
        help="training data: X (n, d), y (n,) in {-1,1} or {0,1}",
    )
    parser.add_argument(
        "--points",
        metavar="POINTS.npz",
        default=None,
        help="X (p, d): where to measure (default: the training points)",
    )
    space = parser.add_mutually_exclusive_group()
    space.add_argument(
        "--subspace",
        metavar="BASIS.npy",
        default=None,
        help="orthonormal basis (d, d - ell) of P; must contain the data",
    )
    space.add_argument(
        "--rank", metavar="R", type=int, default=None, help="P = top R singular directions of the data"
    )
    space.add_argument(
        "--variance",
        metavar="V",
        type=float,
        default=None,
        help="P = the principal subspace keeping a fraction V of the data's energy "
        "(default without any of the three: the exact span, with its rank tolerance printed)",
    )
    parser.add_argument(
        "--lr",
        metavar="ETA",
        type=float,
        default=None,
        help="training step size eta, if you want c_T checked",
    )
    parser.add_argument(
        "--weight-decay",
        dest="weight_decay",
        metavar="LAM",
        type=float,
        default=None,
        help="coupled weight decay lam (SGD's)",
    )
    parser.add_argument(
        "--steps",
        metavar="T",
        type=int,
        default=None,
        help="optimizer steps T (R1's rounding budget needs it)",
    )
    parser.add_argument(
        "--out", metavar="DIR", default=None, help="write report.md/.json/.tex and figures here (atomically)"
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="table", help="table (default) or json on stdout"
    )
    parser.add_argument(
        "--seed", metavar="S", type=int, default=0, help="seed of the attacks' random starts (default 0)"
    )
    add_rate_option(parser, "the statistical claims the audit decides")


def _settings(args: argparse.Namespace) -> Settings:
    from theory.parameters import validate

    validate(seed=args.seed, false_fail_rate=args.false_fail_rate)
    for name in ("lr", "weight_decay"):
        value = getattr(args, name)
        if value is not None and not (np.isfinite(value) and value >= 0):
            raise AuditInputError(
                f"--{name.replace('_', '-')}={value!r} is invalid: expected a finite real >= 0"
            )
    if args.steps is not None and args.steps < 0:
        raise AuditInputError(f"--steps={args.steps!r} is invalid: expected an integer >= 0")
    if args.weight_decay and (args.lr is None or args.steps is None):
        raise AuditInputError("--weight-decay needs --lr and --steps (c_T = (1 - lr * weight_decay)^steps)")
    return Settings(args.lr, args.weight_decay, args.steps, 0, args.false_fail_rate)


def _basis(path: str) -> np.ndarray:
    try:
        B = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise AuditInputError(
            f"{path}: cannot be read as a .npy basis (d, d - ell) ({str(exc).splitlines()[0]})"
        ) from None
    if not isinstance(B, np.ndarray) or B.dtype.kind != "f":
        raise AuditInputError(f"{path}: expected a float .npy array (d, d - ell)")
    return B


def _write(out: str, record: dict[str, Any], records: list) -> None:
    from verify.reports.latex import tables_only
    from verify.runtime.output import staged

    with staged(out) as stage:
        record["figures"] = audit_figures(record, stage / "figures")
        (stage / "report.json").write_text(json.dumps(record, indent=1) + "\n")
        (stage / "report.md").write_text(markdown_report(record))
        (stage / "report-tables.tex").write_text(tables_only(records, record["manifest"]))
        (stage / "manifest.json").write_text(json.dumps(record["manifest"], indent=2) + "\n")


def main(args: argparse.Namespace) -> int:
    """Load and check every input, audit, print, write; the exit status of module docstring."""
    import torch

    # One thread, as the suite's --threads default: the attacks' many small products run several times
    # faster single-threaded than split over 2 cores (30 networks of the README: 8 s against 25-57 s).
    torch.set_num_threads(1)
    settings = _settings(args)
    if args.out is not None:
        from verify.runtime.output import prepare

        prepare(args.out).discard()  # refuse a bad --out before any work (the same check as at the end)
    final = [load_network(path) for path in expand(args.model, "--model")]
    init = None if args.init is None else [load_network(path) for path in expand(args.init, "--init")]
    data = load_data(args.data)
    points = None if args.points is None else load_points(args.points, data.X.shape[1])
    basis = None if args.subspace is None else _basis(args.subspace)
    record, status, (_, _, decision) = audit_loaded(
        final,
        data,
        init=init,
        points=points,
        basis=basis,
        rank=args.rank,
        variance=args.variance,
        seed=args.seed,
        settings=settings,
        basis_source=args.subspace or "--subspace",
    )
    if args.out is not None:
        _write(args.out, record, decision.records)
    text = json.dumps(record, indent=1) if args.format == "json" else format_table(record)
    sys.stdout.write(text + "\n")
    return status
