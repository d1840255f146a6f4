"""What the audit's claims read and return: the user's statements about training (`Settings`), the
audit's networks, subspace, measurements and predictions (`Audit`), and a decided claim (`Plan`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from verify.audit.loading import LoadedNetwork
from verify.audit.measure import Measurements
from verify.audit.subspace import DataSubspace
from verify.claim import Claim, Outcome
from verify.statistics import GofResult

__all__ = ["SECTION", "Audit", "Plan", "Settings", "audit_plan"]

SECTION = "Audit of user-trained networks"
#: A decided claim: its description, how many statistical tests it makes, and its rule
#: (per-test rate -> Outcome).
Plan = tuple[Claim, int, Callable[[float | None], Outcome]]


@dataclass(frozen=True)
class Settings:
    """What the user states about training (None: not stated) and the family false-fail rate."""

    lr: float | None = None
    weight_decay: float | None = None
    steps: int | None = None
    n: int = 0  # training points
    family_rate: float = 1e-3

    @property
    def decay_stated(self) -> bool:
        return bool(self.weight_decay) and self.lr is not None and self.steps is not None


@dataclass
class Audit:
    """What every claim reads: the networks, P, the measurements, the theory's symbols and predictions."""

    final: list[LoadedNetwork]
    init: list[LoadedNetwork] | None
    P: DataSubspace
    M: Measurements
    settings: Settings
    values: dict[str, Any]  # the theory's symbols (d, ell, s_w, beta, eta, lam, T)
    ok: np.ndarray  # (R,) an active neuron at the first x0 (S > 0): the networks R3-R5 use
    s_w: float  # estimated from the initial weights (NaN without them)
    gaussian: GofResult | None  # KS of the standardized initial entries against N(0, 1), reported
    outside: list[str]  # hypotheses "the data lie in P" (and R1) that do not hold
    point_values: dict[str, np.ndarray]  # theory's per-point predictions (R, p)
    network_values: dict[str, np.ndarray]  # per-network measurements (R,)

    @property
    def with_init(self) -> bool:
        return self.init is not None and bool(self.ok.any())

    def outside_note(self) -> str:
        return " Tested outside its hypotheses: " + "; ".join(self.outside) + "." if self.outside else ""


def audit_plan(
    id: str, title: str, statement: str, results: tuple[str, ...], tests: int, rule: Callable[..., Outcome]
) -> Plan:
    """A decided audit claim: its description (a `Claim` the harness never runs), its `tests` statistical
    tests, and its rule (per-test rate -> Outcome)."""

    def not_run(ctx, pops):  # the audit decides outside the harness; the Claim only describes
        raise RuntimeError(f"{id} is decided by verify.audit.decide")

    claim = Claim(
        id=id,
        title=title,
        statement=statement,
        results=results,
        section=SECTION,
        needs=lambda profile: {},
        tests=lambda profile: tests,
        rule=not_run,
    )
    return claim, tests, rule
