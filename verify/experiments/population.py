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
- "networks": the trained parameters themselves (for the figures' decision boundaries);
- "shrinkage": at x0, g beside G0 = sum_{i in I} u_i(T) Pi w_i(0), L beside L0 = sum_i |u_i(T)| ||Pi w_i(0)||
  and |N(x0 + z) - N(x0)| along a random orthogonal z, ||z|| = ||x0|| (R8, `verify.experiments.shrinkage`).
Everything is float64 numpy on the CPU; nothing here asks the theory for a prediction.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
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

MEASUREMENTS = (
    "gradient",
    "weights",
    "flip",
    "attacks",
    "certificate",
    "exact",
    "normal",
    "networks",
    "shrinkage",
)


#: The settings a population passes to the initialization and to the trainer, by their own names.
INIT_SETTINGS = frozenset(f.name for f in fields(InitConfig))
TRAIN_SETTINGS = frozenset(f.name for f in fields(TrainConfig))


@dataclass(frozen=True)
class PopulationSpec:
    """Every parameter of a two-layer population (frozen and hashable: it is the experiment's key): the
    data, the numerics' own `InitConfig` and `TrainConfig` (their defaults are the only ones), and the set
    of measurements. `PopulationSpec.of(lr=..., m=...)` routes each setting to its config by name, and a
    setting of either config reads as an attribute (`spec.lr` is `spec.train.lr`)."""

    runs: int
    d: int | None = None  # None: the data set's own (the figure sets fix d, ell, n)
    ell: int | None = None
    n: int | None = None  # training points per network
    dataset: str = "gaussian_linear"
    points: int = 1  # held-out evaluation points in P per network; 0: evaluate at the training points
    n_test: int | None = None  # digits only: held-out images (x0 is the first)
    noise: float = 0.0  # off-subspace noise of the training points (sigma)
    axis_aligned: bool = False
    init: InitConfig = InitConfig()
    train: TrainConfig = TrainConfig()
    # what to measure (a set: `population` takes them in MEASUREMENTS order), and the attacks' budget
    measure: frozenset[str] = frozenset({"gradient"})
    attack_iterations: int = 50  # steps of each DDN/FMN candidate ("attacks", "normal")
    normal: tuple[float, ...] | None = None  # "normal": the unit normal spanning P^perp

    def __post_init__(self) -> None:
        object.__setattr__(self, "measure", frozenset(self.measure))
        unknown = set(self.measure) - set(MEASUREMENTS)
        if unknown:
            raise ValueError(
                f"measure={sorted(self.measure)!r} is invalid: unknown {sorted(unknown)}; expected "
                f"{MEASUREMENTS}"
            )
        if "exact" in self.measure and "attacks" not in self.measure:
            raise ValueError(
                f"measure={sorted(self.measure)!r} is invalid: 'exact' needs 'attacks' (its upper bound)"
            )

    @classmethod
    def of(
        cls, *, init: InitConfig | None = None, train: TrainConfig | None = None, **settings: Any
    ) -> PopulationSpec:
        """A spec from flat settings: those of InitConfig and TrainConfig go to the configs (starting from
        `init` and `train`, or their defaults), the rest are the spec's own."""
        own = {k: v for k, v in settings.items() if k not in INIT_SETTINGS | TRAIN_SETTINGS}
        init = replace(init or InitConfig(), **{k: v for k, v in settings.items() if k in INIT_SETTINGS})
        train = replace(train or TrainConfig(), **{k: v for k, v in settings.items() if k in TRAIN_SETTINGS})
        return cls(init=init, train=train, **own)

    def with_settings(self, **settings: Any) -> PopulationSpec:
        """This spec with some settings changed (flat names, routed as in `of`)."""
        own = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("init", "train")}
        return PopulationSpec.of(init=self.init, train=self.train, **(own | settings))

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not the spec's own fields (and never while unpickling them).
        if name in INIT_SETTINGS:
            return getattr(self.__dict__["init"], name)
        if name in TRAIN_SETTINGS:
            return getattr(self.__dict__["train"], name)
        raise AttributeError(name)

    @property
    def cost(self) -> float:
        """A rough time in seconds (runs x width x dimension x steps), twice that with the attacks or the
        certificates and a second more for their set-up: it only orders the work."""
        heavy = {"attacks", "certificate", "exact", "normal"} & set(self.measure)
        base = self.runs * self.init.m * (self.d or 64) * self.train.steps * 1e-9
        return 2 * base + 1.0 if heavy else base

    def init_config(self) -> InitConfig:
        return self.init

    def train_config(self) -> TrainConfig:
        return self.train


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
