"""What a two-layer population measured (`verify.experiments.population`): numpy float64 arrays on the
CPU, per run (R,) or per evaluation point (R, p), grouped by measurement."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = [
    "Exact",
    "Flip",
    "Gradient",
    "Normal",
    "OrthogonalWeights",
    "PopulationMeasurement",
    "Shrinkage",
    "scatter",
    "to_numpy",
]


@dataclass(frozen=True)
class Gradient:
    """At each evaluation point (R, p): ||g||, k, S, N(x0), ||x0||."""

    g_norm: np.ndarray
    k: np.ndarray
    S: np.ndarray
    N0: np.ndarray
    x0_norm: np.ndarray


@dataclass(frozen=True)
class OrthogonalWeights:
    """Pi w_i(0) and Pi w_i(T) in an orthonormal basis of P^perp, (R, m, ell), and the weight scale (R,)
    max_i max(||w_i(T)||, ||w_i(0)||) against which R1's defect is relative."""

    initial: np.ndarray
    final: np.ndarray
    scale: np.ndarray


@dataclass(frozen=True)
class Flip:
    """The exact flip along v = -sign(N(x0)) g/||g|| (R5), (R, p); NaN for excluded runs."""

    distance: np.ndarray  # walked first sign change; inf where none
    t_star: np.ndarray  # |f(0)|/|f'(0+)|
    first_segment: np.ndarray  # bool: t* precedes the first breakpoint
    verified: np.ndarray  # bool: the flip was confirmed by a forward pass


@dataclass(frozen=True)
class Exact:
    """The exact orthogonal flip radius r_perp(x0) = min{||z|| : z in P^perp, sign N(x0 + z) != sign N(x0)}
    by SCIP (`numerics.exact_radius`), (R, p); NaN (False) for runs not measured.

    Where ``optimal``, r_perp lies in [lower, radius] up to SCIP's tolerances (EXACT_RTOL relative), and
    ``lower`` is the closed minimum (N(x0 + z) = 0 counts), so every certified radius is <= lower and every
    flip found is >= lower. ``proven`` adds radius <= lower (1 + EXACT_RTOL): the interval is tight.
    """

    radius: np.ndarray  # verified first flip along SCIP's optimal direction; inf where none
    lower: np.ndarray  # R_ub sqrt(SCIP's dual bound); 0 where nothing was solved
    optimal: np.ndarray  # bool: SCIP's status is "optimal"
    proven: np.ndarray  # bool: optimal and radius <= lower (1 + EXACT_RTOL)
    seconds: float  # SCIP's solving time, all points together


@dataclass(frozen=True)
class Normal:
    """One-dimensional complement P^perp = span{n}: radii at every training point (R, n)."""

    radius: np.ndarray  # exact r_perp = min(t_+, t_-)
    side: np.ndarray  # +1 / -1: direction of the nearest flip along n
    gradient_flip: np.ndarray
    attack: np.ndarray  # numerics.minimal_flip within span{n}
    certified: np.ndarray
    #: each route's first-order relative rounding bound (numerics.conditioning), keyed like the fields above
    condition: dict[str, np.ndarray]


@dataclass(frozen=True)
class Shrinkage:
    """R8's raw quantities: per point (R, p, d) g and G0, per run (R,) L and L0, per point (R, p) the
    output change along z and ||z||."""

    g: np.ndarray
    g_initial: np.ndarray
    lipschitz: np.ndarray
    lipschitz_initial: np.ndarray
    variation: np.ndarray
    z_norm: np.ndarray


@dataclass(frozen=True)
class PopulationMeasurement:
    """What one population measured (numpy, float64, CPU). Per-run arrays are (R,), per-point (R, p).

    ``measured`` marks the runs the attacks and certificates were computed on (not diverged, S > 0 at
    the first x0); their arrays hold NaN elsewhere.
    """

    spec: Any  # the PopulationSpec it was measured from
    d: int
    ell: int
    n: int
    status: tuple[str, ...]
    steps_taken: np.ndarray
    train_accuracy: np.ndarray
    final_margin: np.ndarray
    final_loss: np.ndarray
    measured: np.ndarray
    test_accuracy: np.ndarray | None = None
    gradient: Gradient | None = None
    weights: OrthogonalWeights | None = None
    flip: Flip | None = None
    radii: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (R, p), inf where none found
    successes: dict[str, float] = field(default_factory=dict)  # name -> fraction of measured points flipped
    # name -> (R, p) index into ATTACK_METHODS of the iteration behind each flip, -1 where none
    attack_methods: dict[str, np.ndarray] = field(default_factory=dict)
    certified: np.ndarray | None = None  # (R, p) R6's global |N(x0)|/L
    tight_certified: np.ndarray | None = None  # (R, p) numerics.certificates' best radius, >= certified
    lipschitz: np.ndarray | None = None  # (R,) L = sum_i |u_i| ||Pi w_i(T)||
    exact: Exact | None = None
    normal: Normal | None = None
    # "W", "b", "u" (final), "W0", "b0", "X", "y" (training set)
    networks: dict[str, np.ndarray] | None = None
    shrinkage: Shrinkage | None = None  # R8's g, G0, L, L0 and the output change along z
    seconds: float = 0.0

    @property
    def runs(self) -> int:
        return len(self.status)

    @property
    def diverged(self) -> np.ndarray:
        return np.array([s == "diverged" for s in self.status])

    @property
    def ok(self) -> np.ndarray:
        """Runs that trained without diverging and have at least one active neuron at the first x0."""
        fine = ~self.diverged
        return fine & (self.gradient.S[:, 0] > 0) if self.gradient is not None else fine


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A tensor as a CPU numpy array, float64 where it is floating point."""
    return t.detach().cpu().to(torch.float64).numpy() if t.is_floating_point() else t.detach().cpu().numpy()


def scatter(values: torch.Tensor, rows: np.ndarray, runs: int) -> np.ndarray:
    """(r, p) values of the measured runs `rows` placed into an (R, p) float array, NaN elsewhere."""
    out = np.full((runs, *values.shape[1:]), math.nan)
    out[rows] = to_numpy(values.to(torch.float64))
    return out
