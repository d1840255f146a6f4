"""The pictures of R9: decision boundaries of the representative networks of each setting, as the paper
draws them, and the per-network radii every test uses."""

from __future__ import annotations

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import torch

from numerics.model import Network, forward
from verify import figures
from verify.checks.helpers.figure_settings import (
    FIGURE2,
    FIGURE3,
    capped,
    medians,
    representative,
    setting_title,
)
from verify.experiments.population import PopulationMeasurement

__all__ = ["figure2_picture", "figure3_picture", "network"]


def _nets(pop: PopulationMeasurement) -> dict[str, np.ndarray]:
    assert pop.networks is not None, "the figures need the trained networks (measure 'networks')"
    return pop.networks


# Colours of the paper's figures: red for label +1, blue for label -1.
_LABEL_COLOURS = {1.0: "#d62728", -1.0: "#1f3fbf"}
_REGION_COLOURS = mcolors.ListedColormap(["#dbe4f7", "#f7dcdc"])  # N < 0, N > 0


def network(pop: PopulationMeasurement, r: int) -> Network:
    """Run r of a population with measure "networks", as a one-run batch."""
    nets = pop.networks
    assert nets is not None
    return Network(*(torch.from_numpy(nets[k][r : r + 1]) for k in ("W", "b", "u")))


def _grid_values(net: Network, points: np.ndarray) -> np.ndarray:
    X = torch.as_tensor(points, dtype=net.W.dtype).unsqueeze(0)
    return forward(net, X)[0].numpy()


def _scatter_labels(ax, points: np.ndarray, labels: np.ndarray) -> None:
    for label, colour in _LABEL_COLOURS.items():
        sel = labels == label
        ax.scatter(*points[sel].T, c=colour, s=22, edgecolors="black", linewidths=0.4, zorder=5)


def _boundary_panel(
    ax, pop, r: int, grid, axes_of: tuple[int, int], fixed: dict[int, float], rows, normal
) -> None:
    """Sign regions and N = 0 of one network on a 2-D slice, the points of the slice, and their nearest
    orthogonal flips (a segment from x0 to x0 + side r_perp n)."""
    A, B = grid
    X, y = _nets(pop)["X"][r], _nets(pop)["y"][r]
    pts = np.zeros((A.size, X.shape[-1]))
    pts[:, axes_of[0]], pts[:, axes_of[1]] = A.ravel(), B.ravel()
    for axis, value in fixed.items():
        pts[:, axis] = value
    Z = _grid_values(network(pop, r), pts).reshape(A.shape)
    ax.contourf(A, B, np.sign(Z), levels=[-2, 0, 2], cmap=_REGION_COLOURS)
    ax.contour(A, B, Z, levels=[0.0], colors="dimgray", linewidths=1.3)
    for x0, t, s in zip(X[rows], pop.normal.radius[r][rows], pop.normal.side[r][rows], strict=True):
        if np.isfinite(t):
            end = x0 + s * t * normal
            ax.plot(
                [x0[axes_of[0]], end[axes_of[0]]], [x0[axes_of[1]], end[axes_of[1]]], color="black", lw=0.9
            )
            ax.plot(end[axes_of[0]], end[axes_of[1]], "x", color="black", ms=4)
    _scatter_labels(ax, X[rows][:, list(axes_of)], y[rows])
    ax.set_xlim(A.min(), A.max())
    ax.set_ylim(B.min(), B.max())


def _radii_panel(ax, pops: dict[str, PopulationMeasurement]) -> None:
    """Per-network median r_perp of every setting (the sample each test uses), log scale; inf at the top."""
    raw = {k: medians(p) for k, p in pops.items()}
    values_of = capped(raw)
    for j, key in enumerate(pops):
        values, none = values_of[key], np.isposinf(raw[key])
        x = j + (np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else np.zeros(1))
        dots = ax.scatter(x[~none], values[~none], s=12, alpha=0.8)
        ax.scatter(
            x[none],
            values[none],
            s=22,
            marker="^",
            color=dots.get_facecolor(),
            label="no flip (inf)" if j == 0 else None,
        )
        ax.hlines(np.median(values), j - 0.3, j + 0.3, color="black", lw=1.5)
    if any(np.isposinf(v).any() for v in raw.values()):
        ax.legend(fontsize=7, loc="upper right")
    ax.set_yscale("log")
    ax.set_xticks(range(len(pops)), [k.replace("_", "\n") for k in pops])
    ax.set_ylabel("per-network median r_perp")
    ax.set_title("orthogonal flip radius")


def _panel_title(letter: str, figure, key: str, pop, r: int) -> str:
    return (
        f"({letter}) {setting_title(figure, key)}\nT={int(pop.steps_taken[r])}, margin "
        f"{float(pop.final_margin[r]):.2f}, median r_perp {np.median(pop.normal.radius[r]):.3g}"
    )


def figure2_picture(ctx, pops: dict[str, PopulationMeasurement]) -> str:
    fig, axes = figures.new(4, 1, width=3.7, height=3.7)
    side = np.linspace(-1.5, 1.5, 241)
    grid = np.meshgrid(side, side)
    normal = np.array(FIGURE2.normal)
    for j, (key, pop) in enumerate(pops.items()):
        r = representative(pop)
        ax = axes[0, j]
        _boundary_panel(ax, pop, r, grid, (0, 1), {}, np.arange(_nets(pop)["X"].shape[1]), normal)
        ax.plot([-1.5, 1.5], [-1.5, 1.5], ls="--", color="gray", lw=0.7)  # the data line P
        ax.set_aspect("equal")
        ax.set_title(_panel_title("abc"[j], FIGURE2, key, pop, r), fontsize=8)
    _radii_panel(axes[0, 3], pops)
    return figures.save(fig, ctx.figure_path("R9_figure2.png"))


def _stacked_contours(ax3, net: Network, side: np.ndarray, levels: np.ndarray) -> None:
    """The decision boundary N = 0 in the box [0, 1]^3 drawn as its contours on horizontal slices x3 = z,
    each at its height and coloured by it (how the authors render the surface, chess/views.py)."""
    A, B = np.meshgrid(side, side)
    cmap, norm = plt.get_cmap("jet"), mcolors.Normalize(vmin=0.15, vmax=0.85)
    for z in levels:
        pts = np.stack([A.ravel(), B.ravel(), np.full(A.size, z)], axis=1)
        Z = _grid_values(net, pts).reshape(A.shape)
        if Z.min() < 0 < Z.max():
            ax3.contour(
                A, B, Z, levels=[0.0], zdir="z", offset=z, colors=[cmap(norm(z))], linewidths=1.2, alpha=0.7
            )


def figure3_picture(ctx, pops: dict[str, PopulationMeasurement], height: float) -> str:
    fig, axes = figures.new(4, 2, width=3.6, height=3.5)
    gs = axes[0, 0].get_gridspec()
    for ax in (axes[0, 3], axes[1, 3]):
        ax.remove()
    _radii_panel(fig.add_subplot(gs[:, 3]), pops)
    sheet_side, levels = np.linspace(0, 1, 51), np.linspace(0.025, 0.975, 20)
    slice_grid = np.meshgrid(np.linspace(-0.1, 1.1, 181), np.linspace(0, 1, 151))
    normal = np.array(FIGURE3.normal)
    for j, (key, pop) in enumerate(pops.items()):
        r = representative(pop)
        axes[0, j].remove()
        ax3 = fig.add_subplot(gs[0, j], projection="3d")
        _stacked_contours(ax3, network(pop, r), sheet_side, levels)
        X, y = _nets(pop)["X"][r], _nets(pop)["y"][r]
        for label, colour in _LABEL_COLOURS.items():
            sel = y == label
            ax3.scatter(*X[sel].T, c=colour, s=14, depthshade=False)
        ax3.set_xlim(0, 1)
        ax3.set_ylim(0, 1)
        ax3.set_zlim(0, 1)
        ax3.view_init(elev=30, azim=60)  # the authors' view (chess/views.py)
        ax3.set_title(_panel_title("abc"[j], FIGURE3, key, pop, r), fontsize=8)
        ax = axes[1, j]  # cross-section through the board's middle row x2 = 0.5, along the normal x3
        row = np.flatnonzero(np.isclose(X[:, 1], 0.5))
        _boundary_panel(ax, pop, r, slice_grid, (0, 2), {1: 0.5}, row, normal)
        ax.axhline(height, ls="--", color="gray", lw=0.7)  # the board
        ax.set_xlabel("x1 (x2 = 0.5)")
        ax.set_ylabel("x3")
        ax.set_title("cross-section: sign of N", fontsize=8)
    return figures.save(fig, ctx.figure_path("R9_figure3.png"))
