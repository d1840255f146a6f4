"""The symbolic self-checks of theory/, one report check each (exact: SymPy proofs, 50-digit mpmath)."""

from __future__ import annotations

from collections.abc import Callable

from theory.selfchecks import ALL_SELFCHECKS, SelfCheck
from verify.registry import Context, Outcome, Table, check

SECTION = "Symbolic self-checks of the theory"


def _as_check(fn: Callable[[], SelfCheck]) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        sc = fn()
        return Outcome(
            passed=sc.passed,
            predicted=sc.claim,
            measured=sc.detail,
            statistic="symbolic identity"
            if not sc.numbers
            else "; ".join(f"{k}={v}" for k, v in list(sc.numbers.items())[:3]),
            tables=[Table("Numbers", ("quantity", "value"), tuple(sc.numbers.items()))] if sc.numbers else [],
            details={"numbers": sc.numbers},
        )

    return run


for _fn in ALL_SELFCHECKS:
    _probe = _fn.__name__
    _doc = (_fn.__doc__ or _probe).strip().splitlines()[0].rstrip(".")
    check(f"symbolic.{_probe}", claim=_doc, result="theory", statistical=False, section=SECTION)(
        _as_check(_fn)
    )
