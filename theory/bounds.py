"""Every bound of the theory at one point (d, ell, m, k, ...), to a chosen number of digits.

The numbers come from the expressions of theory/results.py (R3-R6), evaluated from exact inputs by
theory/precision.py. The setting is the one the numerics simulate (numerics/model.py, `InitConfig`):
- hidden weights w_i(0) ~ N(0, (s_w * init_scale)^2 / d I_d): `init_scale` is the "small initialization"
  multiplier beta of the hidden layer only, so every gradient bound is linear in it;
- a fixed output layer |u_i| = s_u / sqrt(m), hence S = s_u^2 k / m;
- "standard" is s_w = s_u = init_scale = 1, where the R4 bound is sqrt(k ell / (2 m d));
- weight decay: GD with step eta for `steps` steps gives c_T = (1 - eta*lam)^T, gradient flow for time
  `flow_time` gives exp(-lam*t); with neither, c_T = 1.
"""

from __future__ import annotations

import warnings
from typing import Any

import mpmath
import sympy as sp

from theory.parameters import ParameterError, validate
from theory.precision import Exact, evaluate, to_exact
from theory.results import S_FIXED_OUTPUT, get
from theory.symbols import k, m, s_u

__all__ = ["bounds_at", "describe", "DESCRIPTIONS", "outside_hypotheses", "renamed"]

#: key -> (result id, expression name) for the quantities every point gets, in output order.
_ALWAYS = (
    ("decay_factor", "R1", "decay_gd"),
    ("orth_grad_variance_scale", "R3", "variance_scale"),
    ("expected_orth_grad_norm_sq", "R3", "expected_orth_grad_norm_sq"),
    ("expected_orth_grad_norm", "R3", "expected_orth_grad_norm"),
    ("orth_grad_lower_bound", "R4", "orth_grad_lower_bound"),
    ("failure_probability_bound", "R4", "failure_probability_bound"),
    ("failure_probability_chernoff", "R4", "failure_probability_chernoff"),
    ("failure_probability_exact", "R4", "failure_probability_exact"),
    ("success_probability_exact", "R4", "success_probability_exact"),
    ("expected_lipschitz", "R6", "expected_lipschitz"),
)
#: key -> (result id, expression name, key of the denominator) for the quantities that need N(x0).
_WITH_OUTPUT = (
    ("flip_distance_bound", "R5", "flip_distance_bound", "orth_grad_lower_bound"),
    (
        "certified_radius_at_expected_lipschitz",
        "R6",
        "certified_radius_at_expected_lipschitz",
        "expected_lipschitz",
    ),
)

#: key -> what it means, with its expression (the third column of `python -m verify bounds`).
DESCRIPTIONS: dict[str, str] = {
    "output_mass": "S = s_u^2 k/m: output mass on the active set (fixed output layer)",
    "decay_factor": "c_T = (1 - eta*lam)^T (GD) or exp(-lam*t) (flow): factor on Pi w_i (R1)",
    "orth_grad_variance_scale": "c_T^2 s_w^2 S/d: variance of each coordinate of g in P^perp (R3)",
    "expected_orth_grad_norm_sq": "E||g||^2 = c_T^2 s_w^2 S ell/d (R3)",
    "expected_orth_grad_norm": "E||g|| = |c_T| s_w sqrt(S/d) sqrt(2) Gamma((ell+1)/2)/Gamma(ell/2) (R3)",
    "orth_grad_lower_bound": "|c_T| s_w sqrt(S ell/(2d)): ||g|| is above it w.p. >= 1 - exp(-ell/16) (R4)",
    "failure_probability_bound": "exp(-ell/16): Laurent-Massart bound on P(chi2_ell <= ell/2) (R4)",
    "failure_probability_chernoff": "(sqrt(e)/2)^(ell/2): Chernoff bound on P(chi2_ell <= ell/2) (R4)",
    "failure_probability_exact": "P(chi2_ell <= ell/2) = P(ell/2, ell/4), regularized gamma (R4)",
    "success_probability_exact": "P(chi2_ell > ell/2) = Q(ell/2, ell/4): probability of R4's event",
    "expected_lipschitz": "E L = |c_T| s_w s_u sqrt(m) E[chi_ell]/sqrt(d), L = sum_i |u_i| ||Pi w_i|| (R6)",
    "flip_distance_bound": "|N(x0)| sqrt(2d/(c_T^2 s_w^2 S ell)): t* = |N(x0)|/||g|| on R4's event (R5)",
    "certified_radius_at_expected_lipschitz": "|N(x0)|/E L: the certified radius |N(x0)|/L at L = E L (R6)",
}


def _integer(name: str, value: Any) -> Any:
    # Strings ("1000", "1e3") are read exactly; anything else goes to validate() as given, which
    # rejects a float such as 10.0 for an integer parameter.
    return to_exact(value, name) if isinstance(value, str) else value


def _real(name: str, value: Any) -> Exact | None:
    return None if value is None else to_exact(value, name)


def bounds_at(
    d: Any,
    ell: Any,
    m: Any,
    k: Any,
    *,
    beta: Any = None,
    s_w: Any = 1,
    s_u: Any = 1,
    lr: Any = None,
    weight_decay: Any = None,
    steps: Any = None,
    flow_time: Any = None,
    output_value: Any = None,
    digits: Any = 30,
    init_scale: Any = None,
    eta: Any = None,
    lam: Any = None,
) -> dict[str, mpmath.mpf]:
    """The theory's predictions at one point, each to `digits` significant digits.

    Args:
        d, ell, m, k: input dimension, codimension (ell < d), width, active neurons at x0 (k <= m).
        beta: multiplier of the hidden scale s_w (the paper's smaller initialization; default 1).
        s_w, s_u: hidden and output scales (w_i(0) ~ N(0, (s_w beta)^2/d I), |u_i| = s_u/sqrt(m)).
        lr, weight_decay, steps: GD with weight decay, c_T = (1 - eta*lam)^steps with eta = lr and
            lam = weight_decay (default 0): the names of the numerics, `verify at` and sweep specs.
        flow_time: gradient flow instead, c = exp(-lam*flow_time).
        init_scale, eta, lam: the former spellings of beta, lr and weight_decay, accepted with a
            FutureWarning naming the new one.
        output_value: N(x0); adds the flip-distance bound (R5) and the certified radius at E L (R6).
        digits: significant digits of every value.
    Reals may be ints, fractions or decimal strings ("0.1" is exactly 1/10); none goes through a float.

    Returns:
        An ordered dict of mpf values: output_mass, decay_factor, orth_grad_variance_scale,
        expected_orth_grad_norm_sq, expected_orth_grad_norm, orth_grad_lower_bound,
        failure_probability_bound, failure_probability_chernoff, failure_probability_exact,
        success_probability_exact, expected_lipschitz, and with output_value flip_distance_bound and
        certified_radius_at_expected_lipschitz (+inf where the denominator is 0 and N(x0) != 0).
        Raises ParameterError (naming the parameter) outside the accepted ranges.
    """
    beta = renamed("init_scale", init_scale, "beta", beta)
    lr = renamed("eta", eta, "lr", lr)
    weight_decay = renamed("lam", lam, "weight_decay", weight_decay)
    sizes = {"d": _integer("d", d), "ell": _integer("ell", ell), "m": _integer("m", m), "k": _integer("k", k)}
    steps, digits = _integer("steps", steps), _integer("digits", digits)
    scale = to_exact(1 if beta is None else beta, "beta")
    hidden, output = to_exact(s_w, "s_w"), to_exact(s_u, "s_u")
    eta_, lam_, time_ = _real("lr", lr), _real("weight_decay", weight_decay), _real("flow_time", flow_time)
    output_ = _real("output_value", output_value)
    validate(
        **sizes,
        steps=steps,
        digits=digits,
        beta=scale,
        s_w=hidden,
        s_u=output,
        lr=eta_,
        weight_decay=lam_,
        flow_time=time_,
        output_value=output_,
    )
    flow = _decay_mode(eta_, lam_, steps, time_)
    values: dict[str, Any] = {
        **sizes,
        "s_w": hidden,
        "beta": scale,
        "s_u": output,
        "S": _exact_output_mass(sizes["m"], sizes["k"], output),
        "lam": lam_ if lam_ is not None else 0,
        # Without decay any (eta, T) with lam = 0 gives c_T = 1; T = 0 keeps the power trivial.
        "eta": eta_ if eta_ is not None else 1,
        "T": steps if steps is not None else 0,
        "t": time_ if time_ is not None else 0,
    }
    if output_ is not None:
        values["N0"] = output_

    def value_of(result_id: str, name: str) -> mpmath.mpf:
        result = get(result_id)
        expr = result.flow_expression(name) if flow else result.expressions[name]
        return evaluate(expr, values, digits)

    out: dict[str, mpmath.mpf] = {"output_mass": evaluate(S_FIXED_OUTPUT, values, digits)}
    for key, result_id, name in _ALWAYS:
        out[key] = value_of(result_id, name)
    if output_ is not None:
        for key, result_id, name, denominator in _WITH_OUTPUT:
            if out[denominator] != 0:
                out[key] = value_of(result_id, name)
            else:  # no orthogonal gradient (k = 0 or c_T = 0): nothing orthogonal moves the output
                out[key] = mpmath.mpf(0) if output_ == 0 else mpmath.inf
    return out


def renamed(old: str, old_value: Any, new: str, value: Any) -> Any:
    """The value of a parameter given under its former name `old` or its name `new` (a FutureWarning
    names the new one; both at once is a ParameterError)."""
    if old_value is None:
        return value
    if value is not None:
        raise ParameterError(f"{old}={old_value!r} is invalid: it is {new}, given too; give {new} only")
    warnings.warn(f"{old} is now called {new}", FutureWarning, stacklevel=3)
    return old_value


def outside_hypotheses(lr: Any = None, weight_decay: Any = None) -> list[str]:
    """The hypotheses a point violates, one sentence each: GD with weight decay needs 0 <= eta*lam < 2
    (eta = lr, lam = weight_decay), so that |c_T| = |1 - eta*lam|^T <= 1 (R8); beyond it the "decay
    factor" grows with T."""
    if lr is None or weight_decay is None:
        return []
    product = to_exact(lr, "lr") * to_exact(weight_decay, "weight_decay")
    if product < 2:
        return []
    return [
        f"eta*lam = {product} is outside R8's hypothesis 0 <= eta*lam < 2: |1 - eta*lam| >= 1, so c_T does "
        "not decay and GD with this weight decay diverges; the values are the formulas at face value"
    ]


def _decay_mode(eta: Exact | None, lam: Exact | None, steps: int | None, flow_time: Exact | None) -> bool:
    """Whether the decay is gradient flow's; raise ParameterError for an incomplete or mixed choice."""
    if flow_time is not None:
        if eta is not None or steps is not None:
            raise ParameterError(
                f"flow_time={flow_time!r} is invalid: give flow_time (gradient flow) or lr and steps (GD)"
            )
        return True
    if (eta is None) != (steps is None):
        missing = "lr" if eta is None else "steps"
        raise ParameterError(f"{missing}=None is invalid: lr and steps (GD) must be given together")
    if lam is not None and eta is None:
        raise ParameterError(
            f"weight_decay={lam!r} is invalid: weight decay needs lr and steps (GD) or flow_time (gradient "
            f"flow)"
        )
    return False


def _exact_output_mass(m_value: int, k_value: int, s_u_value: Exact) -> Exact:
    """S = s_u^2 k/m, exactly."""
    return to_exact(S_FIXED_OUTPUT.subs({m: m_value, k: k_value, s_u: sp.Rational(s_u_value)}), "S")


def describe(key: str) -> str:
    """What the quantity `key` of `bounds_at` means, with its expression."""
    return DESCRIPTIONS[key]
