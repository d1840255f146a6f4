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
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from verify.audit.api import POINT_KEYS, audit_loaded
from verify.audit.decide import Settings
from verify.audit.loading import AuditInputError, expand, load_data, load_network, load_points

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
    parser.add_argument(
        "--false-fail-rate",
        dest="false_fail_rate",
        metavar="A",
        type=float,
        default=1e-3,
        help="family false-fail rate, split over the statistical claims the audit decides (default 1e-3)",
    )


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


def _show(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    return f"{x:.4g}"


def _median(values: list[Any]) -> float | None:
    """The median of the finite numbers among `values` (JSON cells: None and "inf" are left out)."""
    finite = [v for v in values if isinstance(v, float | int) and np.isfinite(v)]
    return float(np.median(finite)) if finite else None


def _ratio(a: Any, b: Any) -> float | None:
    return a / b if isinstance(a, float) and isinstance(b, float) and b > 0 else None


def format_table(record: dict[str, Any]) -> str:
    """The record as text: the subspace, per-network medians, the claims and what was not decided."""
    lines = [record["subspace"]["description"], ""]
    sub = record["subspace"]
    if not sub["data_in_p"]:
        lines += [
            f"off-subspace residual ||Pi x_j||: max {_show(sub['residual_max'])}, median "
            f"{_show(sub['residual_median'])} (every point in report.json)",
            "",
        ]
    keys = (*POINT_KEYS, "gradient_ratio")
    heads = [
        "network",
        "||Pi grad||",
        "||P grad||",
        "r_perp attack",
        "r_P attack",
        "r attack",
        "certified",
        "grad ratio",
        "r_perp/r_P",
    ]
    with_factor = "read_off_factor" in record["networks"][0]
    if with_factor:  # R1: the factor training applied to Pi W, read off the weights
        heads.append("R1 factor")

    def row(name: str, points: list[dict[str, Any]], factor: Any) -> list[str]:
        cells = [name] + [_show(_median([p[k] for p in points])) for k in keys]
        cells.append(
            _show(_median([_ratio(p["radius_orthogonal"], p["radius_on_manifold"]) for p in points]))
        )
        return cells + ([f"{factor:.9g}" if factor is not None else "-"] if with_factor else [])

    rows = [row(Path(n["source"]).name, n["points"], n.get("read_off_factor")) for n in record["networks"]]
    if len(rows) > 1:
        everything = [p for n in record["networks"] for p in n["points"]]
        rows.append(
            row("all (median)", everything, _median([n.get("read_off_factor") for n in record["networks"]]))
        )
    lines += [
        f"medians over {len(record['networks'][0]['points'])} points per network (grad ratio ||Pi grad||/||P "
        f"grad||: a random direction gives sqrt(ell/(d-ell)) = {record['random_direction_ratio']:.4g}):",
        tabulate(rows, headers=heads, disable_numparse=True),
        "",
    ]
    claim_rows = []
    for c in record["claims"]:
        decisive = c["decisive"]
        rule = (
            f"{decisive['quantity']} = {_show(decisive['value'])} {decisive['passes_if']} "
            f"{_show(decisive['threshold'])}"
            if decisive
            else (c["error"] or "").strip().splitlines()[-1][:90]
        )
        claim_rows.append(
            [c["id"], c["verdict"].upper(), rule, "yes" if c.get("within_hypotheses", True) else "no"]
        )
    lines += [
        tabulate(
            claim_rows,
            headers=["claim", "verdict", "decisive rule", "within hypotheses"],
            disable_numparse=True,
        ),
        "",
    ]
    outside = [c["id"] for c in record["claims"] if c["verdict"] == "fail" and not c["within_hypotheses"]]
    if outside:
        lines.append(
            "failed outside their hypotheses "
            f"({'; '.join(record['hypotheses']['outside']) or 'non-Gaussian init'}): {', '.join(outside)}; "
            "reported, not counted in the exit status"
        )
    lines += [f"not decided: {u['id']}: {u['reason']}" for u in record["undecided"]]
    hyp = record["hypotheses"]
    if "gaussian_init" in hyp:
        lines.append(
            f"initial hidden scale s_w = {hyp['s_w']:.6g} (from {hyp['s_w_entries']} entries); Gaussian "
            f"init: {'met' if hyp['gaussian_init'] else 'NOT met'} ({hyp['gaussian_init_test']['summary']})"
        )
    lines += [f"note: {n}" for n in record["notes"]]
    lines.append(f"{len(record['networks'])} networks audited in {record['seconds']:.1f} s")
    return "\n".join(lines)


def _markdown(record: dict[str, Any]) -> str:
    """report.md: the table view, the claims' verdicts and tables, and the figures."""
    parts = [
        "# offsub audit",
        "",
        f"`{record['manifest']['command']}`",
        "",
        "```text",
        format_table(record),
        "```",
        "",
    ]
    for c in record["claims"]:
        parts += [f"## {c['id']}: {c['title']} ({c['verdict'].upper()})", "", c["statement"], ""]
        if c["prediction"]:
            parts += [f"- prediction: {c['prediction']}"]
        parts += [f"- verdict: `{v['summary']}`" for v in c["verdicts"]]
        parts += [f"- reported, not judged: `{v['summary']}`" for v in c["reported"]]
        if c["error"]:
            parts += ["", "```", c["error"], "```"]
        parts += ["", c["method"] or "", ""]
        for t in c["tables"]:
            parts += [
                f"**{t['title']}**",
                "",
                tabulate(t["rows"], headers=[col["name"] for col in t["columns"]], tablefmt="github"),
                "",
            ]
    parts += [f"![{f}](figures/{f})" for f in record.get("figures", [])]
    return "\n".join(parts) + "\n"


def _figures(record: dict[str, Any], folder: Path) -> list[str]:
    """The radii per network (orthogonal, on-manifold, unrestricted, certified) as box plots."""
    from verify import figures

    folder.mkdir(parents=True, exist_ok=True)
    keys = ("certified_orthogonal", "radius_orthogonal", "radius_on_manifold", "radius_unrestricted")
    values = [
        [pt[k] for n in record["networks"] for pt in n["points"] if isinstance(pt[k], float)] for k in keys
    ]
    fig, axes = figures.new(1, width=5.0, height=3.4)
    axes[0, 0].boxplot([v if v else [np.nan] for v in values], showfliers=False)
    axes[0, 0].set_xticks([1, 2, 3, 4], ["certified", "orthogonal", "on P", "unrestricted"], fontsize=8)
    axes[0, 0].set_yscale("log")
    axes[0, 0].set_ylabel("flip radius")
    axes[0, 0].set_title("all networks and points")
    saved = [figures.save(fig, folder / "audit_radii.png")]
    Q = np.array([n["Q"] for n in record["networks"] if isinstance(n.get("Q"), float)])
    if Q.size >= 2:  # R3: Q of every network over the chi-square density theory predicts
        from theory.results import chi_square_law
        from verify.checks.helpers.chi_square_law import draw_histogram

        fig, axes = figures.new(1, width=5.0, height=3.4)
        law = chi_square_law("R3", {"ell": record["subspace"]["ell"]})
        draw_histogram(
            axes[0, 0], Q, law, f"{Q.size} networks, ell = {law.ell}", "Q = d ||g||^2 / (c_T^2 s_w^2 S)"
        )
        saved.append(figures.save(fig, folder / "audit_Q.png"))
    return saved


def _write(out: str, record: dict[str, Any], records: list) -> None:
    from verify.reports.latex import tables_only
    from verify.runtime.output import staged

    with staged(out) as stage:
        record["figures"] = _figures(record, stage / "figures")
        (stage / "report.json").write_text(json.dumps(record, indent=1) + "\n")
        (stage / "report.md").write_text(_markdown(record))
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
