"""The audit's networks from what a notebook holds: an `nn.Module`, a state_dict, a (W, u[, b, c]) tuple of
arrays or tensors, or a file name, each through the command line's loading and shape rule
(`verify.audit.loading`); and the check that final and initial networks pair and match the data."""

from __future__ import annotations

from typing import Any

import numpy as np

from verify.audit.loading import AuditInputError, LoadedNetwork, from_state_dict, load_network

__all__ = ["as_network", "check_pairs", "is_one_network", "to_numpy"]


def as_network(model: Any, source: str) -> LoadedNetwork:
    """A LoadedNetwork from an nn.Module, a state_dict, a (W, u[, b, c]) tuple or a file name."""
    if isinstance(model, LoadedNetwork):
        return model
    if isinstance(model, str):
        return load_network(model)
    if hasattr(model, "state_dict") and callable(model.state_dict):
        return from_state_dict(model.state_dict(), source)
    if isinstance(model, tuple):
        names = ("0.weight", "1.weight", "0.bias", "1.bias")
        parts = [np.asarray(p.detach().cpu() if hasattr(p, "detach") else p, dtype=np.float64) for p in model]
        if len(parts) < 2:
            raise AuditInputError(f"{source}: expected (W, u[, b, c])")
        W, u, *rest = parts
        state = {"0.weight": W, "1.weight": u.reshape(1, -1)}
        for name, value in zip(names[2:], rest, strict=False):
            state[name] = value.reshape(-1)
        return from_state_dict(state, source)
    return from_state_dict(model, source)


def check_pairs(final: list[LoadedNetwork], init: list[LoadedNetwork] | None, d: int) -> None:
    """AuditInputError unless the final networks are of one kind and take d inputs, and the initial ones
    (if any) pair with them one to one in shape."""
    kinds = {net.deep for net in final}
    if len(kinds) > 1:
        raise AuditInputError(
            f"{final[0].source}: the networks mix two and three layers; audit one kind at a time"
        )
    for net in final:
        if net.d != d:
            raise AuditInputError(
                f"{net.source}: the network takes d = {net.d} inputs ({net.shape}), the data have d = {d}"
            )
    if init is None:
        return
    if len(init) != len(final):
        raise AuditInputError(
            f"--init: {len(init)} initial networks for {len(final)} final ones; expected one per final "
            "network (paired in sorted order)"
        )
    for a, b in zip(final, init, strict=True):
        if a.W.shape != b.W.shape or a.deep != b.deep:
            raise AuditInputError(f"{b.source}: shape {b.shape} does not pair with {a.source} ({a.shape})")


def is_one_network(models: Any) -> bool:
    """A bare (W, u[, b, c]) tuple of arrays is one network, not a list of them."""
    return isinstance(models, tuple) and all(hasattr(p, "shape") for p in models)


def to_numpy(x: Any) -> Any:
    """A tensor as a numpy array (an array or a list as it is)."""
    return x.detach().cpu().numpy() if hasattr(x, "detach") else x
