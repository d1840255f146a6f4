"""One cell of a sweep: one trained population (the `population` experiment), its measured quantities and
its claims' rows, as one JSON-able record.

The cell's randomness is the experiment's: derive_seed(seed, "sweep") for the data, the next stream for
the initialization (`verify.experiments.run`), so a cell's numbers depend only on its parameters, never on
its position in the grid, the executor or the number of workers. Its hash names its file,
OUT/cells/<hash>.json:
sha256 of the parameters, the claims and their per-test rates, and the record format.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from verify.experiments import Request, run
from verify.experiments.population import MEASUREMENTS, PopulationMeasurement, PopulationSpec
from verify.per_cell import cell_claims, evaluate
from verify.runtime.precision import float64_default
from verify.statistics import jsonable

__all__ = [
    "RATIO",
    "RELATIVE",
    "Cell",
    "error_record",
    "FORMAT",
    "population_spec",
    "QUANTILES",
    "quantities",
    "run_cell",
]

#: Bumped when a record's content changes, so --resume never mixes two formats.
FORMAT = 2
#: The quantiles of the per-network quantities a record keeps.
QUANTILES = (0.1, 0.5, 0.9)


def population_spec(point: dict[str, Any], claims: tuple[str, ...]) -> PopulationSpec:
    """The population of a cell: the point's parameters, one held-out x0 in P per network, and the
    measurements its claims need ("gradient" always: the quantities)."""
    per_cell = cell_claims()
    wanted = {"gradient", *(m for c in claims for m in per_cell[c].cell.measurements)}
    return PopulationSpec.of(
        runs=point["runs"],
        d=point["d"],
        ell=point["ell"],
        n=point["n"],
        m=point["m"],
        dataset=point["dataset"],
        noise=point["noise"],
        s_w=point["s_w"],
        s_u=point["s_u"],
        beta=point["beta"],
        bias=point["bias"],
        train_bias=point["bias"],
        optimizer=point["optimizer"],
        loss=point["loss"],
        lr=point["lr"],
        steps=point["steps"],
        weight_decay=point["weight_decay"],
        train_output=point["train_output"],
        batch_size=point["batch_size"],
        momentum=point["momentum"],
        measure=tuple(m for m in MEASUREMENTS if m in wanted),
    )


@dataclass(frozen=True)
class Cell:
    """A grid point to run: its position, parameters, claims and each claim's per-test rate."""

    index: int
    point: tuple[tuple[str, Any], ...]
    claims: tuple[str, ...]
    rates: tuple[tuple[str, float | None], ...]

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(self.point)

    @property
    def hash(self) -> str:
        """What the cell computes, hashed: parameters, claims, rates, record format (not its index)."""
        content = json.dumps(
            {"point": self.point, "claims": self.claims, "rates": self.rates, "format": FORMAT},
            sort_keys=True,
        )
        return hashlib.sha256(content.encode()).hexdigest()[:20]

    def request(self) -> Request:
        return Request("population", population_spec(self.parameters, self.claims), seed_parts=("sweep",))


def _quantiles(name: str, values: np.ndarray) -> dict[str, float | None]:
    finite = values[np.isfinite(values)]
    return {
        f"{name}_q{round(100 * q)}": (float(np.quantile(finite, q)) if finite.size else None)
        for q in QUANTILES
    }


def quantities(pop: PopulationMeasurement) -> dict[str, Any]:
    """The measured quantities of a population: divergences, train accuracy, and quantiles over networks
    of ||g||, S, k, Q, the flip distance, the certified and attack radii (at the first x0, trained runs)."""
    from verify.predictions import chi_square_statistic

    ok = pop.ok
    out: dict[str, Any] = {
        "networks": pop.runs,
        "diverged": int(pop.diverged.sum()),
        "measured": int(ok.sum()),
        "train_accuracy": float(pop.train_accuracy[~pop.diverged].mean()) if (~pop.diverged).any() else None,
    }
    g = pop.gradient
    if g is not None:
        for name, values in (("g_norm", g.g_norm), ("S", g.S), ("k", g.k), ("abs_N0", np.abs(g.N0))):
            out |= _quantiles(name, np.asarray(values, dtype=np.float64)[ok, 0])
        try:
            out |= _quantiles("Q", chi_square_statistic(pop))
        except ValueError:  # no R3 normalisation for this optimizer with weight decay
            out |= _quantiles("Q", np.array([]))
    if pop.flip is not None:
        out |= _quantiles("flip", pop.flip.distance[ok, 0])
    if pop.certified is not None:
        out |= _quantiles("certified", pop.certified[ok, 0])
    for name, radius in pop.radii.items():
        out |= _quantiles(f"radius_{name}", radius[ok, 0])
    if {"orthogonal", "on_manifold"} <= set(pop.radii) and g is not None:
        out |= radius_levels(
            pop.radii["orthogonal"][ok, 0], pop.radii["on_manifold"][ok, 0], g.x0_norm[ok, 0]
        )
    return out


#: The names of the two radius levels a cell records (each with _q50, _band_low, _band_high).
RATIO, RELATIVE = "orth_over_on", "orth_over_x0"
#: Confidence level of the medians' bands in `radius_levels` (reported, never judged).
BAND_LEVEL = 0.95


def median_band(
    values: np.ndarray, level: float = BAND_LEVEL
) -> tuple[float | None, float | None, float | None]:
    """The sample median (NaN left out) and a distribution-free confidence interval for the true median:
    order statistics x_(j) <= median <= x_(k) with P(j <= Binom(n, 1/2) < k) >= level (exact)."""
    from scipy import stats

    x = np.sort(values[~np.isnan(values)])
    n = x.size
    if n == 0:
        return None, None, None
    tail = (1 - level) / 2
    j = int(stats.binom.ppf(tail, n, 0.5))  # P(Binom <= j - 1) <= tail: x_(j) (1-based) is below the median
    k = n - j  # by symmetry
    low = float(x[j - 1]) if j >= 1 else -math.inf
    high = float(x[k]) if k < n else math.inf
    return float(np.median(x)), low, high


def radius_levels(
    orthogonal: np.ndarray, on_manifold: np.ndarray, x0_norm: np.ndarray
) -> dict[str, float | None]:
    """How small the orthogonal flip radius is: the median over networks of orthogonal/on-manifold radius
    (same x0) and of orthogonal radius/||x0||, each with its `median_band`. A radius no attack found is
    infinite and counts as the largest value; a point where neither attack found a flip (inf/inf) is
    left out of the ratio."""
    with np.errstate(invalid="ignore"):
        ratio = median_band(orthogonal / on_manifold)
    relative = median_band(orthogonal / x0_norm)
    names = ("q50", "band_low", "band_high")
    return {f"{RATIO}_{n}": v for n, v in zip(names, ratio, strict=True)} | {
        f"{RELATIVE}_{n}": v for n, v in zip(names, relative, strict=True)
    }


def _one_line(error: str) -> str:
    lines = [line for line in error.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "error"


def error_record(cell: Cell, error: str, seconds: float = 0.0) -> dict[str, Any]:
    """The record of a cell whose population could not be trained or measured: every claim row says so."""
    rows = [{"claim": c, "verdict": "error", "error": _one_line(error)} for c in cell.claims]
    return _record(cell, "error", {}, rows, seconds) | {"traceback": error}


def _record(
    cell: Cell, status: str, measured: dict[str, Any], rows: list[dict[str, Any]], seconds: float
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "hash": cell.hash,
        "index": cell.index,
        "point": cell.parameters,
        "status": status,
        "quantities": _jsonable_dict(measured),
        "claims": [_jsonable_dict(r) for r in rows],
        "seconds": round(seconds, 3),
    }


def _jsonable_dict(values: dict[str, Any]) -> dict[str, Any]:
    return {k: jsonable(v) for k, v in values.items()}


@float64_default()
def run_cell(job: tuple[Cell, str]) -> dict[str, Any]:
    """Worker side: train and measure the cell's population on `device`, decide its claims; the record.

    A population that fails to train is an "error" record; one where no network trained (all diverged,
    or none has an active neuron at x0) is "diverged" and its claims are not decided; a claim whose
    evaluation raises is an "error" row. None of these stops the sweep.
    """
    cell, device = job
    start = time.perf_counter()
    try:
        pop = run(cell.request(), cell.parameters["seed"], device)
    except Exception:
        return error_record(cell, traceback.format_exc(limit=12), time.perf_counter() - start)
    measured = quantities(pop)
    point, rates = cell.parameters, dict(cell.rates)
    if not pop.ok.any():
        rows = [
            {
                "claim": c,
                "verdict": "diverged",
                "error": f"{measured['diverged']} of {pop.runs} runs diverged; no network to measure",
            }
            for c in cell.claims
        ]
        return _record(cell, "diverged", measured, rows, time.perf_counter() - start)
    rows = []
    for claim_id in cell.claims:
        try:
            rows.append(evaluate(claim_id, pop, rates[claim_id], point))
        except Exception:
            rows.append(
                {"claim": claim_id, "verdict": "error", "error": _one_line(traceback.format_exc(limit=4))}
            )
    return _record(cell, "ok", measured, rows, time.perf_counter() - start)
