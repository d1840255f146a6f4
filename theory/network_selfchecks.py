"""The self-checks (d) and (f) of `theory.selfchecks`, on a symbolic two-neuron network on R^3 with data in
a plane: the loss gradient lies in span{x_j} (R1), and one GD step with weight decay multiplies the
orthogonal part of w_i by exactly (1 - eta*lam) (R1, R8). Each reads R1's decay factor from the registry
at call time, and an `orthogonal_leak` of the data must make it fail."""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.core.function import AppliedUndef

from theory.results import get
from theory.selfcheck_record import SelfCheck
from theory.symbols import T, eta, lam

__all__ = ["gradient_in_data_span", "weight_decay_step"]


@dataclass(frozen=True)
class _SymbolicNetwork:
    """N(x) = sum_i u_i sigma(<w_i, x> + b_i) on R^3, two neurons, two data points x_j = a_j p + c_j q."""

    weights: tuple[sp.Matrix, ...]  # w_1, w_2
    normal: sp.Matrix  # p x q, orthogonal to the data plane
    data_loss: sp.Expr  # (1/n) sum_j loss(y_j N(x_j)), loss and sigma undefined functions
    regularized_loss: sp.Expr  # data_loss + (lam/2) ||theta||^2


def _symbolic_network(orthogonal_leak: sp.Expr | int) -> _SymbolicNetwork:
    # An undefined activation sigma stands for the ReLU: its derivative plays the indicator 1[h > 0],
    # and the claim rests only on dL/dw_i being linear in the x_j, whatever sigma and the loss are.
    sigma, loss = sp.Function("sigma"), sp.Function("loss")
    p = sp.Matrix(sp.symbols("p1:4", real=True))
    q = sp.Matrix(sp.symbols("q1:4", real=True))
    normal = p.cross(q)
    coords = sp.symbols("a1:3 c1:3", real=True)
    points = [coords[j] * p + coords[2 + j] * q + orthogonal_leak * normal for j in range(2)]
    labels = sp.symbols("y1:3", real=True)
    weights = tuple(sp.Matrix(sp.symbols(f"w{i}_1:4", real=True)) for i in (1, 2))
    outputs, biases = sp.symbols("u1:3", real=True), sp.symbols("b1:3", real=True)

    def network(point: sp.Matrix) -> sp.Expr:
        return sum(outputs[i] * sigma(weights[i].dot(point) + biases[i]) for i in range(2))

    data_loss = sum(loss(labels[j] * network(points[j])) for j in range(2)) / 2
    norm_sq = sum(w.dot(w) for w in weights) + sum(v**2 for v in outputs) + sum(v**2 for v in biases)
    return _SymbolicNetwork(weights, normal, data_loss, data_loss + lam / 2 * norm_sq)


def _gradient(expr: sp.Expr, vector: sp.Matrix) -> sp.Matrix:
    return sp.Matrix([sp.diff(expr, v) for v in vector])


def _expand_polynomial_part(expr: sp.Expr) -> sp.Expr:
    """`expr` expanded with each value loss'(.) and sigma'(.) replaced by an opaque symbol D0, D1, ...

    Those values (the surrogates of 1[h > 0] and of the loss derivative) are the same objects in every
    term, so whether the rest cancels is a polynomial identity; keeping them opaque avoids expanding their
    long arguments and keeps a non-zero residual short enough to report.
    """
    applied = sorted(expr.atoms(sp.Subs, sp.Derivative, AppliedUndef), key=sp.default_sort_key)
    return sp.expand(expr.xreplace({a: sp.Symbol(f"D{i}") for i, a in enumerate(applied)}))


def gradient_in_data_span(orthogonal_leak: sp.Expr | int = 0) -> SelfCheck:
    """(d) <normal, dL/dw_i> = 0 for data in a plane of R^3: the loss gradient lies in span{x_j} (R1).

    `orthogonal_leak` moves every data point by that multiple of the normal (an affine or noisy data
    plane: data outside the hypothesis, not a wrong theory), which must make the check fail.
    """
    net = _symbolic_network(orthogonal_leak)
    components = [_expand_polynomial_part(net.normal.dot(_gradient(net.data_loss, w))) for w in net.weights]
    return SelfCheck(
        id="d",
        claim="dL/dw_i lies in span{x_j}: its component orthogonal to the data plane is identically 0",
        passed=all(c == 0 for c in components),
        detail="symbolic two-neuron network on R^3, data x_j = a_j p + c_j q, undefined activation and loss; "
        f"<p x q, dL/dw_i> expands to {components} (D0, D1, ... stand for the loss'(.) sigma'(.) values)",
        numbers={f"orthogonal_component_w{i + 1}": str(c) for i, c in enumerate(components)},
    )


def weight_decay_step(orthogonal_leak: sp.Expr | int = 0) -> SelfCheck:
    """(f) <n, w_i - eta dL_lam/dw_i> = c_1 <n, w_i> with c_1 R1's decay factor at T = 1 (1 - eta lam).

    Equivalently the orthogonal part of the stationarity equation dL_lam/dw_i = 0 is lam <n, w_i> = 0,
    so a stationary point with lam > 0 has <n, w_i> = 0 (R8).
    """
    one_step = get("R1").expressions["decay_gd"].subs(T, 1)
    net = _symbolic_network(orthogonal_leak)
    residuals = []
    for w in net.weights:
        after = net.normal.dot(w - eta * _gradient(net.regularized_loss, w))
        residuals.append(_expand_polynomial_part(after - one_step * net.normal.dot(w)))
    z, positive_lam = sp.Symbol("z", real=True), sp.Symbol("lam_positive", positive=True)
    stationary = sp.solve(sp.Eq(positive_lam * z, 0), z)
    return SelfCheck(
        id="f",
        claim="one GD step with weight decay multiplies the orthogonal part of w_i by (1 - eta*lam); "
        "at a stationary point with lam > 0 it is 0",
        passed=all(r == 0 for r in residuals) and stationary == [0],
        detail=f"<n, w_i - eta dL/dw_i> - ({one_step}) <n, w_i> expands to {residuals}; "
        f"lam z = 0 with lam > 0 gives z in {stationary}",
        numbers={
            **{f"residual_w{i + 1}": str(r) for i, r in enumerate(residuals)},
            "stationary_solutions": str(stationary),
        },
    )
