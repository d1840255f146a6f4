"""The suite checks its own instruments: known-answer tests of every statistical test before a run
(`instruments`), and after it, checks over the verdicts and detection targets the run actually used
(`rates`). A failing self-check is an internal error (exit 3), shown in the report beside the symbolic
self-checks; with a broken instrument nothing is measured.

The hook: a command that decides claims runs them through `with_self_checks` (records for the report), or
calls `require` on each set of checks (SelfCheckFailed, exit 3).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from verify.selfcheck.instruments import instrument_checks
from verify.selfcheck.rates import run_checks
from verify.selfcheck.result import SelfCheckResult

__all__ = [
    "SECTION",
    "SelfCheckFailed",
    "SelfCheckResult",
    "as_records",
    "instrument_checks",
    "is_self_check",
    "require",
    "run_checks",
    "with_self_checks",
]

SECTION = "Self-checks of the instruments"


def is_self_check(record: Any) -> bool:
    """Whether a report record is a self-check of the instruments rather than a claim about the paper."""
    return record.claim.section == SECTION


class SelfCheckFailed(RuntimeError):
    """A self-check of the instruments failed: the suite's own bug, an internal error (exit 3)."""


def _never(ctx: Any, measurements: Any) -> Any:
    raise RuntimeError("a self-check is decided before or after the run, never as a claim")


def as_records(results: list[SelfCheckResult]) -> list[Any]:
    """The self-checks as report records: a pass with its comparisons, or an internal error naming them."""
    from verify.claim import Claim, Outcome, table
    from verify.harness import Record
    from verify.tolerance import threshold

    out = []
    for sc in results:
        claim = Claim(id=sc.id, title=sc.title, statement=sc.statement, results=(), section=SECTION,
                      needs=lambda profile: {}, tests=lambda profile: 0, rule=_never)  # fmt: skip
        if not sc.passed:
            error = "self-check of the instruments failed (an internal error):\n" + "\n".join(sc.failures)
            out.append(Record(claim, None, "error", None, None, sc.seconds, 0.0, error))
            continue
        rows = [
            {"quantity": quantity, "value": str(value), "expected": str(expected)}
            for quantity, value, expected, _ in sc.rows
        ]
        outcome = Outcome(
            verdicts=(threshold(f"self-check ({sc.id}) comparisons that fail", 0, "<=", 0),),
            prediction=sc.statement,
            method=sc.method,
            tables=(table("Comparisons", ["quantity", "value", "expected"], rows),),
        )
        out.append(Record(claim, outcome, "pass", None, None, sc.seconds, 0.0))
    return out


def _echo(results: list[SelfCheckResult]) -> None:
    for sc in results:
        if not sc.passed:
            print(f"ERROR {sc.id:32s} {sc.failures[0]}", file=sys.stdout, flush=True)


def with_self_checks(run: Callable[[], list[Any]], *, family_rate: float) -> list[Any]:
    """`run()`'s records after the instruments' known answers and before the checks of the rates it used,
    the self-checks' records first; if an instrument fails, nothing is run and only they are returned."""
    before = instrument_checks()
    _echo(before)
    if not all(sc.passed for sc in before):
        return as_records(before)
    records = run()
    after = run_checks(records, family_rate)
    _echo(after)
    return [*as_records(before + after), *records]


def require(results: list[SelfCheckResult]) -> None:
    """SelfCheckFailed naming every failed comparison, if any self-check failed."""
    failed = [f"{sc.id}: {line}" for sc in results if not sc.passed for line in sc.failures]
    if failed:
        raise SelfCheckFailed("self-check of the instruments failed: " + "; ".join(failed))
