"""One object per result R1-R8: statement, hypotheses, SymPy expressions and their predictions.

The results make the three claims of the abstract of Melamed, Yehudai & Vardi (NeurIPS 2023) precise:
(1) trained two-layer ReLU networks have large gradients orthogonal to a low-dimensional data subspace,
(2) hence small orthogonal adversarial perturbations, (3) a smaller initialization or L2 regularization
makes them more robust. The statements are our derivations (docs/derivations.md), not quotations of the
paper; R6 is our addition, and the e^{-ell/16} constant of R4 is our reconstruction of the paper's.

Every expression uses the symbols of theory/symbols.py and the GD decay factor c_T = (1 - eta*lam)^T
(pass lam = 0 for no decay; `Result.flow_expression` gives the gradient-flow version with exp(-lam*t)).
The hidden layer is drawn with scale beta*s_w (w_i(0) ~ N(0, (beta s_w)^2/d I)): beta is the paper's
"smaller initialization" multiplier, 1 for the standard initialization. Scaling exponents (R7) are
computed here as d log(expr) / d log(var), never typed in.

Two results are laws derived here for settings outside the paper's hypotheses, tested by the violation
studies: R1a (affine data: the lifted invariance) and R3d (three-layer networks: the chi-square law of the
first layer's orthogonal gradient). They are declared in `theory.beyond_paper` and registered here after R8.

The shared expressions (R3's variance scale, R4's bound, ...) are derived once in `theory.expressions`
and re-exported here. The type `Result` (and `log_log_slope`, which computes the exponents) is in
`theory.result`.

Predictions are asked of this registry at run time (`get`), so `replaced` can swap in a deliberately
wrong theory for a test: every check must then fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import mpmath
import sympy as sp

from theory import chi_square
from theory.beyond_paper import BEYOND_PAPER
from theory.decay import C_T, MOMENTUM_RECURRENCE, flow_decay_factor, momentum_decay_factors
from theory.expressions import (
    CERTIFIED_RADIUS_AT_EXPECTED_LIPSCHITZ,
    CHI_SQUARE_STATISTIC,
    DECAY_LIMIT,
    DEEP_VARIANCE_SCALE,
    DEGREES_OF_FREEDOM,
    ELL_OVER_D,
    EXPECTED_LIPSCHITZ,
    EXPECTED_ORTH_GRAD_NORM_SQ,
    HIDDEN_SCALE,
    ORTH_GRAD_LOWER_BOUND,
    ORTH_GRAD_LOWER_BOUND_STANDARD,
    ORTH_GRAD_NORM,
    R4_THRESHOLD,
    RMS_ORTH_GRAD,
    S_FIXED_OUTPUT,
    S_MEAN_FIELD_OUTPUT,
    STATIONARY_ORTH_WEIGHT,
    VARIANCE_SCALE,
)
from theory.precision import to_exact
from theory.result import DERIVATIONS, Result, log_log_slope, provenance
from theory.symbols import N0, L, S, beta, d, ell, g_norm, k, kappa, m

__all__ = [
    "chi_square_law",
    "CHI_SQUARE_STATISTIC",
    "DECAY_LIMIT",
    "DEEP_VARIANCE_SCALE",
    "DEGREES_OF_FREEDOM",
    "DERIVATIONS",
    "EXPECTED_LIPSCHITZ",
    "EXPECTED_ORTH_GRAD_NORM_SQ",
    "get",
    "HIDDEN_SCALE",
    "momentum_decay",
    "ORTH_GRAD_LOWER_BOUND",
    "ORTH_GRAD_LOWER_BOUND_STANDARD",
    "ORTH_GRAD_NORM",
    "R4_THRESHOLD",
    "replaced",
    "RESULTS",
    "S_FIXED_OUTPUT",
    "S_MEAN_FIELD_OUTPUT",
    "STATIONARY_ORTH_WEIGHT",
    "VARIANCE_SCALE",
]

RESULTS: dict[str, Result] = {
    r.id: r
    for r in (
        Result(
            id="R1",
            name="orthogonal_invariance",
            statement="Training by any method whose update is a combination of loss gradients leaves "
            "Pi w_i unchanged, up to the weight-decay factor: Pi w_i(T) = (1 - eta*lam)^T Pi w_i(0) for GD "
            "and exp(-lam*t) Pi w_i(0) for gradient flow.",
            paper_claim=1,
            provenance=provenance("r1-orthogonal-invariance"),
            hypotheses=(
                "every training point x_j lies in the linear subspace P of dimension d - ell",
                "updates are linear combinations of loss gradients plus coupled L2 weight decay "
                "(GD, SGD, heavy-ball or Nesterov momentum, gradient flow)",
                "Adam (coordinate-wise) is covered only when P is axis-aligned",
            ),
            expressions={
                "decay_gd": C_T,
                "decay_flow": flow_decay_factor(),
                **{f"momentum_{key}": value for key, value in MOMENTUM_RECURRENCE.items()},
            },
        ),
        Result(
            id="R2",
            name="orthogonal_part_unseen",
            statement="The trajectory of (P w_i, u_i, b_i) and every activation pattern on P depend only on "
            "(P w(0), u(0), b(0)), the data and the batch order, so for isotropic Gaussian w_i(0) the part "
            "Pi w_i(0) is independent of the whole training outcome.",
            paper_claim=1,
            provenance=provenance("r2-training-never-sees-the-orthogonal-part"),
            hypotheses=(
                "the hypotheses of R1",
                "w_i(0) ~ N(0, ((beta s_w)^2/d) I_d) independent of u(0), b(0) and the batch order",
            ),
            expressions={
                "expected_orth_weight_norm_sq": HIDDEN_SCALE**2 * ell / d,  # E||Pi w_i(0)||^2
                "expected_data_weight_norm_sq": HIDDEN_SCALE**2 * (d - ell) / d,  # E||P w_i(0)||^2
            },
        ),
        Result(
            id="R3",
            name="orthogonal_gradient_law",
            statement="Given the training outcome, g = Pi grad_x N(x0) ~ N(0, (c_T^2 (beta s_w)^2 S / d) "
            "Pi), so Q = d ||g||^2 / (c_T^2 (beta s_w)^2 S) is exactly chi-square with ell degrees of "
            "freedom.",
            paper_claim=1,
            provenance=provenance("r3-exact-law-of-the-orthogonal-gradient"),
            hypotheses=(
                "the hypotheses of R2",
                "x0 lies in P and is chosen independently of Pi w(0); S = sum_{i active at x0} u_i(T)^2 > 0",
            ),
            expressions={
                "variance_scale": VARIANCE_SCALE,
                "expected_orth_grad_norm_sq": EXPECTED_ORTH_GRAD_NORM_SQ,
                "expected_orth_grad_norm": sp.sqrt(VARIANCE_SCALE) * chi_square.CHI_MEAN,
                "chi_square_statistic": CHI_SQUARE_STATISTIC,
                "degrees_of_freedom": DEGREES_OF_FREEDOM,
                "chi_square_mean": chi_square.MEAN,
                "chi_square_variance": chi_square.VARIANCE,
                "chi_square_cdf": chi_square.CDF,
                "chi_square_survival": chi_square.SURVIVAL,
                "chi_square_density": chi_square.DENSITY,
                "chi_mean": chi_square.CHI_MEAN,
                "output_mass_fixed_output": S_FIXED_OUTPUT,
                "output_mass_mean_field_output": S_MEAN_FIELD_OUTPUT,
            },
        ),
        Result(
            id="R4",
            name="large_orthogonal_gradient",
            statement="With probability at least 1 - e^{-ell/16}, ||g|| >= |c_T| beta s_w sqrt(S ell / "
            "(2d)); for standard initialization and a fixed output layer ||g|| >= sqrt(k ell / (2 m d)).",
            paper_claim=1,
            provenance=provenance("r4-large-orthogonal-gradient-with-high-probability")
            + "; the e^{-ell/16} constant is our reconstruction of the paper's",
            hypotheses=("the hypotheses of R3",),
            expressions={
                "orth_grad_lower_bound": ORTH_GRAD_LOWER_BOUND,
                "orth_grad_lower_bound_standard": ORTH_GRAD_LOWER_BOUND_STANDARD,
                "failure_probability_bound": chi_square.HALF_MEAN_TAIL_BOUND,
                "failure_probability_chernoff": chi_square.HALF_MEAN_CHERNOFF,
                "failure_probability_exact": chi_square.HALF_MEAN_EXACT,
                "success_probability_exact": chi_square.HALF_MEAN_EXACT_COMPLEMENT,
                "lower_tail_threshold": chi_square.LOWER_TAIL_THRESHOLD,
                "upper_tail_threshold": chi_square.UPPER_TAIL_THRESHOLD,
                "tail_parameter": chi_square.HALF_MEAN_X,
                "event_threshold": R4_THRESHOLD,
            },
        ),
        Result(
            id="R5",
            name="orthogonal_flip",
            statement="Along v = -sign(N(x0)) g/||g|| the output falls at rate ||g|| until the first "
            "breakpoint, so the label flips at t* = |N(x0)|/||g|| if that comes first; on R4's event "
            "t* <= |N(x0)| sqrt(2d / (c_T^2 (beta s_w)^2 S ell)).",
            paper_claim=2,
            provenance=provenance("r5-a-small-orthogonal-perturbation-flips-the-label"),
            hypotheses=(
                "the hypotheses of R4",
                "t* is below the first breakpoint -h_i/<w_i, v> > 0 of f(t) = N(x0 + t v) "
                "(otherwise the exact first zero of f is found by walking the breakpoints)",
            ),
            expressions={
                "flip_distance": sp.Abs(N0) / g_norm,
                "flip_distance_bound": sp.Abs(N0) / ORTH_GRAD_LOWER_BOUND,
                "flip_distance_bound_standard": sp.Abs(N0) / ORTH_GRAD_LOWER_BOUND_STANDARD,
            },
        ),
        Result(
            id="R6",
            name="certified_orthogonal_radius",
            statement="For z in P^perp, |N(x0 + z) - N(x0)| <= ||z|| L with L = |c_T| sum_i |u_i| ||Pi "
            "w_i(0)||, so no orthogonal perturbation shorter than |N(x0)|/L flips the label, and |N(x0)|/L "
            "<= r_perp(x0) <= the flip distance along v.",
            paper_claim=2,
            provenance=provenance("r6-certified-orthogonal-radius-our-addition", kind="our addition"),
            hypotheses=(
                "the hypotheses of R1 (for the form of L); the Lipschitz bound itself holds for any "
                "two-layer ReLU network",
                "the expected L assumes a fixed output layer |u_i| = s_u/sqrt(m) and Gaussian w_i(0)",
            ),
            expressions={
                "certified_radius": sp.Abs(N0) / L,
                "expected_lipschitz": EXPECTED_LIPSCHITZ,
                "certified_radius_at_expected_lipschitz": CERTIFIED_RADIUS_AT_EXPECTED_LIPSCHITZ,
            },
        ),
        Result(
            id="R7",
            name="small_initialization",
            statement="Scaling the hidden initialization by beta scales ||g||/sqrt(S) (exactly, in "
            "distribution) and L by beta, so Q stays chi-square(ell) and the certified radius grows like "
            "1/beta.",
            paper_claim=3,
            provenance=provenance("r7-small-initialization"),
            hypotheses=(
                "the hypotheses of R3",
                "S depends on training, so only quantities at fixed S (or divided by sqrt(S)) scale exactly",
            ),
            expressions={
                "orth_grad_over_sqrt_S": ORTH_GRAD_NORM / sp.sqrt(S),
                "exponent_beta": log_log_slope(ORTH_GRAD_NORM / sp.sqrt(S), beta),
                "exponent_ell_over_d": log_log_slope(RMS_ORTH_GRAD.subs(ell, ELL_OVER_D * d), ELL_OVER_D),
                "exponent_width_sqrt": log_log_slope(
                    RMS_ORTH_GRAD.subs(S, S_FIXED_OUTPUT).subs(k, kappa * m), m
                ),
                "exponent_width_mean_field": log_log_slope(
                    RMS_ORTH_GRAD.subs(S, S_MEAN_FIELD_OUTPUT).subs(k, kappa * m), m
                ),
                "exponent_certified_radius_beta": log_log_slope(CERTIFIED_RADIUS_AT_EXPECTED_LIPSCHITZ, beta),
            },
        ),
        Result(
            id="R8",
            name="l2_regularization",
            statement="Weight decay shrinks g and L by c_T = (1 - eta*lam)^T, which tends to 0 when "
            "|1 - eta*lam| < 1, and at every stationary point of the regularized objective (lam > 0) "
            "Pi w_i = 0, so N(x0 + z) = N(x0) for every z in P^perp.",
            paper_claim=3,
            provenance=provenance("r8-l2-regularization"),
            hypotheses=(
                "the hypotheses of R1",
                "0 < eta*lam < 2 (so |1 - eta*lam| < 1) for the limit; lam > 0 for the stationary points",
            ),
            expressions={
                "decay_gd": C_T,
                "decay_flow": flow_decay_factor(),
                "decay_limit": DECAY_LIMIT,
                "stationary_orth_weight": STATIONARY_ORTH_WEIGHT,
            },
        ),
        *BEYOND_PAPER,
    )
}


def get(result_id: str) -> Result:
    """The result called `result_id` ("R1".."R8", "R1a", "R3d")."""
    try:
        return RESULTS[result_id]
    except KeyError:
        raise KeyError(f"no result {result_id!r}; known: {', '.join(RESULTS)}") from None


def momentum_decay(result_id: str, values: Mapping[str, Any], steps: int) -> list[mpmath.mpf]:
    """c_0..c_steps under heavy-ball momentum, from the recurrence `momentum_a1`, `momentum_a2`,
    `momentum_first` of `result_id` (R1) at exact `values` (eta, lam, mu)."""
    result = get(result_id)
    recurrence = {key: result.expressions[f"momentum_{key}"] for key in ("a1", "a2", "first")}
    exact = {key: to_exact(value, key) for key, value in values.items()}
    return momentum_decay_factors(recurrence, exact, steps)


def chi_square_law(result_id: str, values: Mapping[str, Any]) -> chi_square.ChiSquareLaw:
    """The chi-square law that `result_id` (R3, R3d) predicts for Q: its `degrees_of_freedom` at `values`.

    Raises ValueError when the degrees of freedom at `values` are not a positive integer.
    """
    dof = get(result_id).predict(values, digits=30, names=["degrees_of_freedom"])["degrees_of_freedom"]
    if not (dof >= 1 and mpmath.isint(dof)):
        raise ValueError(
            f"{result_id}.degrees_of_freedom = {dof} at {dict(values)}: expected an integer >= 1"
        )
    return chi_square.ChiSquareLaw(int(dof))


@contextmanager
def replaced(
    result_id: str | None = None,
    *,
    transform: Callable[[sp.Expr], sp.Expr] | None = None,
    **expressions: sp.Expr | int,
) -> Iterator[None]:
    """Run the enclosed code under a deliberately wrong theory; the registry is restored on exit.

    `replaced("R3", degrees_of_freedom=ell + 1)` replaces expressions of one result by name;
    `replaced(transform=f)` applies f to every expression of every result (for example a decay factor
    off by one step in all of them at once). Both may be combined. The one mechanism by which the tests
    feed a wrong prediction to any check; production code never calls it.
    """
    saved = dict(RESULTS)
    try:
        if expressions:
            if result_id is None:
                raise TypeError("expressions need a result id: replaced('R3', degrees_of_freedom=...)")
            result = get(result_id)
            for name in expressions:
                result.expression(name)  # KeyError naming the expression if it does not exist
            RESULTS[result_id] = replace(result, expressions={**result.expressions, **expressions})
        if transform is not None:
            for key, result in list(RESULTS.items()):
                changed = {name: transform(sp.sympify(e)) for name, e in result.expressions.items()}
                RESULTS[key] = replace(result, expressions=changed)
        yield
    finally:
        RESULTS.clear()
        RESULTS.update(saved)
