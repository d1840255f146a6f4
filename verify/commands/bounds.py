"""`python -m verify bounds`: every bound of the theory at one point, to N digits.

Prints the values of theory.bounds.bounds_at (R1-R6 of Melamed, Yehudai & Vardi, NeurIPS 2023, as derived
in docs/derivations.md) as a table or as one JSON object of decimal strings. Inputs are read exactly
("0.1" is 1/10) and evaluated with mpmath, so tails far below float64 (4.35e-422 at ell = 10^4) print in
full. A point outside a result's hypotheses (eta*lam >= 2) is printed with a one-line warning on stderr
per violated hypothesis. An invalid point prints one line `error: ...` on stderr and exits with status 2.
Options are named as in `verify at` and sweep specs (--beta, --lr, --weight-decay, --steps); the former
--init-scale, --eta, --lam are accepted with a one-line note naming the new one.
"""

from __future__ import annotations

import argparse
import json
import sys

import mpmath
from tabulate import tabulate

from theory.bounds import bounds_at, describe, outside_hypotheses
from theory.parameters import ParameterError

__all__ = ["configure", "current", "format_bounds", "FORMATS", "FORMER", "main"]

FORMATS = ("table", "json")
#: Former option -> its name now (the names of `verify at`, sweep specs and the numerics; README table).
FORMER = {"--init-scale": "--beta", "--eta": "--lr", "--lam": "--weight-decay"}


def current(args: argparse.Namespace) -> argparse.Namespace:
    """`args` with each former spelling moved to its new name, a one-line note on stderr for each."""
    for old, new in FORMER.items():
        value = getattr(args, old[2:].replace("-", "_"))
        if value is None:
            continue
        print(f"note: {old} is now {new}", file=sys.stderr)
        if getattr(args, new[2:].replace("-", "_")) is not None:
            raise ParameterError(f"{old[2:]}={value!r} is invalid: {new} is given too; give {new} only")
        setattr(args, new[2:].replace("-", "_"), value)
    return args


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of `bounds` to `parser` (every number is read as text, then exactly)."""
    point = parser.add_argument_group("the point")
    point.add_argument("--d", required=True, help="input dimension d")
    point.add_argument("--ell", required=True, help="codimension ell of the data subspace (ell < d)")
    point.add_argument("--m", required=True, help="width m")
    point.add_argument("--k", required=True, help="active neurons k at x0 (k <= m)")
    scales = parser.add_argument_group("initialization (w_i ~ N(0, (s_w B)^2/d I), |u_i| = s_u/sqrt(m))")
    scales.add_argument(
        "--beta", default=None, metavar="B", help="multiplier B of the hidden scale (default 1)"
    )
    scales.add_argument("--s-w", default="1", help="hidden scale s_w (default 1)")
    scales.add_argument("--s-u", default="1", help="output scale s_u (default 1)")
    decay = parser.add_argument_group("weight decay: c_T = (1 - eta*lam)^T (GD) or exp(-lam*t) (flow)")
    decay.add_argument("--lr", default=None, metavar="E", help="GD step size eta")
    decay.add_argument("--weight-decay", default=None, metavar="LAM", help="weight decay lambda")
    for old in FORMER:  # the former spellings, accepted with a note naming the new one
        parser.add_argument(old, dest=old[2:].replace("-", "_"), default=None, help=argparse.SUPPRESS)
    decay.add_argument("--steps", default=None, metavar="T", help="GD steps T")
    decay.add_argument("--flow-time", default=None, metavar="t", help="gradient-flow time t (instead of GD)")
    parser.add_argument(
        "--output-value",
        default=None,
        metavar="V",
        help="N(x0): adds the flip-distance bound and the certified radius",
    )
    parser.add_argument("--digits", default="30", metavar="N", help="significant digits (default 30)")
    parser.add_argument("--format", choices=FORMATS, default="table", help="table (default) or json")


def format_bounds(values: dict[str, mpmath.mpf], fmt: str, digits: int) -> str:
    """`values` as a table (quantity, value, meaning) or one JSON object of `digits`-digit decimal strings."""
    text = {key: mpmath.nstr(value, digits, strip_zeros=False) for key, value in values.items()}
    if fmt == "json":
        return json.dumps(text)
    if fmt == "table":
        rows = [(key, text[key], describe(key)) for key in values]
        # disable_numparse: the digits are the point; tabulate would otherwise round them to floats.
        return tabulate(rows, headers=("quantity", "value", "meaning / expression"), disable_numparse=True)
    raise ParameterError(f"format={fmt!r} is invalid: expected one of {', '.join(FORMATS)}")


def main(args: argparse.Namespace) -> int:
    """Print the bounds at the point in `args`; 0 on success, 2 (one line on stderr) for an invalid point."""
    try:
        args = current(args)
        values = bounds_at(
            args.d,
            args.ell,
            args.m,
            args.k,
            beta=args.beta,
            s_w=args.s_w,
            s_u=args.s_u,
            lr=args.lr,
            weight_decay=args.weight_decay,
            steps=args.steps,
            flow_time=args.flow_time,
            output_value=args.output_value,
            digits=args.digits,
        )
        for warning in outside_hypotheses(args.lr, args.weight_decay):
            print(f"warning: {warning}", file=sys.stderr)
        print(format_bounds(values, args.format, int(args.digits)))
    except ParameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
