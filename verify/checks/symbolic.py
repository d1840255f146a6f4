"""The symbolic self-checks of theory/, one claim each (exact: SymPy identities, 50-digit mpmath)."""

from __future__ import annotations

from collections.abc import Callable

from theory.selfcheck_record import SelfCheck
from theory.selfchecks import ALL_SELFCHECKS
from verify.claim import Outcome, claim, table
from verify.tolerance import threshold

__all__ = ["SECTION", "TITLES"]

SECTION = "Symbolic self-checks of the theory"

TITLES = {
    "lower_threshold_at_half_mean": "Laurent-Massart threshold is ell/2 at x = ell/16",
    "chernoff_below_laurent_massart": "Chernoff bound below exp(-ell/16) for all ell",
    "decay_recurrence": "decay recurrences solve to c_T and exp(-lam t)",
    "gradient_in_data_span": "loss gradient lies in the data span",
    "exact_tail_below_bounds": "exact tail below both bounds, ell <= 10^4",
    "weight_decay_step": "one decay step scales Pi w_i by 1 - eta lam",
    "r4_consistent_with_r3": "R4 and R5 are R3 at the threshold ell/2",
    "momentum_recurrence": "heavy ball follows R1's recurrence",
    "chi_square_law_is_one_law": "R3's chi-square functions are one law",
}


def _rule(fn: Callable[[], SelfCheck]):
    def rule(ctx, measurements) -> Outcome:
        sc = fn()
        return Outcome(
            verdicts=(
                threshold(f"self-check ({sc.id}) identities that fail", 0 if sc.passed else 1, "<=", 0),
            ),
            prediction=sc.claim,
            method=sc.detail,
            tables=(
                table(
                    "Numbers",
                    ["quantity", "value"],
                    [{"quantity": k, "value": v} for k, v in sc.numbers.items()],
                ),
            )
            if sc.numbers
            else (),
        )

    return rule


for _fn in ALL_SELFCHECKS:
    _doc = (_fn.__doc__ or _fn.__name__).strip().splitlines()[0].rstrip(".")
    claim(
        f"symbolic.{_fn.__name__}",
        title=TITLES[_fn.__name__],
        statement=_doc,
        results=(),
        section=SECTION,
    )(_rule(_fn))
