"""`python -m verify bounds`: every bound of the theory at one point, to N digits.

Prints the values of theory.bounds.bounds_at (R1-R6 of Melamed, Yehudai & Vardi, NeurIPS 2023, as derived
in docs/derivations.md) as a table or as one JSON object of decimal strings. Inputs are read exactly
("0.1" is 1/10) and evaluated with mpmath, so tails far below float64 (4.35e-422 at ell = 10^4) print in
full. A point outside a result's hypotheses (eta*lam >= 2) is printed with a one-line warning on stderr
per violated hypothesis. An invalid point prints one line `error: ...` on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

import mpmath
from tabulate import tabulate

from theory.bounds import bounds_at, describe, outside_hypotheses
from theory.parameters import ParameterError

FORMATS = ("table", "json")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of `bounds` to `parser` (every number is read as text, then exactly)."""
    point = parser.add_argument_group("the point")
    point.add_argument("--d", required=True, help="input dimension d")
    point.add_argument("--ell", required=True, help="codimension ell of the data subspace (ell < d)")
    point.add_argument("--m", required=True, help="width m")
    point.add_argument("--k", required=True, help="active neurons k at x0 (k <= m)")
    scales = parser.add_argument_group("initialization (w_i ~ N(0, (s_w B)^2/d I), |u_i| = s_u/sqrt(m))")
    scales.add_argument(
        "--init-scale", default="1", metavar="B", help="multiplier B of the hidden scale (default 1)"
    )
    scales.add_argument("--s-w", default="1", help="hidden scale s_w (default 1)")
    scales.add_argument("--s-u", default="1", help="output scale s_u (default 1)")
    decay = parser.add_argument_group("weight decay: c_T = (1 - eta*lam)^T (GD) or exp(-lam*t) (flow)")
    decay.add_argument("--eta", default=None, metavar="E", help="GD step size")
    decay.add_argument("--lam", default=None, metavar="LAM", help="weight decay lambda")
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
        values = bounds_at(
            args.d,
            args.ell,
            args.m,
            args.k,
            init_scale=args.init_scale,
            s_w=args.s_w,
            s_u=args.s_u,
            eta=args.eta,
            lam=args.lam,
            steps=args.steps,
            flow_time=args.flow_time,
            output_value=args.output_value,
            digits=args.digits,
        )
        for warning in outside_hypotheses(args.eta, args.lam):
            print(f"warning: {warning}", file=sys.stderr)
        print(format_bounds(values, args.format, int(args.digits)))
    except ParameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
