"""What a check is, what it returns, and the table of all checks.

A check is a pure function of a `Context` (profile, seed, device, false-fail rate) returning an
`Outcome` that carries the prediction, the measurement, the statistic it was decided on and the
verdict. Check modules register themselves with `@check(...)`; `all_checks()` imports them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

PROFILES = ("quick", "standard", "full")
VERDICTS = ("pass", "fail", "error")

#: Modules that define checks, in report order.
CHECK_MODULES = (
    "verify.checks.symbolic",
    "verify.checks.invariance",
    "verify.checks.chi_square",
    "verify.checks.scaling",
    "verify.checks.lower_bound",
    "verify.checks.flip",
    "verify.checks.small_init",
    "verify.checks.weight_decay",
    "verify.checks.figures_paper",
    "verify.checks.real_data",
    "verify.checks.violations",
)

T = TypeVar("T")


@dataclass(frozen=True)
class Table:
    """A table for the report: a title, column headers and rows of plain values."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass
class Outcome:
    """What a check found. `passed` is the verdict; the strings say what it was decided on."""

    passed: bool
    predicted: str  # the theory's prediction, in words and numbers
    measured: str  # what the numerics gave
    statistic: str  # the decision rule and its value, e.g. "KS D=0.031, p=0.41 >= 8e-5"
    notes: str = ""  # markdown paragraph: method, sample sizes, detectable discrepancy, caveats
    tables: list[Table] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)  # file names under the figures directory
    details: dict[str, Any] = field(default_factory=dict)  # JSON-able numbers


@dataclass(frozen=True)
class Context:
    """Everything a check may depend on; the same context gives the same numbers."""

    profile: str
    seed: int
    device: str
    false_fail_rate: float  # this check's share of the family rate (already split)
    figures_dir: Path
    progress: Callable[..., Any]  # progress(iterable, desc=..., total=...) -> iterable

    def size(self, table: dict[str, T]) -> T:
        """Pick the profile's entry from {"quick": ..., "standard": ..., "full": ...}."""
        return table[self.profile]

    def figure_path(self, name: str) -> Path:
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        return self.figures_dir / name


@dataclass(frozen=True)
class Check:
    """One claim, one decision rule."""

    id: str
    claim: str
    result: str  # the theory result it tests (R1..R9), or "violation" for assumption-break studies
    statistical: bool  # whether it takes a share of the family false-fail rate
    run: Callable[[Context], Outcome]
    section: str  # report section heading


_REGISTRY: dict[str, Check] = {}


def check(id: str, *, claim: str, result: str, statistical: bool, section: str):
    """Decorator registering `fn(ctx) -> Outcome` as the check `id`."""

    def register(fn: Callable[[Context], Outcome]) -> Callable[[Context], Outcome]:
        if id in _REGISTRY:
            raise RuntimeError(f"check id {id!r} registered twice")
        _REGISTRY[id] = Check(id, claim, result, statistical, fn, section)
        return fn

    return register


def all_checks() -> list[Check]:
    """Every registered check, in report order (importing the check modules that exist)."""
    for name in CHECK_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency, not a check module not yet written
                raise
    return list(_REGISTRY.values())


class UnknownCheck(KeyError):
    pass


def select(ids: Iterable[str]) -> list[Check]:
    """The checks named by `ids` (exact ids, or a prefix such as "R1" selecting a family)."""
    checks = all_checks()
    chosen: list[Check] = []
    for want in ids:
        hits = [c for c in checks if c.id == want or c.id.startswith(want + ".")]
        if not hits:
            raise UnknownCheck(want)
        chosen.extend(c for c in hits if c not in chosen)
    return chosen


def per_check_rate(family_rate: float) -> float:
    """Bonferroni share of the family false-fail rate: split over every statistical check in the
    registry (not only those selected), so a check's threshold never depends on what else runs."""
    n = sum(c.statistical for c in all_checks())
    return family_rate / max(n, 1)
