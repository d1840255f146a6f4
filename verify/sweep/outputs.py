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
import json
import os
from pathlib import Path
from typing import Any

from verify.claim import table
from verify.per_cell import cell_claims
from verify.reports.latex import longtable
from verify.reports.markdown import table_md
from verify.reports.rows import numeric_columns, table_rows
from verify.sweep.answer import cells_with_radii, radius_answer
from verify.sweep.cells import RATIO, RELATIVE
from verify.sweep.maps import VERDICT_COLOURS, phase_diagrams
from verify.sweep.spec import KEYS, SweepSpec

__all__ = [
    "ROW_COLUMNS",
    "axis_names",
    "latex",
    "markdown",
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
        {"cell": r["cell"], **{a: r[a] for a in axes}, "claim": r["claim"], "verdict": r["verdict"]}
        | {"in hypotheses": r["within_hypotheses"], "decisive rule": r["rule"] or r["error"] or ""}
        | {"prediction": r["prediction"], "measurement": r["measurement"], "tightness": r["tightness"]}
        for r in rows
    ]
    return table(f"Sweep {spec.name!r}: one row per cell and claim", columns, body)


#: The radius table's columns after the cell's axes: (header, format, record field).
_RADIUS_COLUMNS = (
    ("median orth/on-manifold", ".3g", f"{RATIO}_q50"),
    ("95% band low", ".3g", f"{RATIO}_band_low"),
    ("95% band high", ".3g", f"{RATIO}_band_high"),
    ("median orth/||x0||", ".3g", f"{RELATIVE}_q50"),
    ("band low", ".3g", f"{RELATIVE}_band_low"),
    ("band high", ".3g", f"{RELATIVE}_band_high"),
)


def radius_table(spec: SweepSpec, rows: list[dict[str, Any]]):
    """The flip radii per cell (a `verify.claim.Table`), or None when no cell measured both attacks."""
    cells = cells_with_radii(rows)
    if not cells:
        return None
    axes = axis_names(spec)
    columns = [("cell", "d"), *((a, "g") for a in axes), ("r = d - ell", "d")]
    columns += [(header, spec_) for header, spec_, _ in _RADIUS_COLUMNS]
    body = [
        {"cell": r["cell"], **{a: r[a] for a in axes}, "r = d - ell": r["d"] - r["ell"]}
        | {header: r[field] for header, _, field in _RADIUS_COLUMNS}
        for r in cells
    ]
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
