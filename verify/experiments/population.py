"""The two-layer population experiment: R networks trained on independent draws of one data set, and the
raw quantities measured on them at evaluation points x0 in P.

One spec covers every two-layer population of the suite (and a sweep cell): the data (set, d, ell, n,
noise), the initialization, the training, the evaluation points (held out, or the training points for
the paper's figure sets) and which measurements to take:
- "gradient": ||g|| with g = Pi grad_x N(x0), k, S = sum_{i in I} u_i^2, N(x0), ||x0|| (R3-R5);
- "weights": the coordinates of Pi w_i(0) and Pi w_i(T) in an orthonormal basis of P^perp (R1, R8);
- "flip": the exact flip along -sign(N) g/||g|| (R5), with t* and its first-segment certificate;
- "attacks": minimal flips restricted to P^perp, to P and unrestricted (R5, R6, real data): the best of
  DeepFool, DDN and FMN with seeded restarts, polished by region QPs and verified by a forward pass
  (`numerics.minimal_flip`), and which of the three iterations found each reported flip;
- "certificate": R6's global certified orthogonal radius |N(x0)|/L with L = sum_i |u_i| ||Pi w_i|| (L is
  recorded too), and the tighter certified radius of `numerics.certificates` (R6, R7);
- "exact": the exact orthogonal flip radius r_perp(x0) by a mixed-integer QP solved with SCIP
  (`numerics.exact_radius`; small networks only; needs "attacks" for its upper bound and starting point,
  and pyscipopt: `pip install -e ".[exact]"`, else the experiment raises ImportError before training);
- "normal": for a one-dimensional complement (the figure sets), the exact orthogonal radius along the
  normal n, the gradient flip, the best-of attack within span{n}, the certificate, and each route's
  first-order rounding bound (`numerics.conditioning`), at every training point (R9);
- "networks": the trained parameters themselves (for the figures' decision boundaries).
Everything is float64 numpy on the CPU; nothing here asks the theory for a prediction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from numerics.datasets import make_dataset
from numerics.measure import accuracy
from numerics.model import InitConfig, initialize
from numerics.train import TrainConfig, train
from verify.experiments import experiment
from verify.experiments.measurements import (
    Exact,
    Flip,
    Gradient,
    Normal,
    OrthogonalWeights,
    PopulationMeasurement,
    to_numpy,
)
from verify.experiments.population_measures import (
    ATTACK_METHODS,
    ATTACK_SPACES,
    CERTIFICATE_BATCH,
    EVERY_RUN,
    MEASURE,
    Trained,
)

__all__ = [
    "ATTACK_METHODS",
    "ATTACK_SPACES",
    "CERTIFICATE_BATCH",
    "EVERY_RUN",
    "Exact",
    "Flip",
    "Gradient",
    "MEASURE",
    "MEASUREMENTS",
    "Normal",
    "OrthogonalWeights",
    "PopulationMeasurement",
    "PopulationSpec",
    "population",
]

MEASUREMENTS = ("gradient", "weights", "flip", "attacks", "certificate", "exact", "normal", "networks")


@dataclass(frozen=True)
class PopulationSpec:
    """Every parameter of a two-layer population (frozen and hashable: it is the experiment's key)."""

    runs: int
    d: int | None = None  # None: the data set's own (the figure sets fix d, ell, n)
    ell: int | None = None
    n: int | None = None  # training points per network
    m: int = 100
    dataset: str = "gaussian_linear"
    points: int = 1  # held-out evaluation points in P per network; 0: evaluate at the training points
    n_test: int | None = None  # digits only: held-out images (x0 is the first)
    noise: float = 0.0  # off-subspace noise of the training points (sigma)
    axis_aligned: bool = False
    # initialization (numerics.model.InitConfig)
    s_w: float = 1.0
    s_u: float = 1.0
    beta: float = 1.0
    bias: bool = False
    s_b: float = 0.0
    output_init: str = "sign"
    hidden_init: str = "gaussian"
    output_scaling: str = "sqrt"
    # training (numerics.train.TrainConfig)
    optimizer: str = "gd"
    loss: str = "logistic"
    lr: float = 0.2
    steps: int = 300
    weight_decay: float = 0.0
    decay_output: bool = True
    train_output: bool = True
    train_bias: bool = False
    batch_size: int | None = None
    momentum: float = 0.9
    target_margin: float | None = None
    # what to measure, and the attacks' budget
    measure: tuple[str, ...] = ("gradient",)
    attack_iterations: int = 50  # steps of each DDN/FMN candidate ("attacks", "normal")
    normal: tuple[float, ...] | None = None  # "normal": the unit normal spanning P^perp

    def __post_init__(self) -> None:
        unknown = set(self.measure) - set(MEASUREMENTS)
        if unknown:
            raise ValueError(
                f"measure={self.measure!r} is invalid: unknown {sorted(unknown)}; expected {MEASUREMENTS}"
            )
        if "exact" in self.measure and "attacks" not in self.measure:
            raise ValueError(
                f"measure={self.measure!r} is invalid: 'exact' needs 'attacks' (its upper bound)"
            )

    @property
    def cost(self) -> float:
        """A rough time in seconds (runs x width x dimension x steps), twice that with the attacks or the
        certificates and a second more for their set-up: it only orders the work."""
        heavy = {"attacks", "certificate", "exact", "normal"} & set(self.measure)
        base = self.runs * self.m * (self.d or 64) * self.steps * 1e-9
        return 2 * base + 1.0 if heavy else base

    def init_config(self) -> InitConfig:
        return InitConfig(
            m=self.m,
            s_w=self.s_w,
            s_u=self.s_u,
            s_b=self.s_b,
            beta=self.beta,
            bias=self.bias,
            output_init=self.output_init,
            hidden_init=self.hidden_init,
            output_scaling=self.output_scaling,
        )

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            optimizer=self.optimizer,
            loss=self.loss,
            lr=self.lr,
            steps=self.steps,
            weight_decay=self.weight_decay,
            decay_output=self.decay_output,
            train_output=self.train_output,
            train_bias=self.train_bias,
            batch_size=self.batch_size,
            momentum=self.momentum,
            target_margin=self.target_margin,
        )


def _require_exact_solver() -> None:
    """Fail before training when the exact radius cannot be computed (ImportError naming the extra)."""
    import importlib.util

    if importlib.util.find_spec("pyscipopt") is None:
        raise ImportError('the "exact" measurement needs pyscipopt (SCIP): pip install -e ".[exact]"')


def _evaluation_points(spec: PopulationSpec, seed: int, device: str):
    """The data set, the training split (X, y) and the evaluation points X0 (R, p, d)."""
    if spec.dataset == "digits":
        data = make_dataset(
            "digits",
            runs=spec.runs,
            seed=seed,
            d=spec.d,
            ell=spec.ell,
            n=spec.n,
            n_test=spec.n_test,
            device=device,
        )
        assert data.X_test is not None
        return data, data.X, data.y, data.X_test[:, :1]
    if spec.points == 0:
        data = make_dataset(
            spec.dataset, runs=spec.runs, seed=seed, d=spec.d, ell=spec.ell, n=spec.n, noise=spec.noise,
            axis_aligned=spec.axis_aligned, device=device,
        )  # fmt: skip
        return data, data.X, data.y, data.X
    assert spec.n is not None, "held-out points need the number of training points n"
    data = make_dataset(
        spec.dataset, runs=spec.runs, seed=seed, d=spec.d, ell=spec.ell, n=spec.n + spec.points,
        noise=spec.noise, axis_aligned=spec.axis_aligned, device=device,
    )  # fmt: skip
    n = spec.n
    X0 = data.X[:, n:]
    if spec.noise > 0 and data.subspace is not None:
        X0 = X0 - data.subspace.project_perp(X0)  # held-out points lie in P even when training data are noisy
    return data, data.X[:, :n], data.y[:, :n], X0


@experiment("population")
def population(
    spec: PopulationSpec, seed: int, device: str, init_seed: int | None = None
) -> PopulationMeasurement:
    """Train spec.runs networks (data from `seed`, initialization from `init_seed`, by default seed + 1)
    and measure them."""
    if "exact" in spec.measure:
        _require_exact_solver()
    data, X, y, X0 = _evaluation_points(spec, seed, device)
    init = seed + 1 if init_seed is None else init_seed
    net0 = initialize(spec.init_config(), data.d, spec.runs, seed=init, device=device)
    result = train(net0, X, y, spec.train_config())
    net = result.net
    subspace = data.subspace
    t = Trained(spec, seed, net, net0, X, y, X0, subspace, np.array([s != "diverged" for s in result.status]))
    out: dict[str, Any] = {}
    for name in EVERY_RUN:
        if name in spec.measure:
            out |= MEASURE[name](t)
    t.select()
    for name in MEASUREMENTS:
        if name in spec.measure and name not in EVERY_RUN:
            out |= MEASURE[name](t)
    measured = t.measured
    test_accuracy = None
    if data.X_test is not None and data.y_test is not None:
        test_accuracy = to_numpy(accuracy(net, data.X_test, data.y_test))
    return PopulationMeasurement(
        spec=spec,
        d=data.d,
        ell=data.d - subspace.r if subspace is not None else 1,  # the board (affine) has codimension 1
        n=X.shape[1],
        status=tuple(result.status),
        steps_taken=result.steps_taken.numpy(),
        train_accuracy=to_numpy(result.train_accuracy),
        final_margin=to_numpy(result.final_margin),
        final_loss=to_numpy(result.final_loss),
        measured=measured,
        test_accuracy=test_accuracy,
        seconds=result.seconds,
        **out,
    )
