"""Figure helpers shared by the checks: a headless backend and byte-stable PNGs."""

from __future__ import annotations

from pathlib import Path

import matplotlib

__all__ = ["new", "save"]

matplotlib.use("Agg")  # reports are written headless, on CI too
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update(
    {"figure.dpi": 110, "savefig.dpi": 110, "font.size": 9, "axes.grid": True, "grid.alpha": 0.3}
)


def new(ncols: int = 1, nrows: int = 1, *, width: float = 5.0, height: float = 3.6, **kwargs):
    """A figure with `nrows x ncols` axes of the report's default size."""
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kwargs)


def save(fig, path: Path) -> str:
    """Save without time-stamped metadata (the same run gives the same bytes); return the file name."""
    fig.tight_layout()
    fig.savefig(
        path,
        metadata={"Software": None, "Creation Time": None} if path.suffix == ".pdf" else {"Software": None},
    )
    plt.close(fig)
    return path.name
