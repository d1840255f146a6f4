"""`python -m verify at --d D --ell L --m M [...] [--format table|json]`: one sweep cell from the command
line.

Trains the cell's population (`verify.sweep.cells`), prints its measured quantities beside the
predictions of `python -m verify bounds` at the same point, and each claim's prediction, measurement,
decisive rule and verdict (`verify.per_cell`: the report's own measure and decide, at the family
false-fail rate split over the claims). `bounds` needs one k and one N(x0): the point's are the medians
over the trained networks (k, |N(x0)|), and its S is the fixed-output s_u^2 k/m; the claims use each
network's own k, S and N(x0). Exit status 0 every claim passes, 1 one fails, 2 bad input (one line on
stderr), 3 an internal error (a claim's row says `error`), like `run`.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import textwrap
from typing import Any

from tabulate import tabulate

from verify.commands.options import add_rate_option

__all__ = ["configure", "format_report", "FORMATS", "main", "PAIRS", "point_of", "report", "theory_at"]

FORMATS = ("table", "json")
#: The table format's lines are at most this wide (long text cells wrap).
WIDTH = 110
#: bounds key -> (measured quantity, what it is): the side-by-side of `verify bounds` and the cell.
PAIRS = (
    ("output_mass", "S_q50", "median S (bounds: s_u^2 k/m, fixed output)"),
    ("expected_orth_grad_norm", "g_norm_q50", "median ||g||"),
    (
        "orth_grad_lower_bound",
        "g_norm_q10",
        "10% quantile of ||g|| (R4: below the bound w.p. <= exp(-ell/16))",
    ),
    ("failure_probability_exact", "R4.lower_bound", "fraction of networks with ||g|| < their R4 bound"),
    ("failure_probability_bound", "R4.lower_bound", "fraction of networks with ||g|| < their R4 bound"),
    ("decay_factor", "R1.invariance", "factor read off the trained weights (median)"),
    ("flip_distance_bound", "flip_q50", "median flip distance along -sign(N) g/||g||"),
    ("certified_radius_at_expected_lipschitz", "certified_q50", "median certified radius |N(x0)|/L"),
)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of `at` to `parser`: every sweep parameter as --name (numbers read as text)."""
    from verify.runtime.execution import add_execution_options
    from verify.sweep.spec import FLAGS, KEYS, OPTIONS, REQUIRED, defaults

    point = parser.add_argument_group("the cell (defaults as in a sweep spec; docs/sweeps.md)")
    default = defaults()
    for key in KEYS:
        if key == "seed":
            continue
        flag = "--" + key.replace("_", "-")
        if key in FLAGS:
            point.add_argument(flag, dest=key, action=argparse.BooleanOptionalAction, default=default[key])
        elif key in OPTIONS:
            point.add_argument(
                flag,
                dest=key,
                default=default[key],
                help=f"one of {', '.join(OPTIONS[key])} (default {default[key]})",
            )
        else:
            required = key in REQUIRED or key == "m"
            point.add_argument(
                flag,
                dest=key,
                required=required,
                default=None,
                help=None if required else f"default {default[key]}",
            )
    parser.add_argument(
        "--claims",
        nargs="+",
        default=None,
        metavar="ID",
        help="claims to decide (default: every one that applies)",
    )
    add_rate_option(parser, "the claims decided at the cell")
    parser.add_argument(
        "--digits", type=int, default=6, help="significant digits of the theory's values (default 6)"
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="table (default) or json")
    add_execution_options(parser)


def _number(key: str, text: str) -> Any:
    """A number given on the command line: an integer parameter must be written as one."""
    from theory.parameters import PARAMETERS, ParameterError

    try:
        return int(text) if PARAMETERS[key].kind == "int" else float(text)
    except ValueError:
        raise ParameterError(f"{key}={text!r} is invalid: expected {PARAMETERS[key].describe()}") from None


def point_of(args: argparse.Namespace) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The validated point and claims of `args` (ParameterError, one line, otherwise)."""
    from verify.per_cell import select
    from verify.sweep.spec import FLAGS, KEYS, OPTIONS, check_point, check_value, defaults

    point = defaults() | {"seed": args.seed}
    for key in KEYS:
        value = getattr(args, key, None)
        if value is None or key == "seed":
            continue
        raw = value if key in FLAGS or key in OPTIONS else _number(key, value)
        point[key] = check_value(key, raw, f"--{key.replace('_', '-')}")
    point["seed"] = check_value("seed", args.seed, "--seed")
    point = {key: point[key] for key in KEYS}
    check_point(point, (), ("d", "ell", "m"))
    claims = select(args.claims, [point], where="--claims")
    check_point(point, claims, ("d", "ell", "m"))
    return point, claims


def theory_at(point: dict[str, Any], quantities: dict[str, Any], digits: int) -> dict[str, Any]:
    """`verify bounds` at the point, with k and N(x0) the medians measured (None where none was)."""
    from theory.bounds import bounds_at

    k, output = quantities.get("k_q50"), quantities.get("abs_N0_q50")
    if k is None:
        return {}
    decay: dict[str, Any] = {}
    if point["weight_decay"]:
        if point["optimizer"] == "flow":
            decay = {
                "weight_decay": repr(point["weight_decay"]),
                "flow_time": repr(point["lr"] * point["steps"]),
            }
        else:
            decay = {
                "weight_decay": repr(point["weight_decay"]),
                "lr": repr(point["lr"]),
                "steps": point["steps"],
            }
    return bounds_at(
        point["d"], point["ell"], point["m"], round(k), beta=repr(point["beta"]), s_w=repr(point["s_w"]),
        s_u=repr(point["s_u"]), output_value=None if output is None else repr(output), digits=digits, **decay,
    )  # fmt: skip


def report(record: dict[str, Any], digits: int) -> dict[str, Any]:
    """The JSON object of `at`: the point, the measured quantities, the side-by-side, and per claim its
    prediction, measurement, rule and verdict."""
    import mpmath

    from verify.per_cell import cell_claims

    quantities = record["quantities"]
    theory = theory_at(record["point"], quantities, digits) if record["status"] == "ok" else {}
    claims = {r["claim"]: r for r in record["claims"]}
    side = {}
    for key, measured, meaning in PAIRS:
        if key not in theory:
            continue
        if measured in cell_claims():
            if measured not in claims:
                continue
            value = claims[measured].get("measurement")
        else:
            value = quantities.get(measured)
        side[key] = {"theory": mpmath.nstr(theory[key], digits), "measured": value, "measured_as": meaning}
    return {
        "point": record["point"],
        "status": record["status"],
        "theory_at": {
            "k": round(quantities["k_q50"]) if quantities.get("k_q50") is not None else None,
            "output_value": quantities.get("abs_N0_q50"),
        },
        "quantities": quantities,
        "bounds": side,
        "claims": {
            c: {
                key: r.get(key)
                for key in (
                    "prediction",
                    "measurement",
                    "quantity",
                    "rule",
                    "verdict",
                    "alpha",
                    "tightness",
                    "tightness_exact",
                    "tightness_bound",
                    "within_hypotheses",
                    "error",
                )
                if r.get(key) is not None
            }
            for c, r in claims.items()
        },
        "seconds": record["seconds"],
    }


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


def format_report(obj: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(obj, indent=1)
    from verify.sweep.spec import describe

    point = obj["point"]
    cell = f"cell {describe(point, tuple(point))}  ({obj['status']}, {obj['seconds']:.1f} s)"
    lines = [*textwrap.wrap(cell, WIDTH, subsequent_indent="  "), ""]
    theory_at = obj["theory_at"]
    lines.append(
        f"measured beside `verify bounds` at k = {theory_at['k']}, N(x0) = "
        f"{_show(theory_at['output_value'])} (medians over the networks):"
    )
    rows = [
        (key, entry["theory"], _show(entry["measured"]), entry["measured_as"])
        for key, entry in obj["bounds"].items()
    ]
    lines += [
        tabulate(
            rows,
            headers=("bound", "theory", "measured", "measured as"),
            disable_numparse=True,
            maxcolwidths=[40, 14, 12, 36],
        ),
        "",
    ]
    verdicts = [
        (
            c,
            r.get("verdict", "").upper(),
            r.get("rule", r.get("error", "")),
            _show(r.get("prediction")),
            _show(r.get("measurement")),
            _show(r.get("tightness")),
        )
        for c, r in obj["claims"].items()
    ]
    lines += [
        tabulate(
            verdicts,
            headers=("claim", "verdict", "decisive rule", "prediction", "measurement", "tightness"),
            disable_numparse=True,
            maxcolwidths=[16, 8, 40, 11, 11, 9],
        ),
        "",
    ]
    lines += quantities_table(obj["quantities"])
    return "\n".join(lines)


#: A quantity's statistics over the networks, by the suffix of its key in a cell record.
STATISTICS = {
    "q10": "10% quantile",
    "q50": "median",
    "q90": "90% quantile",
    "band_low": "median 95% band: low",
    "band_high": "high",
}


def quantities_table(quantities: dict[str, Any]) -> list[str]:
    """The cell's counts on one wrapped line, then its quantities over the networks as a table: one row
    per quantity (``g_norm_q10``, ``g_norm_q50``, ... become the row g_norm), one column per statistic."""
    rows: dict[str, dict[str, Any]] = {}
    counts = []
    for key, value in quantities.items():
        m = re.fullmatch(r"(.+)_(q10|q50|q90|band_low|band_high)", key)
        if m:
            rows.setdefault(m.group(1), {})[m.group(2)] = value
        else:
            counts.append(f"{key} {_show(value)}")
    columns = [s for s in STATISTICS if any(s in row for row in rows.values())]
    table = tabulate(
        [(name, *(_show(row.get(s)) for s in columns)) for name, row in rows.items()],
        headers=("quantity over the networks", *(STATISTICS[s] for s in columns)),
        disable_numparse=True,
    )
    return [*textwrap.wrap("counts: " + ", ".join(counts), WIDTH), "", table]


def main(args: argparse.Namespace) -> int:
    """Run the cell of `args` and print it; 0 all claims pass, 1 one fails, 2 bad input, 3 internal error."""
    from verify.per_cell import exit_status, test_rates
    from verify.runtime.execution import execution
    from verify.sweep.cells import Cell, error_record, run_cell
    from verify.sweep.spec import check_value

    check_value("false_fail_rate", args.false_fail_rate, "--false-fail-rate")
    check_value("digits", args.digits, "--digits")
    point, claims = point_of(args)
    rates = tuple(test_rates(claims, 1, args.false_fail_rate).items())
    cell = Cell(0, tuple(point.items()), claims, rates)
    device, executor = execution(args)
    try:
        (_, record, error), *_ = list(executor.run(run_cell, [(cell, device)]))
    except BaseException:
        executor.close(kill=True)
        raise
    executor.close()
    record = record if not error else error_record(cell, error)
    print(format_report(report(record, args.digits), args.format))
    return exit_status([r["verdict"] for r in record["claims"]])
