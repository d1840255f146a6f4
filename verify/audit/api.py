"""The audit as a Python function, for notebooks: in-memory networks and arrays in, the command's record out.

    from verify.audit import audit
    record = audit(models, X, y, init=initial_models, lr=0.1, steps=200)
    record.as_dict()     # exactly what `python -m verify audit --format json` prints
    record.to_frame()    # one row per network and point (pandas)

`models` (and `init`) are `nn.Module`s, state_dicts, (W, u[, b, c]) tuples of arrays or tensors, or file
names; every one goes through the same loading and shape rule as the command line (`verify.audit.loading`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from verify.audit.decide import Decision, Settings, decide
from verify.audit.loading import AuditInputError, Data, LoadedNetwork
from verify.audit.measure import ATTACKS, Measurements, measure
from verify.audit.networks import as_network, check_pairs, is_one_network, to_numpy
from verify.audit.subspace import DataSubspace, data_subspace
from verify.harness import exit_status
from verify.report import to_json

__all__ = ["AuditRecord", "POINT_KEYS", "audit", "audit_loaded", "audit_status"]

#: Per point, the issue's keys (null where not computed) and the suite's further measurements.
POINT_KEYS = (
    "orthogonal_gradient_norm",
    "subspace_gradient_norm",
    "radius_orthogonal",
    "radius_on_manifold",
    "radius_unrestricted",
    "certified_orthogonal",
)
EXTRA_KEYS = (
    "gradient_ratio",
    "N0",
    "k",
    "S",
    "certified_R6",
    "exact_orthogonal",
    "gradient_flip",
    "flip_distance",
    "first_segment",
    "orthogonal_gradient_bound",
    "flip_distance_bound",
    "x0_residual",
)


def _plain(x: Any) -> Any:
    """A JSON value: NaN (not computed) as None, infinities as the strings JSON lacks, numpy as Python."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    x = float(x)
    if np.isnan(x):
        return None
    return x if np.isfinite(x) else ("inf" if x > 0 else "-inf")


@dataclass
class AuditRecord:
    """The audit's result: `as_dict()` is the command's JSON; `exit_status` its exit code."""

    data: dict[str, Any]
    exit_status: int
    flips: dict[str, np.ndarray] | None = None  # attack -> (R, p, d) the verified perturbations (API only)

    def as_dict(self) -> dict[str, Any]:
        return self.data

    def to_frame(self):
        """One row per (network, point) with every per-point key, plus the network's file and index."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_frame() needs pandas: pip install pandas") from None
        rows = [
            {"network": i, "source": net["source"], "point": j, **point}
            for i, net in enumerate(self.data["networks"])
            for j, point in enumerate(net["points"])
        ]
        return pd.DataFrame(rows)


def audit_status(decision: Decision) -> int:
    """`verify all`'s exit status over the claims decided within their hypotheses: 3 on an internal error,
    1 when such a claim fails, else 0. A claim that fails outside its hypotheses (data not in P, a
    non-Gaussian init, R1 broken) is reported as failed and marked so; the theory predicted nothing there."""
    within = decision.hypotheses.get("within", {})
    judged = [r for r in decision.records if r.verdict == "error" or within.get(r.claim.id, True)]
    return exit_status(judged)


def _medians(values: dict[str, np.ndarray]) -> dict[str, Any]:
    out = {}
    for key, v in values.items():
        finite = v[np.isfinite(v)] if v.dtype != bool else v
        out[key] = _plain(np.median(finite)) if finite.size else None
    return out


def _point_arrays(M: Measurements, decision: Decision) -> dict[str, np.ndarray]:
    R, p = M.N0.shape
    nan = np.full((R, p), np.nan)
    ratio = M.orthogonal_gradient_norm / M.subspace_gradient_norm
    arrays = {
        "orthogonal_gradient_norm": M.orthogonal_gradient_norm,
        "subspace_gradient_norm": M.subspace_gradient_norm,
        **{f"radius_{name}": M.radii[name] for name in ATTACKS},
        "certified_orthogonal": M.certified_tight,
        "gradient_ratio": ratio,
        "N0": M.N0,
        "k": M.k,
        "S": M.S,
        "certified_R6": M.certified_global,
        "exact_orthogonal": M.exact,
        "gradient_flip": M.gradient_flip,
        "flip_distance": decision.point_values.get("flip_distance", nan),
        "first_segment": M.first_segment.astype(np.float64) if np.isfinite(M.t_star).any() else nan,
        "orthogonal_gradient_bound": decision.point_values.get("orthogonal_gradient_bound", nan),
        "flip_distance_bound": decision.point_values.get("flip_distance_bound", nan),
        "x0_residual": np.broadcast_to(M.x0_residual, (R, p)),
    }
    return arrays


def build_record(
    final: list[LoadedNetwork],
    init: list[LoadedNetwork] | None,
    P: DataSubspace,
    M: Measurements,
    decision: Decision,
    *,
    manifest: dict[str, Any],
    seconds: float,
) -> dict[str, Any]:
    """The JSON record (module docstring of verify.audit.command)."""
    arrays = _point_arrays(M, decision)
    R, p = M.N0.shape
    networks = []
    for r, net in enumerate(final):
        points = [{key: _plain(arrays[key][r, j]) for key in (*POINT_KEYS, *EXTRA_KEYS)} for j in range(p)]
        per_net = {key: _plain(v[r]) for key, v in decision.network_values.items()}
        networks.append(
            {
                "source": net.source,
                "init": init[r].source if init else None,
                "shape": net.shape,
                "layers": 3 if net.deep else 2,
                "dtype": net.dtype,
                "lipschitz": _plain(M.lipschitz[r]),
                **per_net,
                "medians": _medians({key: arrays[key][r] for key in (*POINT_KEYS, *EXTRA_KEYS)}),
                "points": points,
            }
        )
    claims = to_json(decision.records, manifest)["claims"]
    for claim in claims:
        claim["within_hypotheses"] = bool(decision.hypotheses.get("within", {}).get(claim["id"], True))
    ell = P.ell
    return {
        "generator": "offsub verify audit",
        "subspace": {
            "how": P.how,
            "d": P.d,
            "ell": ell,
            "dimension": P.subspace.r,
            "rank_tolerance": P.tolerance,
            "data_in_p": P.data_in_p,
            "kept_energy": P.kept_variance,
            "residual_max": _plain(P.residuals.max()),
            "residual_median": _plain(np.median(P.residuals)),
            "residuals": [_plain(x) for x in P.residuals],
            "description": P.describe(),
        },
        "random_direction_ratio": float(np.sqrt(ell / (P.d - ell))),
        "hypotheses": _jsonable_tree(decision.hypotheses),
        "notes": M.notes,
        "networks": networks,
        "claims": claims,
        "undecided": [{"id": k, "reason": v} for k, v in decision.undecided.items()],
        "false_fail_rate": manifest["false_fail_rate"],
        "seconds": round(seconds, 3),
        "manifest": manifest,
    }


def _jsonable_tree(value: Any) -> Any:
    """Nested dicts and lists with numpy scalars made plain (NaN as None, infinities as text)."""
    if isinstance(value, dict):
        return {k: _jsonable_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable_tree(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _plain(value)
    return value


def audit_loaded(
    final: list[LoadedNetwork],
    data: Data,
    *,
    init: list[LoadedNetwork] | None = None,
    points: np.ndarray | None = None,
    basis: np.ndarray | None = None,
    rank: int | None = None,
    variance: float | None = None,
    seed: int = 0,
    settings: Settings | None = None,
    basis_source: str = "--subspace",
    exact: bool = True,
) -> tuple[dict[str, Any], int, tuple[Any, ...]]:
    """The audit of loaded networks: (record, exit status, (P, M, decision) for the writers)."""
    from verify.runtime.manifest import manifest, now

    started, start = now(), time.perf_counter()
    if not final:
        raise AuditInputError("--model: no network given")
    check_pairs(final, init, data.X.shape[1])
    settings = settings or Settings()
    settings = Settings(
        settings.lr, settings.weight_decay, settings.steps, data.X.shape[0], settings.family_rate
    )
    P = data_subspace(
        data.X, dtype=data.dtype, basis=basis, rank=rank, variance=variance, source=basis_source
    )
    if points is not None and points.shape[1] != data.X.shape[1]:
        raise AuditInputError(
            f"points: shape {points.shape}; expected (p, {data.X.shape[1]}) like the training data"
        )
    X0 = data.X if points is None else points
    M = measure(final, P, X0, seed=seed, exact=exact)
    decision = decide(final, init, P, M, settings)
    meta = manifest(
        profile="audit",
        seed=seed,
        device="cpu",
        false_fail_rate=settings.family_rate,
        started=started,
        wall_seconds=time.perf_counter() - start,
        jobs=1,
        executor="local",
    )
    record = build_record(final, init, P, M, decision, manifest=meta, seconds=time.perf_counter() - start)
    return record, audit_status(decision), (P, M, decision)


def audit(
    models: Sequence[Any] | Any,
    X: Any,
    y: Any,
    *,
    init: Sequence[Any] | None = None,
    points: Any = None,
    basis: Any = None,
    rank: int | None = None,
    variance: float | None = None,
    seed: int = 0,
    lr: float | None = None,
    weight_decay: float | None = None,
    steps: int | None = None,
    false_fail_rate: float = 1e-3,
    exact: bool = True,
) -> AuditRecord:
    """Audit in-memory networks on data (X (n, d), y (n,) in {-1, 1} or {0, 1}); see the module docstring.
    `exact=False` skips the exact orthogonal radius (SCIP) even where the networks are small enough."""
    from verify.audit.loading import from_arrays

    models = list(models) if isinstance(models, (list, tuple)) and not is_one_network(models) else [models]
    final = [as_network(model, f"model[{i}]") for i, model in enumerate(models)]
    initial = (
        None if init is None else [as_network(model, f"init[{i}]") for i, model in enumerate(list(init))]
    )
    data = from_arrays(X, y, "X, y")
    pts = None if points is None else from_arrays(points, None, "points").X
    B = None if basis is None else np.asarray(to_numpy(basis), dtype=np.float64)
    record, status, (_, M, _) = audit_loaded(
        final,
        data,
        init=initial,
        points=pts,
        basis=B,
        rank=rank,
        variance=variance,
        seed=seed,
        settings=Settings(lr, weight_decay, steps, 0, false_fail_rate),
        basis_source="basis",
        exact=exact,
    )
    return AuditRecord(record, status, M.deltas)
