"""R9, Figure 3: a 5x5 chessboard at height 0.5 in R^3, width 400, in the paper's three settings."""

from __future__ import annotations

from verify.checks.helpers.figure_drawing import figure3_picture
from verify.checks.helpers.figure_settings import FIGURE3, SECTION, SETTINGS, figure_requests
from verify.checks.helpers.figure_verdicts import figure_outcome
from verify.claim import Outcome, claim

__all__ = ["figure3"]


@claim(
    "R9.figure3",
    title="Figure 3: vanilla has the smallest r_perp on the board",
    statement="Figure 3: on the chessboard at height 0.5 the vanilla network's radius along e3 is the "
    "smallest (the paper: a smaller effect).",
    results=("R7", "R8"),
    section=SECTION,
    needs=figure_requests(FIGURE3),
    tests=len(SETTINGS) - 1,
)
def figure3(ctx, pops) -> Outcome:
    height = float(pops["vanilla"].networks["X"][0, 0, 2])
    return figure_outcome(
        ctx, FIGURE3, pops, figure3_picture(ctx, pops, height),
        extra="The board is affine (height 0.5), so the e3 component of w_i is trained like a bias "
            "(R9.affine, R1a) and c_T does not describe it. Top panels: the decision boundary N = 0 in the "
            "box [0, 1]^3, drawn as its contours on horizontal slices coloured by height (as in the paper); "
            "bottom panels: the sign of N on the cross-section x2 = 0.5 through the board's middle row.",
    )  # fmt: skip
