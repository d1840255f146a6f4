"""The audit's five claims: each reads the audit's measurements and predictions (`Audit`) and returns
either a plan (the claim, its statistical test count, and its rule: per-test rate -> `Outcome`) or the reason
it is not decided. The rules are those of `verify all` (module docstring of `verify.audit.decide`).
"""

from __future__ import annotations

from collections.abc import Callable

from verify.audit.context import Audit, Plan, Settings
from verify.audit.gradient_claims import chi_square, invariance, lower_bound
from verify.audit.radius_claims import flip, sandwich
from verify.audit.uniform_note import UNIFORM_STUDY

__all__ = ["Audit", "CLAIMS", "Plan", "Settings", "UNIFORM_STUDY"]


#: The claims in report order, by id.
CLAIMS: dict[str, Callable[[Audit], Plan | str]] = {
    "audit.R1": invariance,
    "audit.R3": chi_square,
    "audit.R4": lower_bound,
    "audit.R5": flip,
    "audit.R6": sandwich,
}
