"""The rows every report format shares, as text cells: a table's formatted numbers, the summary row of each
claim, the power-by-design rows. The writers differ only in how they set these cells."""

from __future__ import annotations

import math
from typing import Any

from verify.claim import Column, Table
from verify.harness import Record
from verify.statistics import Rule

__all__ = [
    "POWER_HEADERS",
    "SUMMARY_HEADERS",
    "error_line",
    "format_cell",
    "format_number",
    "format_rule",
    "numeric_columns",
    "power_rows",
    "summary_rows",
    "table_rows",
]

SUMMARY_HEADERS = ("id", "claim", "decisive number", "verdict", "seconds")
POWER_HEADERS = ("id", "wrong prediction", "caught by", "n", "per-test rate", "power")


def format_cell(value: Any, column: Column) -> str:
    """One table cell as text: None as "-", booleans as yes/no, numbers by the column's format."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (int, float)) and column.format:
        return format(value, column.format)
    return str(value)


def format_number(x: Any) -> str:
    """A number in three significant digits ("inf", "nan" as such)."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(x):
        return str(x)
    return f"{x:.3g}"


def format_rule(rule: Rule) -> str:
    """'p = 0.196 >= 3.1e-05': the decisive comparison of a verdict."""
    return f"{rule.quantity} = {format_number(rule.value)} {rule.passes_if} {format_number(rule.threshold)}"


def table_rows(t: Table) -> list[list[str]]:
    """A table's cells formatted by their columns."""
    return [[format_cell(v, c) for v, c in zip(row, t.columns, strict=True)] for row in t.rows]


def numeric_columns(t: Table) -> list[bool]:
    """Which columns hold numbers (right-aligned by the writers): a format is declared and no cell is text."""
    return [
        bool(c.format) and all(row[j] is None or isinstance(row[j], (int, float)) for row in t.rows)
        for j, c in enumerate(t.columns)
    ]


def error_line(r: Record, width: int = 80) -> str:
    """The last line of an internal error, cut to `width` characters."""
    return (r.error.strip().splitlines() or [""])[-1][:width]


def summary_rows(records: list[Record]) -> list[list[str]]:
    """One short row per claim: id, title, the decisive number against its threshold, verdict, seconds."""
    rows = []
    for r in records:
        decisive = format_rule(r.outcome.decisive.rule) if r.outcome else error_line(r)
        rows.append([r.claim.id, r.claim.title, decisive, r.verdict.upper(), f"{r.seconds:.1f}"])
    return rows


def power_rows(records: list[Record]) -> list[list[str]]:
    """Every statistical claim's detection targets, one row each (a claim without any says so)."""
    rows = []
    for r in records:
        if not r.false_fail_rate:
            continue
        found = r.outcome.detections if r.outcome else ()
        rows += [[r.claim.id, d.target, d.test, str(d.n), f"{d.alpha:.2g}", f"{d.power:.3f}"] for d in found]
        if not found:
            rows.append([r.claim.id, "(none declared)", "", "", "", ""])
    return rows
