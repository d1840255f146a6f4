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
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from numerics.attacks import check_sandwich
from numerics.exact_radius import EXACT_RTOL
from verify import figures
from verify.checks.r5_flip import SECTION, attacked_populations
from verify.checks.r6_exact import certified_radius, exact_populations, max_ratio
from verify.claim import Outcome, RuleContext, claim
from verify.experiments import Request
from verify.experiments.population import PopulationMeasurement
from verify.per_cell import Headline, PerCell, column, hidden, record_table
from verify.tolerance import compare, float64_rounding_budget, threshold

__all__ = [
    "decide_identity",
    "decide_sandwich",
    "FLIPS",
    "identity",
    "identity_headline",
    "IDENTITY_RTOL",
    "IdentityRecord",
    "measure_identity",
    "measure_sandwich",
    "populations",
    "sandwich",
    "sandwich_headline",
    "sandwich_radii",
    "SANDWICH_RTOL",
    "SandwichRecord",
    "worst_ratios",
]

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


@dataclass(frozen=True)
class IdentityRecord:
    """One population's measured certificate against R6's |N(x0)|/L at the measured N(x0) and L."""

    d: int = column("d")
    ell: int = column("d")
    m: int = column("d")
    points: int = column("d")
    median_L: float = column(".4g", "median L")
    median_certified: float = column(".4g", "median certified/||x0||")
    label: str = hidden()
    measured: np.ndarray = hidden()
    predicted: np.ndarray = hidden()


def measure_identity(pop: PopulationMeasurement) -> IdentityRecord:
    """The certificate the numerics computed and theory's expression at the same N(x0) and L."""
    assert pop.gradient is not None and pop.certified is not None and pop.lipschitz is not None
    m = pop.measured
    measured, predicted = pop.certified[m, 0], certified_radius(pop)
    x0 = pop.gradient.x0_norm[m, 0]
    return IdentityRecord(
        d=pop.d,
        ell=pop.ell,
        m=pop.spec.m,
        points=measured.size,
        median_L=float(np.median(pop.lipschitz[m])),
        median_certified=float(np.median(measured / x0)),
        label=_label(pop),
        measured=measured,
        predicted=predicted,
    )


def decide_identity(records, alpha=None) -> tuple[Any, ...]:
    """Per population: measured = predicted within gamma_2 relative, on every point (exact)."""
    return tuple(
        compare(
            r.measured, r.predicted, rtol=IDENTITY_RTOL, what=f"{r.label}: certified = R6.certified_radius"
        )
        for r in records.values()
    )


def identity_headline(r: IdentityRecord) -> Headline:
    worst = float(np.max(np.abs(r.measured - r.predicted) / np.abs(r.predicted))) if r.points else 0.0
    return Headline(0.0, worst, {})


@claim(
    "R6.identity",
    title="measured certificate = R6's |N(x0)|/L",
    statement="The certified orthogonal radius the numerics measure equals R6's certified_radius |N(x0)|/L "
    "evaluated at the measured N(x0) and L = sum_i |u_i| ||Pi w_i||, to float64 rounding, on every point.",
    results=("R6",),
    section=SECTION,
    needs=populations,
    cell=PerCell(
        measure_identity,
        decide_identity,
        tests=0,
        measurements=("gradient", "attacks", "certificate"),
        quantity="relative error of the measured certificate against R6.certified_radius",
        headline=identity_headline,
        data_in_p=False,
    ),  # fmt: skip
)
def identity(ctx: RuleContext, pops: Mapping[str, PopulationMeasurement]) -> Outcome:
    records = {key: measure_identity(pop) for key, pop in pops.items()}
    verdicts = decide_identity(records)
    errors = {key: {"max rel error": v.max_rel_error} for key, v in zip(records, verdicts, strict=True)}
    return Outcome(
        verdicts=verdicts,
        prediction="R6.certified_radius = |N(x0)|/L at the measured N(x0) and L",
        method="N(x0) is a forward pass at x0 and L = sum_i |u_i| ||Pi w_i|| is computed from the trained "
        "weights (numerics.measure.orthogonal_lipschitz); the certificate "
        "(numerics.attacks.certified_orthogonal_radius) must equal theory's expression evaluated at them, "
        "within gamma_2 relative (one rounded division each).",
        tables=(
            record_table(
                "R6's certified radius against theory's expression",
                records,
                label=None,
                more=errors,
                extra=(("max rel error", ".1e"),),
            ),
        ),  # fmt: skip
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


@dataclass(frozen=True)
class SandwichRecord:
    """One population's sandwich: each lower end over the attack radius, and the worst ratios."""

    population: str = column()
    points: int = column("d")
    median_tight: float | None = column(".4f", "median tight/attack")
    p1_tight: float | None = column(".4f", "p1 tight/attack")
    min_tight: float | None = column(".4f", "min tight/attack")
    median_R6: float | None = column(".4f", "median R6/attack")
    max_R6: float | None = column(".4f", "max R6/attack")
    exact_points: int = column("d", "exact points")
    median_exact: float | None = column(".6f", "median exact/attack")
    worst: dict = hidden()


def measure_sandwich(pop: PopulationMeasurement) -> SandwichRecord:
    """The radii of the sandwich at every point; SandwichViolation (an internal error) where two numerical
    routes disagree past their allowance."""
    r = sandwich_radii(pop)
    worst = worst_ratios(r)
    found = np.isfinite(r["attack"])
    tight, global_ = r["tight"][found] / r["attack"][found], r["R6"][found] / r["attack"][found]
    exact = r["exact"][found] / r["attack"][found] if "exact" in r else np.array([])
    exact = exact[np.isfinite(exact)]
    return SandwichRecord(
        population=_label(pop), points=int(found.sum()), median_tight=_median(tight),
        p1_tight=float(np.percentile(tight, 1)) if tight.size else None,
        min_tight=float(tight.min()) if tight.size else None, median_R6=_median(global_),
        max_R6=float(global_.max()) if global_.size else None,
        exact_points=int(np.isfinite(r["exact"]).sum()) if "exact" in r else 0, median_exact=_median(exact),
        worst=worst,
    )  # fmt: skip


def decide_sandwich(records, alpha=None) -> tuple[Any, ...]:
    """Theory's certificate and the tight one below every flip found (float64 rounding) and below r_perp
    where SCIP computed it (its tolerance), over every point of every population (exact)."""
    worst: dict[str, float] = {}
    for r in records.values():
        for key, ratio in r.worst.items():
            worst[key] = max(worst.get(key, 0.0), ratio)
    points = sum(r.points for r in records.values())
    exact_points = sum(r.exact_points for r in records.values())
    return (
        threshold("max R6 certified/flip radius", worst["R6/flip"], "<=", 1 + SANDWICH_RTOL, n=points),
        threshold("max tight certified/flip radius", worst["tight/flip"], "<=", 1 + SANDWICH_RTOL, n=points),
        threshold("max R6 certified/exact", worst["R6/exact"], "<=", 1 + EXACT_RTOL, n=exact_points),
        threshold(
            "max tight/exact and exact/attack", worst["tight/exact and exact/attack"], "<=", 1 + EXACT_RTOL,
            n=exact_points,
        ),
    )  # fmt: skip


def sandwich_headline(r: SandwichRecord) -> Headline:
    highest = max(r.worst["R6/flip"], r.worst["tight/flip"])
    tightness = {"tightness": r.median_tight, "tightness_global": r.median_R6}
    return Headline(1.0, highest, {k: v for k, v in tightness.items() if v is not None})


@claim(
    "R6.sandwich",
    title="certified <= r_perp <= every orthogonal flip",
    statement="R6's certified radius |N(x0)|/L and the tight certificate never exceed the exact orthogonal "
    "radius r_perp(x0) where it is computed, which never exceeds the radius of any orthogonal flip found, on "
    "every point.",
    results=("R6",),
    section=SECTION,
    needs=populations,
    cell=PerCell(
        measure_sandwich,
        decide_sandwich,
        tests=0,
        measurements=("gradient", "flip", "attacks", "certificate"),
        quantity="max certified/attack radius: <= 1 (theory) vs measured",
        headline=sandwich_headline,
        data_in_p=False,
    ),  # fmt: skip
)
def sandwich(ctx: RuleContext, pops: Mapping[str, PopulationMeasurement]) -> Outcome:
    records = {key: measure_sandwich(pop) for key, pop in pops.items()}
    return Outcome(
        verdicts=decide_sandwich(records),
        prediction="R6.certified_radius = |N(x0)|/L (at the measured N(x0), L) <= r_perp(x0) <= the radius "
        "of every orthogonal flip found; the tight certificate is a proof too, so it obeys the same sandwich",
        method="Attack radii are the best of DeepFool, DDN and FMN with seeded restarts, polished by region "
        "QPs and verified by a forward pass (numerics.minimal_flip), and the flip along the orthogonal "
        "gradient (R5). The tight certificate (numerics.certificates) is computed without the attack radius, "
        "so nothing ties it to the flips. r_perp is SCIP's closed minimum on the small populations of "
        "R6.exact. Theory's radius above an upper end fails the claim; a violation between two numerical "
        "routes raises SandwichViolation (an internal error, exit 3). Allowances: float64 rounding "
        f"({SANDWICH_RTOL:g}) against flips, SCIP's tolerance ({EXACT_RTOL:g}) against r_perp.",
        tables=(record_table("The sandwich: lower ends relative to the attack radius", records, label=None),),
        figures=(_figure(ctx, pops),),
    )
