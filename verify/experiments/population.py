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

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from numerics.attacks import (
    AttackResult,
    certified_orthogonal_radius,
    flip_along,
    orthogonal_gradient_flip,
)
from numerics.certificates import certified_flip_radius
from numerics.conditioning import certificate_condition, flip_condition
from numerics.datasets import make_dataset
from numerics.measure import accuracy, active_set, batch_points, orthogonal_gradient, orthogonal_lipschitz
from numerics.minimal_flip import METHODS, minimal_flip
from numerics.model import InitConfig, Network, forward, initialize
from numerics.subspace import Subspace
from numerics.train import TrainConfig, train
from verify.experiments import derive_seed, experiment

MEASUREMENTS = ("gradient", "weights", "flip", "attacks", "certificate", "exact", "normal", "networks")
#: The subspaces the "attacks" measurement searches, by the names of `PopulationMeasurement.radii`.
ATTACK_SPACES = ("orthogonal", "on_manifold", "unrestricted")
#: The iterations of the best-of attack, by the indices of `PopulationMeasurement.attack_methods`.
ATTACK_METHODS = METHODS
#: Elements (runs x points x m^2) of one batch of the tight certificate, whose piecewise bound builds
#: (R, p, m + 1, m) tensors: 2^22 float64 entries (32 MiB) per tensor whatever the population's size.
CERTIFICATE_BATCH = 2**22


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
class PopulationMeasurement:
    """What one population measured (numpy, float64, CPU). Per-run arrays are (R,), per-point (R, p).

    ``measured`` marks the runs the attacks and certificates were computed on (not diverged, S > 0 at
    the first x0); their arrays hold NaN elsewhere.
    """

    spec: PopulationSpec
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


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().to(torch.float64).numpy() if t.is_floating_point() else t.detach().cpu().numpy()


def _scatter(values: torch.Tensor, rows: np.ndarray, runs: int) -> np.ndarray:
    """(r, p) values of the measured runs `rows` placed into an (R, p) float array, NaN elsewhere."""
    out = np.full((runs, *values.shape[1:]), math.nan)
    out[rows] = _np(values.to(torch.float64))
    return out


def _methods(attack: AttackResult, rows: np.ndarray, runs: int) -> np.ndarray:
    """The best-of attack's method index (into ATTACK_METHODS) per point of the measured runs `rows`, placed
    into an (R, p) int64 array: -1 where no flip was found and for runs not measured."""
    assert attack.method is not None, "minimal_flip reports the method of each flip"
    out = np.full((runs, *attack.method.shape[1:]), -1, dtype=np.int64)
    out[rows] = np.where(attack.success.cpu().numpy(), attack.method.cpu().numpy(), -1)
    return out


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
    out: dict[str, Any] = {}
    measured = np.array([s != "diverged" for s in result.status])
    subspace = data.subspace
    if "gradient" in spec.measure:
        assert subspace is not None, "the orthogonal gradient needs a linear data subspace"
        perp = subspace.perp_projector()
        act = active_set(net, X0)
        out["gradient"] = Gradient(
            g_norm=_np(orthogonal_gradient(net, X0, perp).norm(dim=-1)),
            k=_np(act.k),
            S=_np(act.S),
            N0=_np(forward(net, batch_points(net, X0))),
            x0_norm=_np(X0.norm(dim=-1)),
        )
        measured &= out["gradient"].S[:, 0] > 0
    if "weights" in spec.measure:
        assert subspace is not None
        complement = subspace.complement_basis()
        out["weights"] = OrthogonalWeights(
            initial=_np(net0.W @ complement),
            final=_np(net.W @ complement),
            scale=_np(torch.maximum(net.W.norm(dim=-1).amax(dim=-1), net0.W.norm(dim=-1).amax(dim=-1))),
        )
    R, rows = spec.runs, np.flatnonzero(measured)
    index = torch.as_tensor(rows, device=X0.device)
    sub, X0s = net.select(index), X0[index]
    if "flip" in spec.measure:
        assert subspace is not None
        flip = orthogonal_gradient_flip(sub, X0s, subspace.perp_projector())
        out["flip"] = Flip(
            distance=_scatter(flip.norm, rows, R),
            t_star=_scatter(flip.t_star, rows, R),
            first_segment=_scatter(flip.certified_first_segment, rows, R) == 1,
            verified=_scatter(flip.success, rows, R) == 1,
        )
    attacks: dict[str, AttackResult] = {}
    if "attacks" in spec.measure:
        assert subspace is not None
        attacks = _minimal_flips(sub, X0s, subspace, spec, seed)
        out["radii"] = {name: _scatter(a.norm, rows, R) for name, a in attacks.items()}
        out["successes"] = {
            name: float(a.success.double().mean()) if rows.size else math.nan for name, a in attacks.items()
        }
        out["attack_methods"] = {name: _methods(a, rows, R) for name, a in attacks.items()}
    if "certificate" in spec.measure:
        assert subspace is not None
        perp = subspace.perp_projector()
        out["certified"] = _scatter(certified_orthogonal_radius(sub, X0s, perp), rows, R)
        out["tight_certified"] = _scatter(_tight_certificate(sub, X0s, perp), rows, R)
        out["lipschitz"] = _scatter(orthogonal_lipschitz(sub, perp), rows, R)
    if "exact" in spec.measure:
        assert subspace is not None
        out["exact"] = _exact_radius(sub, X0s, subspace, attacks["orthogonal"], rows, R)
    if "normal" in spec.measure:
        out["normal"] = _normal_radii(net, X0, spec, derive_seed(seed, "attacks", "normal"))
    if "networks" in spec.measure:
        out["networks"] = {
            "W": _np(net.W), "b": _np(net.b), "u": _np(net.u), "W0": _np(net0.W), "b0": _np(net0.b), "X": _np(X), "y": _np(y),
        }  # fmt: skip
    test_accuracy = None
    if data.X_test is not None and data.y_test is not None:
        test_accuracy = _np(accuracy(net, data.X_test, data.y_test))
    return PopulationMeasurement(
        spec=spec,
        d=data.d,
        ell=data.d - subspace.r if subspace is not None else 1,  # the board (affine) has codimension 1
        n=X.shape[1],
        status=tuple(result.status),
        steps_taken=result.steps_taken.numpy(),
        train_accuracy=_np(result.train_accuracy),
        final_margin=_np(result.final_margin),
        final_loss=_np(result.final_loss),
        measured=measured,
        test_accuracy=test_accuracy,
        seconds=result.seconds,
        **out,
    )


def _minimal_flips(
    net: Network, X0: torch.Tensor, subspace: Subspace, spec: PopulationSpec, seed: int
) -> dict[str, AttackResult]:
    """The best-of minimal flip (`numerics.minimal_flip`) within each of ATTACK_SPACES: z in P^perp (basis
    of the complement), z in P (basis B) and z in R^d, seeded per space from the experiment's seed."""
    bases = {"orthogonal": subspace.complement_basis(), "on_manifold": subspace.basis, "unrestricted": None}
    return {
        name: minimal_flip(
            net, X0, bases[name], seed=derive_seed(seed, "attacks", name), iterations=spec.attack_iterations
        )
        for name in ATTACK_SPACES
    }


def _tight_certificate(net: Network, X0: torch.Tensor, perp: torch.Tensor) -> torch.Tensor:
    """`numerics.certificates.certified_flip_radius` within P^perp (R, p), in batches of runs of at most
    CERTIFICATE_BATCH elements p m^2 each. No attack radius is passed as its `upper`: the certificate must
    stay independent of the flips the sandwich holds it against."""
    R, p, _ = batch_points(net, X0).shape
    step = max(1, CERTIFICATE_BATCH // max(1, p * net.W.shape[1] ** 2))
    parts = []
    for start in range(0, R, step):
        index = torch.arange(start, min(R, start + step), device=X0.device)
        parts.append(certified_flip_radius(net.select(index), batch_points(net, X0)[index], perp))
    return torch.cat(parts) if parts else torch.empty(0, p, dtype=X0.dtype, device=X0.device)


def _exact_radius(
    net: Network, X0: torch.Tensor, subspace: Subspace, orthogonal: AttackResult, rows: np.ndarray, runs: int
) -> Exact:
    """r_perp(x0) by SCIP within P^perp, bounded above by the orthogonal attack and started from its flip."""
    from numerics.exact_radius import exact_flip_radius  # pyscipopt is optional (checked before training)

    upper = torch.where(orthogonal.success, orthogonal.norm, float("inf"))
    exact = exact_flip_radius(net, X0, subspace.complement_basis(), upper, starts=orthogonal.delta)
    optimal = torch.tensor([[s.startswith("optimal") for s in row] for row in exact.status], dtype=torch.bool)
    return Exact(
        radius=_scatter(exact.radius, rows, runs),
        lower=_scatter(exact.lower, rows, runs),
        optimal=_scatter(optimal.reshape(exact.radius.shape), rows, runs) == 1,
        proven=_scatter(exact.proven, rows, runs) == 1,
        seconds=exact.seconds,
    )


#: Random starts of the best-of attack within span{n}: its only directions are +-n, so 8 seeded starts
#: reach the side that the candidates from c = 0 do not take with probability 1 - 2^-8, at a fifth of the
#: default's cost (4.7 s instead of 12 s for one Figure 3 setting of the quick profile).
NORMAL_RESTARTS = 8


def _normal_radii(net: Network, X: torch.Tensor, spec: PopulationSpec, seed: int) -> Normal:
    """R9's radii at the training points, P^perp = span{n}: the exact r_perp = min(t_+, t_-) (first sign
    changes along x0 +- t n, by the breakpoint walk), the gradient flip, the best-of attack within span{n},
    the certificate |N(x0)|/L, and each one's rounding bound."""
    assert spec.normal is not None, "the 'normal' measurement needs spec.normal"
    normal = torch.tensor(spec.normal, dtype=X.dtype, device=X.device)
    perp = torch.outer(normal, normal)
    V = normal.expand_as(X).contiguous()
    up, down = flip_along(net, X, V), flip_along(net, X, -V)
    nearer = (up.norm <= down.norm).unsqueeze(-1)
    gradient = orthogonal_gradient_flip(net, X, perp)
    attack = minimal_flip(
        net, X, normal.unsqueeze(-1), seed=seed, iterations=spec.attack_iterations, restarts=NORMAL_RESTARTS
    )
    flips = {
        "radius": torch.where(nearer, up.delta, down.delta),
        "gradient_flip": gradient.delta,
        "attack": attack.delta,
    }
    condition = {key: _np(flip_condition(net, X, delta, perp)) for key, delta in flips.items()}
    condition["certified"] = _np(certificate_condition(net, X, perp))
    return Normal(
        radius=_np(torch.minimum(up.norm, down.norm)),
        side=_np(torch.where(nearer.squeeze(-1), 1.0, -1.0).to(X)),
        gradient_flip=_np(gradient.norm),
        attack=_np(attack.norm),
        certified=_np(certified_orthogonal_radius(net, X, perp)),
        condition=condition,
    )
