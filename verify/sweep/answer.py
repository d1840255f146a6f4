"""How small is "small": a sweep's answer, in sentences, from the radius levels of its cells.

Per cell the sweep records the median over networks of orthogonal/on-manifold flip radius and of
orthogonal radius/||x0||, each with a distribution-free 95% band (`verify.sweep.cells.median_band`). The
answer names the cell with the lowest ratio, whether any cell's ratio falls below 1 (its band entirely
below 1), and where the orthogonal radius falls below a tenth of ||x0|| (its band entirely below 0.1).
Reported, never judged: the bands are per cell, not simultaneous over the grid.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from verify.reports.rows import format_number
from verify.sweep.cells import RATIO, RELATIVE

__all__ = ["EXAMPLE_TABLE", "SMALL_FRACTION", "cells_with_radii", "radius_answer", "radius_answer_from_file"]

#: "Small" relative to the point: an orthogonal radius below this fraction of ||x0||.
SMALL_FRACTION = 0.1
#: The committed tidy table of `examples/small.toml` (the sweep's table.json), quoted by every front page.
EXAMPLE_TABLE = Path(__file__).resolve().parents[2] / "examples" / "small.table.json"


def cells_with_radii(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per cell that measured both radii (the tidy table repeats a cell for each of its claims)."""
    seen: dict[int, dict[str, Any]] = {}
    for r in rows:
        if r.get(f"{RATIO}_q50") is not None:
            seen.setdefault(r["cell"], r)
    return list(seen.values())


def _where(r: dict[str, Any], axes: Sequence[str]) -> str:
    return ", ".join(f"{a} = {r[a]}" for a in axes) + f" (r = d - ell = {r['d'] - r['ell']})"


def _banded(r: dict[str, Any], name: str) -> str:
    q50, low, high = (r[f"{name}_{k}"] for k in ("q50", "band_low", "band_high"))
    return f"{format_number(q50)} [{format_number(low)}, {format_number(high)}]"


def radius_answer(rows: Sequence[dict[str, Any]], axes: Sequence[str]) -> list[str]:
    """Sentences answering "how small": the lowest median orthogonal/on-manifold ratio and where the
    median orthogonal radius falls below `SMALL_FRACTION` ||x0||; [] when no cell measured both radii."""
    cells = cells_with_radii(rows)
    if not cells:
        return []
    lowest = min(cells, key=lambda r: r[f"{RATIO}_q50"])
    below_one = [r for r in cells if r[f"{RATIO}_band_high"] < 1]
    ratio = (
        f"The median orthogonal/on-manifold flip radius ratio is lowest at {_where(lowest, axes)}: "
        f"{_banded(lowest, RATIO)} (median [95% band]); "
        + (
            f"its band lies below 1 in {len(below_one)} of {len(cells)} cells."
            if below_one
            else f"in none of the {len(cells)} cells does its band fall below 1."
        )
    )
    small = [r for r in cells if r[f"{RELATIVE}_band_high"] < SMALL_FRACTION]
    if small:
        least = min(small, key=lambda r: r[f"{RELATIVE}_q50"])
        largest = max(small, key=lambda r: r[f"{RELATIVE}_q50"])
        relative = (
            f"The median orthogonal radius lies below ||x0||/{1 / SMALL_FRACTION:g} (band included) in "
            f"{len(small)} of {len(cells)} cells, from {_banded(largest, RELATIVE)} at "
            f"{_where(largest, axes)} to {_banded(least, RELATIVE)} at {_where(least, axes)}."
        )
    else:
        least = min(cells, key=lambda r: r[f"{RELATIVE}_q50"])
        relative = (
            f"In no cell does the median orthogonal radius lie below ||x0||/{1 / SMALL_FRACTION:g} with its "
            f"band; the smallest is {_banded(least, RELATIVE)} at {_where(least, axes)}."
        )
    return [ratio, relative]


def radius_answer_from_file(table_json: Path, axes: Sequence[str] = ("m", "d", "ell")) -> list[str]:
    """`radius_answer` of a sweep's committed table.json; [] when the file is absent."""
    if not table_json.is_file():
        return []
    return radius_answer(json.loads(table_json.read_text()), axes)
