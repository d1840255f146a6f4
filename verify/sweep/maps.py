"""The sweep's maps over its two figure axes: verdict.png (a colour per verdict), tightness.png (measured /
predicted) and radius_ratio.png (median orthogonal/on-manifold flip radius), one panel per facet of the
other axes (and per claim for the first two); ratio maps on a log scale centred on 1."""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from verify.sweep.answer import cells_with_radii
from verify.sweep.cells import RATIO, RELATIVE
from verify.sweep.spec import SweepSpec, show

__all__ = ["MIN_DECADES", "NO_RATIO", "RATIO_LABELS", "VERDICT_COLOURS", "draw_map", "phase_diagrams"]

VERDICT_COLOURS = {"pass": "#4daf4a", "fail": "#e41a1c", "diverged": "#999999", "error": "#000000"}
_LABEL_BOX = {"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.7, "linewidth": 0}


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
#: What a ratio panel says where no cell has a finite positive measured / predicted ratio.
NO_RATIO = "no ratio in any cell:\nprediction 0\nor no value"
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
    if not finite.size:
        # An exact identity (R6.identity: prediction and error both 0) has no ratio; say so rather than leave
        # a blank panel that reads as missing data.
        ax.text(0.5, 0.5, NO_RATIO, ha="center", va="center", fontsize=7, color="0.3", transform=ax.transAxes)
        return
    bar = fig.colorbar(image, ax=ax, format=FuncFormatter(lambda v, _: f"{10**v:.3g}"))
    bar.set_label(RATIO_LABELS[kind], fontsize=6)
    bar.ax.tick_params(labelsize=6)
    for (a, b), v in np.ndenumerate(grid):
        if np.isfinite(v):
            text = labels[a, b] if labels is not None else f"{10**v:.2g}"
            ax.text(b, a, text, ha="center", va="center", fontsize=6, bbox=_LABEL_BOX)
    ax.annotate(
        f"values {10 ** finite.min():.3g} to {10 ** finite.max():.3g}; colours span "
        f"{10**-limit:.3g} to {10**limit:.3g}",
        (0.0, -0.32), xycoords="axes fraction", fontsize=6, color="0.3",
    )  # fmt: skip


def _ratio_labels(rows: list[dict[str, Any]], facet: dict[str, Any], x: str, xs, y, ys) -> np.ndarray:
    """Each cell's label on the ratio map: r = d - ell, the median ratio and its band, and the median
    orthogonal radius/||x0||."""
    labels = np.full((len(ys), len(xs)), "", dtype=object)
    for r in cells_with_radii(rows):
        if not all(r[k] == v for k, v in facet.items()):
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
