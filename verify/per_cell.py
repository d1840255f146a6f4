"""A claim decided on one population: what `sweep` and `at` run per cell, and what the report's rule runs
on each of its populations, so that both judge by the same two functions.

A claim that is a statement about one population declares a `PerCell`: `measure` (a population to a typed
record, a frozen dataclass whose `column` fields are the claim's table columns), `decide` (label -> record
and the per-test rate to verdicts), the statistical tests it makes per population, the measurements it reads,
and `scope`, why a cell's setting lies outside the claim's hypotheses (None where it applies). The family
rate is split once (`verify.claim.split_family_rate`): over the cells x statistical claims of a sweep, then
over each claim's tests. A violated internal invariant (SandwichViolation, an assertion, a shape error) is
never a verdict: it propagates, and the caller reports an internal error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from theory.parameters import ParameterError
from verify.claim import (
    Claim,
    Column,
    Outcome,
    Table,
    all_claims,
    check_declared_tests,
    split_family_rate,
    table,
)
from verify.statistics import Verdict

__all__ = [
    "GRADIENT_METHODS",
    "Headline",
    "PerCell",
    "applicable",
    "column",
    "cell_claims",
    "check_applicable",
    "decide_cell",
    "evaluate",
    "exit_status",
    "gradient_scope",
    "EVERY_CELL",
    "Scope",
    "hidden",
    "rate_statement",
    "record_cells",
    "record_columns",
    "record_table",
    "resolve",
    "select",
    "select",
    "test_rates",
    "why_not",
    "within_hypotheses",
]

#: Optimizers whose update is a combination of loss gradients plus coupled decay (R1's hypothesis).
GRADIENT_METHODS = ("gd", "sgd", "momentum", "flow")


@dataclass(frozen=True)
class Scope:
    """Where a per-cell claim applies: `where` in words (what `verify list` shows; "" for every two-layer
    cell), and `why_not(point)`, the reason a cell's setting lies outside (None inside). Called as
    `scope(point)`."""

    where: str
    why_not: Callable[[Mapping[str, Any]], str | None]

    def __call__(self, point: Mapping[str, Any]) -> str | None:
        return self.why_not(point)


#: Every two-layer cell.
EVERY_CELL = Scope("", lambda point: None)


def _gradient_why_not(point: Mapping[str, Any]) -> str | None:
    if point["optimizer"] not in GRADIENT_METHODS:
        return (
            f"optimizer={point['optimizer']!r}: R2's independence of Pi w(0) fails under a coordinate-wise "
            f"update (expected one of {', '.join(GRADIENT_METHODS)})"
        )
    if point["weight_decay"] and point["optimizer"] not in ("gd", "sgd"):
        return (
            f"optimizer={point['optimizer']!r} with weight_decay > 0: the bound's c_T is (1 - eta*lam)^T, "
            "for gd or sgd"
        )
    return None


#: Where R3-R5 apply: a gradient method, and weight decay only with R3's (1 - eta*lam)^T factor.
gradient_scope = Scope(
    f"optimizer {', '.join(GRADIENT_METHODS)} (with weight_decay > 0: gd or sgd)", _gradient_why_not
)


def column(format: str = "", header: str | None = None) -> Any:
    """A record field shown as a table column: its format spec and header (default: the field's name)."""
    return dataclasses.field(metadata={"column": header, "format": format})


def hidden() -> Any:
    """A record field the rule reads but the table does not show (an array, a law)."""
    return dataclasses.field(metadata={"column": False}, repr=False, compare=False)


def _shown(record_type: Any) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(record_type) if f.metadata.get("column") is not False]


def record_columns(record_type: Any) -> tuple[Column, ...]:
    """The table columns of a record type, in field order."""
    return tuple(
        Column(f.metadata.get("column") or f.name, f.metadata.get("format", "")) for f in _shown(record_type)
    )


def record_cells(record: Any) -> dict[str, Any]:
    """A record's table cells by column name."""
    return {(f.metadata.get("column") or f.name): getattr(record, f.name) for f in _shown(record)}


def record_table(
    title: str,
    records: Mapping[str, Any],
    *,
    label: str | None = "population",
    extra: tuple[Column | tuple[str, str] | str, ...] = (),
    more: Mapping[str, Mapping[str, Any]] | None = None,
    order: tuple[str, ...] = (),
) -> Table:
    """A table of `records` (label -> record) by column name: the label column (if `label`), the records'
    columns, then `extra` columns whose cells `more[label]` gives by name (values a rule decided); `order`
    names the columns in the order shown, where it differs."""
    records = dict(records)
    columns: list[Column | tuple[str, str] | str] = [label] if label else []
    columns += [*record_columns(type(next(iter(records.values())))), *extra]
    if order:
        named = {(c.name if isinstance(c, Column) else c if isinstance(c, str) else c[0]): c for c in columns}
        columns = [named[name] for name in order]
    rows = []
    for key, record in records.items():
        row = ({label: key} if label else {}) | record_cells(record) | dict((more or {}).get(key, {}))
        rows.append(row)
    return table(title, columns, rows)


@dataclass(frozen=True)
class Headline:
    """A cell row's headline: the prediction and measurement of the claim's `quantity`, and tightness."""

    prediction: float
    measurement: float
    tightness: Mapping[str, float]


@dataclass(frozen=True)
class PerCell:
    """How a claim is decided on one population (see the module docstring)."""

    measure: Callable[[Any], Any]
    decide: Callable[[Mapping[str, Any], float | None], tuple[Verdict, ...]]
    tests: int  # statistical tests `decide` makes on one population (0: exact)
    measurements: tuple[str, ...]  # what the population must measure (`verify.experiments.population`)
    quantity: str  # what the headline's prediction and measurement are
    headline: Callable[[Any], Headline]
    scope: Scope = EVERY_CELL
    data_in_p: bool = True  # its hypotheses include "every training point lies in P" (noise = 0)
    default: bool = True  # False: decided only when named by its full id (an exact solver's time)


def cell_claims() -> dict[str, Claim]:
    """The claims decidable per cell, by id, in report order."""
    return {c.id: c for c in all_claims() if c.cell is not None}


def why_not(claim: Claim) -> str:
    """Why `claim` is not decided per cell: its own note, or what its declared experiments show."""
    if claim.cell is not None:
        return ""
    if claim.cell_note:
        return claim.cell_note
    needs = list(claim.needs("quick").values())
    if not needs:
        return "symbolic: it needs no population"
    kinds = sorted({r.experiment for r in needs if r.experiment != "population"})
    if kinds:
        return f"it needs a {', '.join(kinds)} experiment, not one population"
    return f"it compares {len(needs)} populations (a trend or an ordering across settings)"


def resolve(ids: Any, *, where: str = "claims") -> tuple[str, ...]:
    """The per-cell claims named by `ids` (ids as `verify list` prints them, or a family prefix such as
    "R4" selecting that family's per-cell claims); None: every per-cell claim."""
    claims = cell_claims()
    if ids is None:
        return tuple(claims)
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ParameterError(f"{where}: claims={ids!r} is invalid: expected a non-empty list of claim ids")
    every = {c.id: c for c in all_claims()}
    chosen: list[str] = []
    for want in ids:
        if want in every and want not in claims:
            raise ParameterError(
                f"{where}: claim {want!r} is invalid: it is not decidable per cell "
                f"({every[want].cell_note}); `python -m verify list` shows which are"
            )
        hits = [c for c in claims if c == want or c.startswith(want + ".")]
        if not hits:
            raise ParameterError(
                f"{where}: claim {want!r} is invalid: expected one of {', '.join(claims)} (or a prefix such "
                f"as R4)"
            )
        chosen += [c for c in hits if c not in chosen]
    return tuple(c for c in claims if c in chosen)


def select(ids: Any, points: Iterable[Mapping[str, Any]], *, where: str = "claims") -> tuple[str, ...]:
    """The per-cell claims to decide at `points`: an id named exactly must apply at every point (else a
    ParameterError says why not); a family prefix, or no ids at all (every per-cell claim), keeps the
    default claims that apply at every point, and must keep at least one."""
    points = list(points)
    chosen = resolve(ids, where=where)
    exact = set(ids or ()) & set(chosen)
    for point in points:
        check_applicable(point, [c for c in chosen if c in exact], where)
    claims = cell_claims()
    kept = tuple(
        c
        for c in chosen
        if c in exact or (claims[c].cell.default and all(applicable([c], point) for point in points))
    )
    if not kept:
        check_applicable(points[0], chosen[:1], where)
    return kept


def applicable(claim_ids: Iterable[str], point: Mapping[str, Any]) -> tuple[str, ...]:
    """The claims of `claim_ids` whose hypotheses the setting `point` satisfies."""
    claims = cell_claims()
    return tuple(c for c in claim_ids if claims[c].cell.scope(point) is None)


def check_applicable(point: Mapping[str, Any], claim_ids: Iterable[str], where: str) -> None:
    """ParameterError naming the first claim whose hypotheses exclude the setting `point`."""
    claims = cell_claims()
    for claim_id in claim_ids:
        why = claims[claim_id].cell.scope(point)
        if why is not None:
            raise ParameterError(f"{where}: claim {claim_id} does not apply: {why}")


def within_hypotheses(claim_id: str, point: Mapping[str, Any]) -> bool:
    """Whether the cell satisfies the claim's hypotheses; off-subspace noise violates "data in P" (the
    claim is still decided: that is the noise-robustness study)."""
    return not (cell_claims()[claim_id].cell.data_in_p and point["noise"] > 0)


def test_rates(claim_ids: Iterable[str], cells: int, family_rate: float) -> dict[str, float | None]:
    """Each claim's per-test rate: the family rate split over cells x statistical claims, then its tests."""
    claims = cell_claims()
    claim_ids = list(claim_ids)
    shares = cells * sum(claims[c].cell.tests > 0 for c in claim_ids)
    return {c: split_family_rate(family_rate, shares, claims[c].cell.tests) for c in claim_ids}


def rate_statement(claim_ids: Iterable[str], cells: int, family_rate: float) -> str:
    """The Bonferroni split in words, for the outputs."""
    claims = cell_claims()
    claim_ids = list(claim_ids)
    statistical = [c for c in claim_ids if claims[c].cell.tests > 0]
    if not statistical:
        return "every claim is exact (no false-fail rate is spent)"
    rates = test_rates(claim_ids, cells, family_rate)
    per = ", ".join(f"{c}: {claims[c].cell.tests} tests at {rates[c]:.3g} each" for c in statistical)
    shares = cells * len(statistical)
    return (
        f"family false-fail rate {family_rate:g} split (Bonferroni) over {cells} cells x {len(statistical)} "
        f"statistical claims = {shares} shares of {family_rate / shares:.3g}; {per}"
    )


def decide_cell(claim: Claim, pop: Any, rate: float | None, label: str = "this cell") -> tuple[Any, Outcome]:
    """`claim` decided on the one population `pop` at the per-test `rate`: its record and outcome. The
    harness's check holds here too: the rule made exactly its declared tests, none above `rate`."""
    record = claim.cell.measure(pop)
    verdicts = claim.cell.decide({label: record}, rate)
    outcome = Outcome(verdicts=tuple(verdicts), prediction=claim.cell.quantity)
    check_declared_tests(claim.id, outcome, claim.cell.tests, rate, "per cell")
    return record, outcome


def exit_status(verdicts: Iterable[str]) -> int:
    """0 every row passes, 1 a claim fails, 3 an internal error (as `verify.harness.exit_status`)."""
    verdicts = list(verdicts)
    if "error" in verdicts:
        return 3
    return 0 if all(v == "pass" for v in verdicts) else 1


def evaluate(claim_id: str, pop: Any, rate: float | None, point: Mapping[str, Any]) -> dict[str, Any]:
    """One row of a sweep's tidy table: the claim decided on the cell's population (JSON-able values).
    An internal error propagates (the cell records it as an `error` row)."""
    from verify.report import format_rule

    claim = cell_claims()[claim_id]
    record, outcome = decide_cell(claim, pop, rate)
    headline = claim.cell.headline(record)
    decisive = outcome.decisive
    return {
        "claim": claim_id,
        "results": " ".join(claim.results),
        "within_hypotheses": within_hypotheses(claim_id, point),
        "alpha": rate,
        "tests": claim.cell.tests,
        "quantity": claim.cell.quantity,
        "verdict": "pass" if outcome.passed else "fail",
        "rule": format_rule(decisive.rule),
        "statistic": float(decisive.rule.value),
        "threshold": float(decisive.rule.threshold),
        "prediction": float(headline.prediction),
        "measurement": float(headline.measurement),
        **{k: float(v) for k, v in headline.tightness.items()},
        "summary": decisive.summary(),
    }
