"""R6: L = sum_i |u_i| ||Pi w_i|| bounds the orthogonal Lipschitz constant, so |N(x0)|/L is a certified
orthogonal radius: no orthogonal perturbation shorter than it flips the label.

Two claims, on the R5 populations (one per ell) and the small populations of R6.exact:
- R6.identity: the certificate the numerics compute (`numerics.attacks.certified_orthogonal_radius`)
  equals theory's `R6.certified_radius` = |N(x0)|/L evaluated at the measured N(x0) and L, to float64
  rounding (both are one rounded division of the same two numbers), on every point.
- R6.sandwich: on every point, theory's certified radius (at the measured N(x0), L) and the tighter
  certificate of `numerics.certificates` (which uses the neurons whose activation provably stays fixed in
  the ball) are <= the exact radius r_perp(x0) where it is computed <= the radius of every orthogonal flip
  found (the best-of attack, and the flip along the orthogonal gradient where measured).

Rule (exact). Theory's radius above a flip (or above r_perp) fails the claim: the prediction is wrong. A
violation between two numerical routes (the tight certificate above a flip or above r_perp, r_perp above a
flip) raises SandwichViolation: a bug in one of them, never a statistic, reported as an internal error
(exit 3). Allowances: float64 rounding (SANDWICH_RTOL) against flips, SCIP's EXACT_RTOL against r_perp.
The table and the figure show how tight the sandwich is: each lower end over the attack radius, per point.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from numerics.attacks import check_sandwich
from numerics.exact_radius import EXACT_RTOL
from verify import figures
from verify.checks.r5_flip import SECTION, attacked_populations
from verify.checks.r6_exact import certified_radius, exact_populations, max_ratio
from verify.claim import Column, Outcome, RuleContext, claim, table
from verify.experiments import Request
from verify.experiments.population import PopulationMeasurement
from verify.tolerance import compare, float64_rounding_budget, threshold

#: check_sandwich's allowance for float64 rounding of both sides (its docstring derives it).
SANDWICH_RTOL = 1e-9
#: R6.identity: the measured and the predicted radius are each one rounded division |N(x0)| / L of the
#: same two float64 numbers (and an exact absolute value), so they differ by at most gamma_2 relative.
IDENTITY_RTOL = float64_rounding_budget(2)
#: The flip radii every lower end is held against, where measured.
FLIPS = ("attack", "gradient flip")


def populations(profile: str) -> dict[str, Request]:
    """The R5 populations (one per ell) and the small populations where r_perp is computed exactly."""
    return {**attacked_populations(profile), **exact_populations(profile)}


def _label(pop: PopulationMeasurement) -> str:
    return f"d={pop.d}, ell={pop.ell}, m={pop.spec.m}"


def sandwich_radii(pop: PopulationMeasurement) -> dict[str, np.ndarray]:
    """At the first x0 of each measured run: theory's certified radius ("R6"), the tight certificate, the
    flip radii, r_perp where SCIP solved it (NaN elsewhere) and ||x0||, (runs measured,)."""
    assert pop.gradient is not None and pop.tight_certified is not None
    m = pop.measured
    out = {
        "R6": certified_radius(pop),
        "tight": pop.tight_certified[m, 0],
        "attack": pop.radii["orthogonal"][m, 0],
        "x0": pop.gradient.x0_norm[m, 0],
    }
    if pop.flip is not None:
        out["gradient flip"] = pop.flip.distance[m, 0]
    if pop.exact is not None:
        out["exact"] = np.where(pop.exact.optimal[m, 0], pop.exact.lower[m, 0], np.nan)
    return out


@claim(
    "R6.identity",
    title="measured certificate = R6's |N(x0)|/L",
    statement="The certified orthogonal radius the numerics measure equals R6's certified_radius |N(x0)|/L "
    "evaluated at the measured N(x0) and L = sum_i |u_i| ||Pi w_i||, to float64 rounding, on every point.",
    results=("R6",),
    section=SECTION,
    needs=populations,
)
def identity(ctx: RuleContext, pops: Mapping[str, PopulationMeasurement]) -> Outcome:
    verdicts, rows = [], []
    for pop in pops.values():
        assert pop.gradient is not None and pop.certified is not None and pop.lipschitz is not None
        m = pop.measured
        measured, predicted = pop.certified[m, 0], certified_radius(pop)
        what = f"{_label(pop)}: certified = R6.certified_radius"
        comparison = compare(measured, predicted, rtol=IDENTITY_RTOL, what=what)
        verdicts.append(comparison)
        x0 = pop.gradient.x0_norm[m, 0]
        rows.append((pop.d, pop.ell, pop.spec.m, measured.size, float(np.median(pop.lipschitz[m])), float(np.median(measured / x0)), comparison.max_rel_error))  # fmt: skip
    columns = [("d", "d"), ("ell", "d"), ("m", "d"), ("points", "d"), ("median L", ".4g"),
               ("median certified/||x0||", ".4g"), ("max rel error", ".1e")]  # fmt: skip
    return Outcome(
        verdicts=tuple(verdicts),
        prediction="R6.certified_radius = |N(x0)|/L at the measured N(x0) and L",
        method="N(x0) is a forward pass at x0 and L = sum_i |u_i| ||Pi w_i|| is computed from the trained weights "
        "(numerics.measure.orthogonal_lipschitz); the certificate (numerics.attacks.certified_orthogonal_radius) "
        "must equal theory's expression evaluated at them, within gamma_2 relative (one rounded division each).",
        tables=(table("R6's certified radius against theory's expression", columns, rows),),
    )


def worst_ratios(r: dict[str, np.ndarray]) -> dict[str, float]:
    """The largest ratio of each lower end to each upper end of the sandwich, over the points where the
    upper end is known. Between two numerical routes check_sandwich raises SandwichViolation past its
    allowance; theory's radius is only measured (its verdict is the claim's)."""
    flips = [key for key in FLIPS if key in r]
    worst = {"R6/flip": 0.0, "tight/flip": 0.0, "R6/exact": 0.0, "tight/exact and exact/attack": 0.0}
    for high in flips:
        found = np.isfinite(r[high])
        worst["R6/flip"] = max(worst["R6/flip"], max_ratio(r["R6"][found], r[high][found]))
        ratio = check_sandwich(
            torch.from_numpy(r["tight"][found]), torch.from_numpy(r[high][found]), rtol=SANDWICH_RTOL
        )
        worst["tight/flip"] = max(worst["tight/flip"], ratio)
    if "exact" in r:
        solved = np.isfinite(r["exact"]) & np.isfinite(r["attack"])
        exact = torch.from_numpy(r["exact"][solved])
        worst["R6/exact"] = max_ratio(r["R6"][solved], r["exact"][solved])
        below = check_sandwich(torch.from_numpy(r["tight"][solved]), exact, rtol=EXACT_RTOL)
        above = check_sandwich(exact, torch.from_numpy(r["attack"][solved]), rtol=EXACT_RTOL)
        worst["tight/exact and exact/attack"] = max(below, above)
    return worst


def _median(x: np.ndarray) -> float | None:
    return float(np.median(x)) if x.size else None


def _ratio_row(pop: PopulationMeasurement, r: dict[str, np.ndarray]) -> tuple:
    """Per population: points, tight/attack (median, 1st percentile, min), R6/attack (median, max), and
    r_perp/attack where computed."""
    found = np.isfinite(r["attack"])
    tight, global_ = r["tight"][found] / r["attack"][found], r["R6"][found] / r["attack"][found]
    exact = r["exact"][found] / r["attack"][found] if "exact" in r else np.array([])
    exact = exact[np.isfinite(exact)]
    return (
        _label(pop), int(found.sum()), _median(tight), float(np.percentile(tight, 1)) if tight.size else None,
        float(tight.min()) if tight.size else None, _median(global_), float(global_.max()) if global_.size else None,
        int(exact.size), _median(exact),
    )  # fmt: skip


def _figure(ctx: RuleContext, pops: Mapping[str, PopulationMeasurement]) -> str:
    """Per population, the distribution over points of each lower end relative to the attack radius."""
    fig, axes = figures.new(len(pops), width=2.6, height=3.2)
    for ax, pop in zip(axes[0], pops.values(), strict=True):
        r = sandwich_radii(pop)
        found = np.isfinite(r["attack"])
        keys = ["R6", "tight"] + (["exact"] if "exact" in r else [])
        names = {"R6": "|N|/L", "tight": "tight", "exact": "exact"}
        values = [r[key][found] / r["attack"][found] for key in keys]
        ax.boxplot([v[np.isfinite(v)] for v in values], showfliers=False)
        ax.set_xticks(range(1, len(keys) + 1), [names[key] for key in keys], fontsize=7)
        ax.set_ylim(0, 1.05)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_title(_label(pop), fontsize=8)
        ax.set_ylabel("radius / attack radius")
    return figures.save(fig, ctx.figure_path("R6_sandwich.png"))


@claim(
    "R6.sandwich",
    title="certified <= r_perp <= every orthogonal flip",
    statement="R6's certified radius |N(x0)|/L and the tight certificate never exceed the exact orthogonal radius "
    "r_perp(x0) where it is computed, which never exceeds the radius of any orthogonal flip found, on every point.",
    results=("R6",),
    section=SECTION,
    needs=populations,
)
def sandwich(ctx: RuleContext, pops: Mapping[str, PopulationMeasurement]) -> Outcome:
    rows, points, exact_points = [], 0, 0
    worst: dict[str, float] = {}
    for pop in pops.values():
        r = sandwich_radii(pop)
        for key, ratio in worst_ratios(r).items():
            worst[key] = max(worst.get(key, 0.0), ratio)
        points += int(np.isfinite(r["attack"]).sum())
        exact_points += int(np.isfinite(r["exact"]).sum()) if "exact" in r else 0
        rows.append(_ratio_row(pop, r))
    columns: list[Column | tuple[str, str] | str] = ["population", ("points", "d"), ("median tight/attack", ".4f"), ("p1 tight/attack", ".4f"),
               ("min tight/attack", ".4f"), ("median R6/attack", ".4f"), ("max R6/attack", ".4f"),
               ("exact points", "d"), ("median exact/attack", ".6f")]  # fmt: skip
    return Outcome(
        verdicts=(
            threshold("max R6 certified/flip radius", worst["R6/flip"], "<=", 1 + SANDWICH_RTOL, n=points),
            threshold(
                "max tight certified/flip radius", worst["tight/flip"], "<=", 1 + SANDWICH_RTOL, n=points
            ),
            threshold("max R6 certified/exact", worst["R6/exact"], "<=", 1 + EXACT_RTOL, n=exact_points),
            threshold(
                "max tight/exact and exact/attack",
                worst["tight/exact and exact/attack"],
                "<=",
                1 + EXACT_RTOL,
                n=exact_points,
            ),
        ),  # fmt: skip
        prediction="R6.certified_radius = |N(x0)|/L (at the measured N(x0), L) <= r_perp(x0) <= the radius of every "
        "orthogonal flip found; the tight certificate is a proof too, so it obeys the same sandwich",
        method="Attack radii are the best of DeepFool, DDN and FMN with seeded restarts, polished by region QPs and "
        "verified by a forward pass (numerics.minimal_flip), and the flip along the orthogonal gradient (R5). The "
        "tight certificate (numerics.certificates) is computed without the attack radius, so nothing ties it to the "
        "flips. r_perp is SCIP's closed minimum on the small populations of R6.exact. Theory's radius above an upper "
        "end fails the claim; a violation between two numerical routes raises SandwichViolation (an internal error, "
        f"exit 3). Allowances: float64 rounding ({SANDWICH_RTOL:g}) against flips, SCIP's tolerance ({EXACT_RTOL:g}) "
        "against r_perp.",
        tables=(table("The sandwich: lower ends relative to the attack radius", columns, rows),),
        figures=(_figure(ctx, pops),),
    )
