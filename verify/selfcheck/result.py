"""What one self-check of the suite's instruments found: passed or not, the numbers it compared, and in
words every comparison that failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SelfCheckResult", "Findings"]


@dataclass(frozen=True)
class SelfCheckResult:
    """One self-check: `rows` are (quantity, value, expected, ok) of every comparison it made."""

    id: str  # "instruments.<name>", the report's claim id
    title: str  # a few words, for the summary row
    statement: str  # what it checks, in full
    method: str  # how: the samples, the references, the tolerance
    rows: tuple[tuple[str, Any, Any, bool], ...]
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(ok for *_, ok in self.rows)

    @property
    def failures(self) -> list[str]:
        return [
            f"{quantity}: got {value!r}, expected {expected}"
            for quantity, value, expected, ok in self.rows
            if not ok
        ]


@dataclass
class Findings:
    """The comparisons of a self-check as it makes them."""

    rows: list[tuple[str, Any, Any, bool]] = field(default_factory=list)

    def check(self, quantity: str, value: Any, expected: Any, ok: bool) -> None:
        self.rows.append((quantity, value, expected, bool(ok)))
