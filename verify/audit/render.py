"""What `verify audit` shows: the per-network table printed on the terminal (`format_table`), the Markdown
report (`markdown_report`) and the figures (`audit_figures`), all from the record the audit returns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from verify.audit.api import POINT_KEYS

__all__ = ["audit_figures", "format_table", "markdown_report"]


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


def markdown_report(record: dict[str, Any]) -> str:
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


def audit_figures(record: dict[str, Any], folder: Path) -> list[str]:
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
