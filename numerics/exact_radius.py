"""The exact minimal flip radius within a subspace, by a mixed-integer quadratic programme solved with SCIP.

r_S(x0) = min{||z|| : z in S, sigma N(x0 + z) <= 0}, sigma = sign N(x0) (a z with N(x0 + z) = 0 already has
another sign; every strict flip found by an attack is in this closed set, so r_S <= any attack radius, and
every certified radius is <= r_S). In the coordinates c of `numerics.restricted` (||z|| = ||c||), with an
upper bound R_ub on r_S (an attack's radius, times 1 + 1e-6 so its flip is strictly inside), scale
c = R_ub c~, ||c~|| <= 1. On that ball the pre-activation p_i = h_i + R_ub <A_i, c~> lies in
[l_i, U_i] = [h_i - R_ub ||A_i||, h_i + R_ub ||A_i||], so (the standard big-M encoding, exact on the ball):

    stably active (l_i >= 0):  y_i = p_i;       stably off (U_i <= 0):  y_i = 0;
    otherwise, with a binary s_i:  y_i >= 0,  y_i >= p_i,  y_i <= p_i - l_i (1 - s_i),  y_i <= U_i s_i,

    minimize tau  subject to  tau >= sum_j c~_j^2 (SCIP takes the convex quadratic as a constraint on an
    auxiliary variable),  tau <= 1,  sum_i sigma u_i y_i <= 0.

Then r_S = R_ub sqrt(tau*). The attack's flip is handed to SCIP as a starting solution.

What is returned is an interval, never a bare number: `lower` = R_ub sqrt(SCIP's dual bound), and `radius`
= the exact first flip along the solver's optimal direction, re-measured in R^d by
`numerics.attacks.flip_along` (verified by a forward pass), so r_S lies in [lower, radius] up to SCIP's
tolerances (feasibility FEASTOL = 1e-7 on rows scaled to O(1) terms, so about 1e-7 of the radius;
relative gap 1e-9), and EXACT_RTOL = 1e-6 covers them (measured: radius / lower - 1 <= 3e-7).
`proven` is True only where SCIP reports "optimal" and radius <= lower (1 + EXACT_RTOL); anything else
(time limit, a zero touched but not crossed along the optimal direction, no upper bound, a solver error)
is flagged and must not be read as exact. "Not attained" marks the degenerate case where the closed
minimum is a point at which N only reaches 0 (a region where every neuron is off, common for small m
in low dimension): there r_S (sign 0 counts as another sign) is `lower`, but the first strict sign change
is farther, and `radius` only bounds it from above. Scaling: the rows of unstable neurons by max(U_i, -l_i),
the
output row by N' = |N(x0)|, so that SCIP's absolute tolerances act as relative ones.

SCIP settings: numerics/feastol 1e-7, limits/gap 1e-9, limits/absgap 0, limits/time `time_limit` seconds
per instance, one thread, constraints/nonlinear/tightenlpfeastol off, default everything else.
pyscipopt is imported lazily: `pip install -e ".[exact]"`.
Meant for small networks (m up to a few dozen, q up to ~10); the cost grows exponentially in the number of
unstable neurons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from numerics.attacks import flip_along
from numerics.measure import batch_points
from numerics.model import Network
from numerics.restricted import restrict
from numerics.subspace import Subspace
from theory.parameters import ParameterError

__all__ = ["exact_flip_radius", "EXACT_RTOL", "ExactRadius", "FEASTOL"]

#: Relative accuracy within which `lower` and `radius` bracket the exact radius when `proven` (SCIP's
#: feasibility tolerance FEASTOL on rows of O(1) terms moves the optimum by about FEASTOL relative).
EXACT_RTOL = 1e-6
FEASTOL = 1e-7  # SCIP's numerics/feastol (smaller asks SoPlex for tolerances it cannot meet without GMP)
_GAP = 1e-9
_INFLATE = 1e-6  # R_ub = (1 + _INFLATE) upper: the upper bound's own flip lies strictly inside the ball


@dataclass
class ExactRadius:
    """The exact orthogonal (or subspace) flip radius per run and point, as a proven interval."""

    radius: torch.Tensor  # (R, p) verified flip distance along the optimal direction (an upper bound)
    lower: torch.Tensor  # (R, p) R_ub sqrt(dual bound): nothing shorter flips (up to SCIP's tolerances)
    proven: torch.Tensor  # (R, p) bool: SCIP "optimal" and radius <= lower (1 + EXACT_RTOL)
    delta: torch.Tensor  # (R, p, d) the flip at `radius` (zeros where none was verified)
    status: list[list[str]]  # [R][p] SCIP's status, or why nothing was solved
    seconds: float  # total solver time


def _scip():
    try:
        import pyscipopt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError('exact_flip_radius needs pyscipopt: pip install -e ".[exact]"') from error
    return pyscipopt


def _solve(scip, h, A, u, sigma, R_ub, start, time_limit):
    """One MIQP (module docstring). h (m,), A (m, q), u (m,) as lists; start: c of a known flip or None.

    Returns (status, c or None, tau dual bound, seconds).
    """
    m, q = len(h), len(A[0])
    model = scip.Model()
    model.hideOutput()
    model.setParam("numerics/feastol", FEASTOL)
    model.setParam("limits/gap", _GAP)
    model.setParam("limits/absgap", 0.0)
    model.setParam("limits/time", float(time_limit))
    model.setParam("parallel/maxnthreads", 1)
    # The quadratic constraint's enforcement would tighten SoPlex's tolerance below what it supports
    # without GMP (it then prints a warning per LP and uses 1e-10 anyway).
    model.setParam("constraints/nonlinear/tightenlpfeastol", False)
    c = [model.addVar(lb=-1.0, ub=1.0, name=f"c{j}") for j in range(q)]
    tau = model.addVar(lb=0.0, ub=1.0, name="tau")
    model.addCons(tau >= scip.quicksum(x * x for x in c))
    norms = [math.sqrt(sum(a * a for a in row)) for row in A]
    f0 = abs(sum(ui * max(hi, 0.0) for ui, hi in zip(u, h, strict=True)))
    # Every row is scaled to O(1) terms, so SCIP's absolute feasibility tolerance is a relative one: the
    # neuron rows by max(U_i, -l_i), the output row by N' (a violation eps of it moves the radius by about
    # eps relative).
    terms, values, switches, scales = [], {}, {}, {}
    for i in range(m):
        low, up = h[i] - R_ub * norms[i], h[i] + R_ub * norms[i]
        if up <= 0:
            continue
        if low >= 0:
            pre = h[i] + scip.quicksum(R_ub * A[i][j] * c[j] for j in range(q))
            terms.append((sigma * u[i] / f0) * pre)
            continue
        scale = max(up, -low)
        pre = h[i] / scale + scip.quicksum((R_ub * A[i][j] / scale) * c[j] for j in range(q))
        y = model.addVar(lb=0.0, ub=up / scale, name=f"y{i}")  # y_i / scale
        s = model.addVar(vtype="B", name=f"s{i}")
        model.addCons(y >= pre)
        model.addCons(y <= pre - (low / scale) * (1 - s))
        model.addCons(y <= (up / scale) * s)
        terms.append((sigma * u[i] * scale / f0) * y)
        values[i], switches[i], scales[i] = y, s, scale
    model.addCons(scip.quicksum(terms) <= 0)
    model.setObjective(tau, "minimize")
    if start is not None:
        solution = model.createSol()
        for j in range(q):
            model.setSolVal(solution, c[j], start[j] / R_ub)
        model.setSolVal(solution, tau, min(1.0, sum(x * x for x in start) / R_ub**2))
        for i in values:
            p = h[i] + sum(A[i][j] * start[j] for j in range(q))
            model.setSolVal(solution, values[i], max(p, 0.0) / scales[i])
            model.setSolVal(solution, switches[i], 1.0 if p > 0 else 0.0)
        model.addSol(solution, free=True)  # rejected silently if SCIP finds it infeasible
    try:
        model.optimize()
    except Exception as error:  # SCIP aborts on unresolved LP troubles; the instance is flagged, not exact
        return f"error: {error}", None, 0.0, 0.0
    status = model.getStatus()
    point = None
    if model.getNSols() > 0:
        best = model.getBestSol()
        point = [R_ub * model.getSolVal(best, x) for x in c]
    return status, point, model.getDualbound(), model.getSolvingTime()


def exact_flip_radius(
    net: Network,
    X0: torch.Tensor,
    basis: torch.Tensor | None,
    upper: torch.Tensor,
    *,
    time_limit: float = 30.0,
    starts: torch.Tensor | None = None,
    data_subspace: Subspace | None = None,
) -> ExactRadius:
    """The exact flip radius within span(basis) (module docstring) for every run and point.

    Args:
        net: R networks (small: see the module docstring).
        X0: points (R, p, d) or (p, d).
        basis: orthonormal columns (d, q) or (R, d, q) of the allowed subspace, or its projector; None: R^d.
        upper: radii (R, p) of known flips within the subspace (an attack's norms); inf where none is known
            (those entries are not solved: status "no upper bound").
        time_limit: SCIP's time limit per instance, in seconds.
        starts: optional (R, p, d) perturbations achieving `upper` (an attack's deltas), given to SCIP as
            starting solutions.
        data_subspace: the data subspace P; if given, every x0 must lie in P (to rounding).
    Returns:
        ExactRadius.
    """
    scip = _scip()
    problem = restrict(net, X0, basis, data_subspace=data_subspace)
    R, p, m = problem.H.shape
    if upper.shape != (R, p):
        raise ParameterError(f"upper of shape {tuple(upper.shape)} is invalid: expected ({R}, {p})")
    if bool(torch.isnan(upper).any()) or bool((upper < 0).any()):
        raise ParameterError("upper is invalid: expected nonnegative radii (inf where no flip is known)")
    if not (isinstance(time_limit, int | float) and math.isfinite(time_limit) and time_limit > 0):
        raise ParameterError(f"time_limit={time_limit!r} is invalid: expected a finite real > 0")
    q = problem.A.shape[-1]
    start_c = None
    if starts is not None:
        if starts.shape != (R, p, net.dim):
            raise ParameterError(
                f"starts of shape {tuple(starts.shape)} is invalid: expected ({R}, {p}, {net.dim})"
            )
        # Coordinates of the start: the least-squares c with A c = W delta (exact when delta is in the
        # subspace).
        target = torch.bmm(starts, net.W.transpose(1, 2))  # (R, p, m) = <w_i, delta>
        start_c = torch.linalg.lstsq(problem.A.unsqueeze(1).expand(R, p, m, q), target.unsqueeze(-1)).solution
        start_c = start_c.squeeze(-1)
    H, A, u, sigma = problem.H.tolist(), problem.A.tolist(), problem.u.tolist(), problem.sigma.tolist()
    points = torch.zeros(R, p, q, dtype=problem.A.dtype)
    lower = torch.zeros(R, p, dtype=problem.A.dtype)
    solved = torch.zeros(R, p, dtype=torch.bool)
    optimal = torch.zeros(R, p, dtype=torch.bool)
    status = [["" for _ in range(p)] for _ in range(R)]
    seconds = 0.0
    for r in range(R):
        for j in range(p):
            if sigma[r][j] == 0:
                status[r][j] = "N(x0) = 0"
                continue
            bound = float(upper[r, j])
            if not math.isfinite(bound):
                status[r][j] = "no upper bound"
                continue
            R_ub = bound * (1 + _INFLATE)
            start = None if start_c is None else start_c[r, j].tolist()
            stat, point, dual, took = _solve(scip, H[r][j], A[r], u[r], sigma[r][j], R_ub, start, time_limit)
            seconds += took
            status[r][j] = stat
            lower[r, j] = R_ub * math.sqrt(max(float(dual), 0.0)) if math.isfinite(dual) else 0.0
            if point is not None:
                points[r, j] = torch.tensor(point, dtype=points.dtype)
                solved[r, j] = True
            optimal[r, j] = stat == "optimal"
    points = points.to(problem.A.device)
    delta = problem.embed(points)
    X = batch_points(net, X0)
    line = flip_along(net, X, delta)  # the exact flip along the optimal direction, verified
    radius = torch.where(solved.to(delta.device) & line.success, line.norm, float("inf"))
    lower = lower.to(radius.device)
    proven = optimal.to(radius.device) & (radius <= lower * (1 + EXACT_RTOL))
    for r, j in (optimal.to(radius.device) & ~proven).nonzero().tolist():
        # The closed minimum (where N = 0 already counts) is not where N crosses: N reaches 0 there and
        # stays (every neuron off) or turns back, so the strict flip radius is larger; [lower, radius] is
        # then only an interval for it.
        status[r][j] = "optimal, not attained: N touches 0 first"
    delta = torch.where((solved.to(delta.device) & line.success).unsqueeze(-1), line.delta, 0.0)
    return ExactRadius(radius, lower, proven, delta, status, seconds)
