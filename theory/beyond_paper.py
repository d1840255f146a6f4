"""The two laws derived here for settings outside the paper's hypotheses, tested by the violation studies
and registered in `theory.results` after R1-R8 (`paper_claim` 0: they make no claim of the abstract precise).

R1a: for data on an affine plane {x : <n, x> = a} with trained biases, the lifted normal coordinate
<w_i, n> - a b_i is multiplied by c_T = (1 - eta*lam)^T exactly, so R1's invariance of <w_i, n> fails.
R3d: for a three-layer network trained by GD on data in P, Pi W(T) = Pi W(0) and Q = d ||g||^2 /
((beta s_w)^2 ||z||^2) is exactly chi-square with ell degrees of freedom.
"""

from __future__ import annotations

from theory.decay import C_T, flow_decay_factor
from theory.expressions import DEEP_VARIANCE_SCALE, DEGREES_OF_FREEDOM
from theory.result import Result, provenance
from theory.symbols import g_norm

__all__ = ["BEYOND_PAPER"]

BEYOND_PAPER: tuple[Result, ...] = (
    Result(
        id="R1a",
        name="affine_lifted_invariance",
        statement="For data on an affine plane {x : <n, x> = a} (unit normal n, offset a != 0) and "
        "trained biases, the lifted normal coordinate <w_i, n> - a b_i is multiplied by c_T exactly, so "
        "without decay <w_i(T) - w_i(0), n> = a (b_i(T) - b_i(0)): the normal weight is trained like a "
        "bias and R1's invariance of <w_i, n> fails.",
        paper_claim=0,
        provenance=provenance("r1a-affine-data-the-lifted-invariance"),
        hypotheses=(
            "every training point x_j satisfies <n, x_j> = a",
            "the bias b_i is trained with the same step and decay as w_i (GD, SGD, momentum or flow)",
        ),
        expressions={"decay_gd": C_T, "decay_flow": flow_decay_factor()},
    ),
    Result(
        id="R3d",
        name="three_layer_orthogonal_gradient_law",
        statement="For N(x) = v^T relu(A relu(W x + b) + c) trained by GD on data in P, Pi W(T) = Pi "
        "W(0) and g = Pi grad_x N(x0) = (Pi W(0))^T z with z = 1[h1 > 0] (A^T (v 1[h2 > 0])) a function "
        "of the training outcome, so Q = d ||g||^2 / ((beta s_w)^2 ||z||^2) is exactly chi-square with "
        "ell degrees of freedom.",
        paper_claim=0,
        provenance=provenance("r3d-three-layer-networks-the-law-of-the-first-layer"),
        hypotheses=(
            "the hypotheses of R1 for the first layer, with no weight decay",
            "first-layer weights w_i(0) ~ N(0, ((beta s_w)^2/d) I_d) independent of the other layers",
            "x0 lies in P and is chosen independently of Pi W(0); ||z|| > 0",
        ),
        expressions={
            "variance_scale": DEEP_VARIANCE_SCALE,
            "chi_square_statistic": g_norm**2 / DEEP_VARIANCE_SCALE,
            "degrees_of_freedom": DEGREES_OF_FREEDOM,
        },
    ),
)
