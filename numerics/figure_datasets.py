"""The paper's figure sets (Figures 2 and 3): fixed points, identical across the runs of a batch, made for
`numerics.datasets.make_dataset` (its "diagonal", "chessboard" and "chessboard_flat")."""

from __future__ import annotations

import math
from typing import Any

import torch

from numerics.subspace import Subspace
from theory.parameters import ParameterError, choice

__all__ = ["CHESSBOARD_LAYOUTS", "chessboard_maker", "make_diagonal"]

CHESSBOARD_LAYOUTS = ("grid", "centres")


def _fixed(name: str, given: dict[str, Any], fixed: dict[str, Any]) -> None:
    """Reject d, ell, n, axis_aligned values that contradict a fixed figure set."""
    for key, value in given.items():
        if value is not None and value != fixed[key]:
            raise ParameterError(f"{key}={value!r} is invalid: the {name} set has {key}={fixed[key]!r}")


def make_diagonal(*, runs, seed, d, ell, n, axis_aligned):
    """Figure 2: x = (t, t) for t in {-1, -2/3, ..., 1}; y = +1 at t in {-2/3, 0, 2/3}, else -1.

    P = span{(1, 1)/sqrt 2}. Matches the authors' code (github.com/odeliamel/off-manifold-robustness,
    diagonal/data.py: t = 2i/6 - 1, positive label on intervals around -2/3, 0 and 2/3).
    """
    _fixed(
        "diagonal",
        dict(d=d, ell=ell, n=n, axis_aligned=axis_aligned),
        dict(d=2, ell=1, n=7, axis_aligned=False),
    )
    i = torch.arange(7, dtype=torch.float64)
    t = (i - 3) / 3
    X = torch.stack([t, t], dim=1)
    y = torch.where(i % 2 == 1, 1.0, -1.0).to(torch.float64)
    basis = torch.full((2, 1), 1 / math.sqrt(2), dtype=torch.float64)
    info = {"points": "(t, t), t = (i - 3)/3, i = 0..6", "labels": "+1 at t = -2/3, 0, 2/3"}
    return X.expand(runs, 7, 2).clone(), y.expand(runs, 7).clone(), Subspace(basis), None, None, info


def chessboard_maker(height: float):
    """The maker of the Figure 3 board at `height` (see `make` below)."""

    def make(*, runs, seed, d, ell, n, axis_aligned, layout="grid"):
        """Figure 3: a 5x5 board, x = (s_i, s_j, height), y = (-1)^(i+j) (+1 on the corners).

        layout "grid" (default): s_i = i/4, i = 0..4, the lattice {0, 1/4, ..., 1}^2 of the authors' code
        (chess/data.py), which the points of the published figure sit on; "centres": the cell centres
        s_i = (i + 0.5)/5 of a board on [0, 1]^2. Height 0.5 makes the data span R^3 (an affine plane,
        subspace None, so R1 does not apply); height 0 gives P = span{e1, e2}.
        """
        name = "chessboard" if height else "chessboard_flat"
        _fixed(name, dict(d=d, ell=ell, n=n), dict(d=3, ell=1, n=25))
        if axis_aligned and height:
            raise ParameterError("axis_aligned=True is invalid: the chessboard set lies on an affine plane")
        choice("layout", layout, CHESSBOARD_LAYOUTS)
        i = torch.arange(5, dtype=torch.float64)
        s = i / 4 if layout == "grid" else (i + 0.5) / 5
        I, J = torch.meshgrid(i, i, indexing="ij")
        S1, S2 = torch.meshgrid(s, s, indexing="ij")
        X = torch.stack([S1.flatten(), S2.flatten(), torch.full((25,), height, dtype=torch.float64)], dim=1)
        y = torch.where((I + J).flatten() % 2 == 0, 1.0, -1.0).to(torch.float64)
        plane = Subspace(torch.eye(3, 2, dtype=torch.float64))  # span{e1, e2}; e3 is the plane's normal
        info = {"layout": layout, "affine_offset": height, "labels": "(-1)^(i+j)", "_normal_space": plane}
        subspace = None if height else plane
        return X.expand(runs, 25, 3).clone(), y.expand(runs, 25).clone(), subspace, None, None, info

    return make
