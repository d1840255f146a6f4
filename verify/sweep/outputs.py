"""What a sweep writes, rendered from its cell records only (so a resumed sweep writes the same bytes):

- table.csv, table.json (and table.parquet where pyarrow is installed): the tidy table, one row per cell
  and claim: the cell's parameters and measured quantities, the claim's verdict, its decisive rule, the
  headline prediction and measurement, and the tightness of the bound (measured / predicted);
- table.md, table.tex: the verdicts and tightness per cell and claim, with the Bonferroni split stated;
- figures/verdict.png, figures/tightness.png: phase diagrams over the spec's two figure axes (verdict map;
  tightness heat map on a log scale centred on 1), one panel per claim, faceted by the other axes;
- figures/radius_ratio.png and a table of flip radii, where the cells measured both attack radii: the
  median orthogonal/on-manifold flip radius with its 95% band, and the orthogonal radius over ||x0||;
- manifest.json: the spec, versions, git commit, executor, per-cell seconds (not bitwise stable: times).

Every file is written atomically (a temporary file beside it, then one rename), as
`verify.runtime.output` does for whole report folders.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from verify.claim import table
from verify.per_cell import cell_claims
from verify.reports.latex import longtable
from verify.reports.markdown import table_md
from verify.reports.rows import numeric_columns, table_rows
from verify.sweep.answer import radius_answer
from verify.sweep.spec import KEYS, SweepSpec, show

__all__ = [
    "MIN_DECADES",
    "RATIO",
    "RATIO_LABELS",
    "RELATIVE",
    "ROW_COLUMNS",
    "VERDICT_COLOURS",
    "axis_names",
    "draw_map",
    "latex",
    "markdown",
    "phase_diagrams",
    "radius_table",
    "summary_table",
    "tidy_rows",
    "to_csv",
    "to_json",
    "write_all",
    "write_atomic",
]

#: Leading columns of the tidy table; the measured quantities follow, then the verdict's summary.
ROW_COLUMNS = (
    "cell", "hash", "status", *KEYS, "claim", "results", "verdict", "within_hypotheses", "rule", "statistic",
    "threshold", "alpha", "tests", "quantity", "prediction", "measurement", "tightness", "tightness_exact",
    "tightness_bound", "error",
)  # fmt: skip
_LABEL_BOX = {"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.7, "linewidth": 0}
VERDICT_COLOURS = {"pass": "#4daf4a", "fail": "#e41a1c", "diverged": "#999999", "error": "#000000"}


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and one rename."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def tidy_rows(records: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """The tidy table: (columns, rows), one row per cell and claim, cells in grid order."""
    rows: list[dict[str, Any]] = []
    extra: dict[str, None] = {}
    for record in sorted(records, key=lambda r: r["index"]):
        for claim_row in record["claims"]:
            row = {
                "cell": record["index"],
                "hash": record["hash"],
                "status": record["status"],
                **record["point"],
            }
            row |= {k: v for k, v in claim_row.items() if k != "summary"}
            row |= record["quantities"]
            row["summary"] = claim_row.get("summary", "")
            rows.append(row)
            extra |= dict.fromkeys(k for k in row if k not in ROW_COLUMNS)
    columns = [*ROW_COLUMNS, *(k for k in extra if k != "summary"), "summary"]
    return columns, [{c: row.get(c) for c in columns} for row in rows]


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def to_csv(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_csv_value(row[c]) for c in columns] for row in rows)
    return buffer.getvalue().encode()


def to_json(rows: list[dict[str, Any]]) -> bytes:
    return (json.dumps(rows, indent=1) + "\n").encode()


def _parquet(columns: list[str], rows: list[dict[str, Any]], path: Path) -> bool:
    """table.parquet where pyarrow is installed (False otherwise)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return False
    data = pa.Table.from_pylist(rows)
    sink = pa.BufferOutputStream()
    pq.write_table(data.select(columns), sink)
    write_atomic(path, sink.getvalue().to_pybytes())
    return True


def axis_names(spec: SweepSpec) -> list[str]:
    return [name for name, _ in spec.axes]


def summary_table(spec: SweepSpec, rows: list[dict[str, Any]]):
    """The verdict table of the Markdown and LaTeX outputs (a `verify.claim.Table`)."""
    axes = axis_names(spec)
    columns: list[Any] = [
        ("cell", "d"),
        *((a, "g") for a in axes),
        "claim",
        "verdict",
        "in hypotheses",
        "decisive rule",
        ("prediction", ".4g"),
        ("measurement", ".4g"),
        ("tightness", ".4g"),
    ]
    body = [
        (
            r["cell"],
            *(r[a] for a in axes),
            r["claim"],
            r["verdict"],
            r["within_hypotheses"],
            r["rule"] or r["error"] or "",
            r["prediction"],
            r["measurement"],
            r["tightness"],
        )
        for r in rows
    ]
    return table(f"Sweep {spec.name!r}: one row per cell and claim", columns, body)


#: The radius levels a cell records when it measured both attacks (`verify.sweep.cells.radius_levels`).
RATIO = "orth_over_on"
RELATIVE = "orth_over_x0"


def _cells(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per cell (the tidy table repeats a cell's quantities for each claim)."""
    seen: dict[int, dict[str, Any]] = {}
    for r in rows:
        seen.setdefault(r["cell"], r)
    return list(seen.values())


def radius_table(spec: SweepSpec, rows: list[dict[str, Any]]):
    """The flip radii per cell (a `verify.claim.Table`), or None when no cell measured both attacks."""
    cells = [r for r in _cells(rows) if r.get(f"{RATIO}_q50") is not None]
    if not cells:
        return None
    axes = axis_names(spec)
    columns: list[Any] = [
        ("cell", "d"), *((a, "g") for a in axes), ("r = d - ell", "d"),
        ("median orth/on-manifold", ".3g"), ("95% band low", ".3g"), ("95% band high", ".3g"),
        ("median orth/||x0||", ".3g"), ("band low", ".3g"), ("band high", ".3g"),
    ]  # fmt: skip
    body = [
        (r["cell"], *(r[a] for a in axes), r["d"] - r["ell"],
         *(r[f"{RATIO}_{k}"] for k in ("q50", "band_low", "band_high")),
         *(r[f"{RELATIVE}_{k}"] for k in ("q50", "band_low", "band_high")))
        for r in cells
    ]  # fmt: skip
    return table(
        f"Sweep {spec.name!r}: how small the orthogonal flip radius is (medians over the networks of one x0 "
        "each, with distribution-free 95% bands)",
        columns,
        body,
    )


def markdown(spec: SweepSpec, rows: list[dict[str, Any]], statement: str) -> str:
    counts = {v: sum(r["verdict"] == v for r in rows) for v in VERDICT_COLOURS}
    lines = [
        f"# Sweep {spec.name!r}",
        "",
        "- axes: " + "; ".join(f"{name} = {list(values)}" for name, values in spec.axes),
        "- claims: " + ", ".join(f"{c} ({cell_claims()[c].cell.quantity})" for c in spec.claims),
        f"- {statement}",
        "- verdicts: " + ", ".join(f"{n} {v}" for v, n in counts.items()),
        "- tightness: measured / predicted (R1 defect/budget, R3 mean Q/ell, R4 median ||g||/bound, "
        "R5 median t*/bound, R6 median certified/orthogonal attack radius)",
        "",
        table_md(summary_table(spec, rows)),
    ]
    radii = radius_table(spec, rows)
    if radii is not None:
        lines += ["", table_md(radii), "", "How small:", ""]
        lines += [f"- {s}" for s in radius_answer(rows, axis_names(spec))]
    return "\n".join(lines)


def latex(spec: SweepSpec, rows: list[dict[str, Any]], statement: str) -> str:
    t = summary_table(spec, rows)
    return longtable(
        f"{t.title}; {statement}", [c.name for c in t.columns], table_rows(t), nowrap=numeric_columns(t)
    )


def _facets(spec: SweepSpec) -> list[dict[str, Any]]:
    others = [(name, values) for name, values in spec.axes if name not in spec.figure_axes]
    return [
        dict(zip([n for n, _ in others], combo, strict=True))
        for combo in itertools.product(*(v for _, v in others))
    ]


def _value(kind: str, row: dict[str, Any]) -> float:
    """What a map shows for one row: the verdict's index in VERDICT_COLOURS, or log10 of the tightness
    (kind "tightness") or of the median orthogonal/on-manifold radius (kind "ratio")."""
    if kind == "verdict":
        return float(list(VERDICT_COLOURS).index(row["verdict"]))
    t = row.get("tightness" if kind == "tightness" else f"{RATIO}_q50")
    return math.log10(t) if isinstance(t, (int, float)) and 0 < t < math.inf else math.nan


def _grid(
    rows: list[dict[str, Any]], kind: str, claim: str | None, facet: dict[str, Any], x: str, xs, y, ys
) -> np.ndarray:
    """The (y, x) map of one claim (None: any claim's row, for a cell's own quantities) at one facet
    (NaN where no row)."""
    grid = np.full((len(ys), len(xs)), np.nan)
    for r in rows:
        if claim in (None, r["claim"]) and all(r[k] == v for k, v in facet.items()):
            grid[ys.index(r[y]) if y else 0, xs.index(r[x])] = _value(kind, r)
    return grid


#: The narrowest colour scale of a ratio map: a factor 2 either side of 1. A ratio map is coloured on a log
#: scale centred on 1 (white), so cells that differ by a few percent (noise at a sweep's sizes: R4's
#: tightness 1.37 against 1.42) get the same pale colour and only a departure from 1 stands out.
MIN_DECADES = math.log10(2.0)
RATIO_LABELS = {
    "tightness": "measured / predicted (log scale; 1 white)",
    "ratio": "orthogonal / on-manifold (log scale; 1 white)",
}


def draw_map(fig, ax, grid: np.ndarray, kind: str, labels: np.ndarray | None = None) -> None:
    """One panel: the verdict map, or a ratio map (log10 values) centred on 1 with its range noted."""
    from matplotlib.colors import ListedColormap
    from matplotlib.ticker import FuncFormatter

    if kind == "verdict":
        colours = ListedColormap(list(VERDICT_COLOURS.values()))
        ax.imshow(grid, cmap=colours, vmin=-0.5, vmax=3.5, aspect="auto", origin="lower")
        return
    finite = grid[np.isfinite(grid)]
    limit = max(MIN_DECADES, float(np.abs(finite).max())) if finite.size else MIN_DECADES
    image = ax.imshow(grid, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto", origin="lower")
    bar = fig.colorbar(image, ax=ax, format=FuncFormatter(lambda v, _: f"{10**v:.3g}"))
    bar.set_label(RATIO_LABELS[kind], fontsize=6)
    bar.ax.tick_params(labelsize=6)
    for (a, b), v in np.ndenumerate(grid):
        if np.isfinite(v):
            text = labels[a, b] if labels is not None else f"{10**v:.2g}"
            ax.text(b, a, text, ha="center", va="center", fontsize=6, bbox=_LABEL_BOX)
    if finite.size:
        ax.annotate(
            f"values {10 ** finite.min():.3g} to {10 ** finite.max():.3g}; colours span "
            f"{10**-limit:.3g} to {10**limit:.3g}",
            (0.0, -0.32), xycoords="axes fraction", fontsize=6, color="0.3",
        )  # fmt: skip


def _ratio_labels(rows: list[dict[str, Any]], facet: dict[str, Any], x: str, xs, y, ys) -> np.ndarray:
    """Each cell's label on the ratio map: r = d - ell, the median ratio and its band, and the median
    orthogonal radius/||x0||."""
    labels = np.full((len(ys), len(xs)), "", dtype=object)
    for r in _cells(rows):
        if r.get(f"{RATIO}_q50") is None or not all(r[k] == v for k, v in facet.items()):
            continue
        band = f"[{r[f'{RATIO}_band_low']:.2g}, {r[f'{RATIO}_band_high']:.2g}]"
        labels[ys.index(r[y]) if y else 0, xs.index(r[x])] = (
            f"r={r['d'] - r['ell']}\n{r[f'{RATIO}_q50']:.2g} {band}\n/||x0|| {r[f'{RELATIVE}_q50']:.2g}"
        )
    return labels


def phase_diagrams(spec: SweepSpec, rows: list[dict[str, Any]], folder: Path) -> list[str]:
    """verdict.png and tightness.png over the figure axes, one panel per (facet, claim), and
    radius_ratio.png (one panel per facet) where the cells measured both attack radii; file names."""
    if not spec.figure_axes:
        return []
    from matplotlib.patches import Patch

    from verify import figures

    values = dict(spec.axes)
    x = spec.figure_axes[0]
    y = spec.figure_axes[1] if len(spec.figure_axes) > 1 else None
    xs, ys = values[x], values[y] if y else (None,)
    facets = _facets(spec)
    folder.mkdir(parents=True, exist_ok=True)
    kinds = ["verdict", "tightness"]
    if any(r.get(f"{RATIO}_q50") is not None for r in rows):
        kinds.append("ratio")
    names = []
    for kind in kinds:
        panels = [None] if kind == "ratio" else list(spec.claims)
        fig, axes = figures.new(len(panels), len(facets), width=3.8 if kind == "ratio" else 3.4, height=3.0)
        for (i, facet), (j, claim) in itertools.product(enumerate(facets), enumerate(panels)):
            ax = axes[i, j]
            labels = _ratio_labels(rows, facet, x, xs, y, ys) if kind == "ratio" else None
            draw_map(fig, ax, _grid(rows, kind, claim, facet, x, xs, y, ys), kind, labels)
            ax.set_xticks(range(len(xs)), [show(v) for v in xs], fontsize=7)
            ax.set_xlabel(x)
            if y:
                ax.set_yticks(range(len(ys)), [show(v) for v in ys], fontsize=7)
                ax.set_ylabel(y)
            else:
                ax.get_yaxis().set_visible(False)  # a one-axis sweep: one row, no second axis to label
            ax.grid(False)
            where = ", ".join(f"{k}={show(v)}" for k, v in facet.items())
            title = claim or "median orth./on-manifold flip radius [95% band]"
            ax.set_title(title + (f" ({where})" if where else ""), fontsize=8)
        if kind == "verdict":
            handles = [Patch(color=c, label=v) for v, c in VERDICT_COLOURS.items()]
            fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=7, frameon=False)
            fig.subplots_adjust(bottom=0.2)
        name = "radius_ratio.png" if kind == "ratio" else f"{kind}.png"
        tmp = folder / f".tmp-{os.getpid()}-{name}"
        figures.save(fig, tmp)
        os.replace(tmp, folder / name)
        names.append(name)
    return names


def write_all(
    out: Path, spec: SweepSpec, records: list[dict[str, Any]], statement: str, manifest: dict[str, Any]
) -> list[str]:
    """Every output of a finished sweep into `out`, each atomically; the names written."""
    columns, rows = tidy_rows(records)
    write_atomic(out / "table.csv", to_csv(columns, rows))
    write_atomic(out / "table.json", to_json(rows))
    written = ["table.csv", "table.json"]
    if _parquet(columns, rows, out / "table.parquet"):
        written.append("table.parquet")
    write_atomic(out / "table.md", markdown(spec, rows, statement).encode())
    write_atomic(out / "table.tex", latex(spec, rows, statement).encode())
    written += ["table.md", "table.tex"]
    written += [f"figures/{n}" for n in phase_diagrams(spec, rows, out / "figures")]
    write_atomic(out / "manifest.json", (json.dumps(manifest, indent=1) + "\n").encode())
    return [*written, "manifest.json"]
