"""The verdict of one symbolic self-check (`theory.selfchecks`): what it claims, whether it held, and the
numbers it was decided on."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SelfCheck"]


@dataclass(frozen=True)
class SelfCheck:
    """The verdict of one self-check, with the numbers it was decided on."""

    id: str
    claim: str
    passed: bool
    detail: str
    numbers: dict[str, str] = field(default_factory=dict)
