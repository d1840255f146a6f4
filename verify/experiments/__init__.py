"""Named experiments: the trained populations the claims measure, each produced once per key and shared.

An experiment is a pure function (spec, seed, device) -> measurement of numerics only: it trains and
measures raw quantities (||g||, S, k, N(x0), orthogonal weight coordinates, radii) and never asks the
theory for a prediction. A claim requests experiments with `Request`s; the harness runs every distinct
request once (on worker processes or a Dask cluster), keyed by (experiment, spec, seed parts, master seed,
device): the spec holds every parameter the profile chose, so the profile itself is not part of the key.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Any",
    "Callable",
    "dataclass",
    "derive_seed",
    "experiment",
    "EXPERIMENT_MODULES",
    "Request",
    "run",
]

#: Modules that define experiments.
EXPERIMENT_MODULES = (
    "verify.experiments.population",
    "verify.experiments.deep",
    "verify.experiments.decay_curve",
)


def derive_seed(master: int, *parts: object) -> int:
    """A stable seed for one experiment from the master seed and a description of the experiment."""
    return zlib.crc32(repr((master, *parts)).encode()) & 0x7FFFFFFF


@dataclass(frozen=True)
class Request:
    """One experiment to run: its registered name, its (frozen, hashable) parameters, its seed tag.

    ``seed_parts`` give the experiment's seed, derive_seed(master, *seed_parts); claims that share a
    population pass the same parts. ``init_seed_parts``, where given, seed the initialization separately
    (by default the experiment derives it from its seed). ``cost`` is a rough time in seconds, for
    scheduling only; by default the spec's own estimate (`expected_cost`), computed in one place per kind.
    """

    experiment: str
    spec: Any
    seed_parts: tuple[Any, ...]
    cost: float | None = None
    init_seed_parts: tuple[Any, ...] | None = None

    @property
    def expected_cost(self) -> float:
        """The rough time that orders the work: `cost` where given, else the spec's `cost`, else 1."""
        if self.cost is not None:
            return self.cost
        return float(getattr(self.spec, "cost", 1.0))

    def key(self, master_seed: int, device: str) -> tuple[Any, ...]:
        return (self.experiment, self.spec, self.seed_parts, self.init_seed_parts, master_seed, device)


_EXPERIMENTS: dict[str, Callable[..., Any]] = {}


def experiment(name: str) -> Callable[[Callable[[Any, int, str], Any]], Callable[[Any, int, str], Any]]:
    """Register `fn(spec, seed, device) -> measurement` as the experiment `name`."""

    def register(fn: Callable[[Any, int, str], Any]) -> Callable[[Any, int, str], Any]:
        if name in _EXPERIMENTS:
            raise RuntimeError(f"experiment {name!r} registered twice")
        _EXPERIMENTS[name] = fn
        return fn

    return register


def run(request: Request, master_seed: int, device: str) -> Any:
    """The measurement of `request` at the master seed, on `device` (float64, CPU numpy arrays)."""
    for module in EXPERIMENT_MODULES:
        importlib.import_module(module)
    try:
        fn = _EXPERIMENTS[request.experiment]
    except KeyError:
        raise KeyError(f"no experiment {request.experiment!r}; known: {', '.join(_EXPERIMENTS)}") from None
    seed = derive_seed(master_seed, *request.seed_parts)
    if request.init_seed_parts is None:
        return fn(request.spec, seed, device)
    return fn(request.spec, seed, device, init_seed=derive_seed(master_seed, *request.init_seed_parts))
