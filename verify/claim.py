"""What a claim is, what its rule returns, and the registry of all claims.

A claim is a declaration: an id, a short title, the theory results it asks for predictions, the named
experiments it needs at each profile (`verify.experiments`), how many statistical tests its rule makes,
and the rule itself, a pure function of the experiments' measurements returning an `Outcome`: the
decided verdict objects (`verify.statistics`, `verify.tolerance`), tables of numbers with declared
columns, figures. The harness (`verify.harness`) runs the experiments, gives each rule its share of the
family false-fail rate, and renders the report from these values; nothing here formats a number.

The table types (`Column`, `Table`, `table`) live in `verify.tables` and are re-exported here, where the
claims import them.

Adding a claim: a module with one `@claim(...)` function, listed once in `CHECK_MODULES`
(docs/adding-a-claim.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verify.statistics import Verdict, split_rate
from verify.tables import Column, Table, table

__all__ = [
    "check_declared_tests",
    "CHECK_MODULES",
    "PROFILES",
    "Claim",
    "Column",
    "Detection",
    "Outcome",
    "RuleContext",
    "Table",
    "UnknownClaim",
    "all_claims",
    "check_rate",
    "claim",
    "get",
    "per_test_rate",
    "select",
    "split_family_rate",
    "table",
]

PROFILES = ("quick", "standard", "full")

#: Modules that define claims, in report order. Adding a claim family adds one line here.
CHECK_MODULES = (
    "verify.checks.symbolic",
    "verify.checks.r1_invariance",
    "verify.checks.r3_chi_square",
    "verify.checks.scaling",
    "verify.checks.r4_lower_bound",
    "verify.checks.r5_flip",
    "verify.checks.r5_radii",
    "verify.checks.r6_sandwich",
    "verify.checks.r6_exact",
    "verify.checks.r7_small_init",
    "verify.checks.r8_weight_decay",
    "verify.checks.r9_figure2",
    "verify.checks.r9_figure3",
    "verify.checks.r9_affine",
    "verify.checks.real_data",
    "verify.checks.violation_adam",
    "verify.checks.violation_noise",
    "verify.checks.violation_arms",
    "verify.checks.violation_uniform",
    "verify.checks.violation_deep",
)


@dataclass(frozen=True)
class Detection:
    """A realistic wrong prediction the claim must catch, the test that catches it, and that test's power
    (the chance it fails the claim were the wrong prediction the theory) at the sample `n` and rate used."""

    target: str
    test: str
    n: int
    alpha: float
    power: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "test": self.test,
            "n": self.n,
            "alpha": self.alpha,
            "power": self.power,
        }


@dataclass(frozen=True)
class Outcome:
    """What a rule decided: its verdicts, and the values the report shows beside them.

    ``verdicts`` decide the claim (it passes iff every one passes); ``reported`` are tests shown for
    reference and never judged (e.g. the law of Q under Adam, which no theorem predicts).
    """

    verdicts: tuple[Verdict, ...]
    prediction: str  # what theory predicts here, naming the results and expressions it was taken from
    method: str = ""  # how it was measured: populations, sizes, the rule in words
    tables: tuple[Table, ...] = ()
    figures: tuple[str, ...] = ()
    reported: tuple[Verdict, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    detections: tuple[Detection, ...] = ()  # the power by design (verify.design), shown in the report

    def __post_init__(self) -> None:
        if not self.verdicts:
            raise ValueError("an outcome needs at least one verdict")
        for verdict in (*self.verdicts, *self.reported):
            if verdict.passed != verdict.rule.holds():
                raise AssertionError(
                    f"verdict {verdict.summary()!r} disagrees with its own rule {verdict.rule}"
                )

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    @property
    def all_tables(self) -> tuple[Table, ...]:
        """The rule's tables, then its detection targets as one more table (what the report prints)."""
        if not self.detections:
            return self.tables
        rows = [
            {
                "wrong prediction": d.target,
                "caught by": d.test,
                "n": d.n,
                "per-test rate": d.alpha,
                "power": d.power,
            }
            for d in self.detections
        ]
        targets = table(
            "Detection targets: power against realistic wrong predictions",
            ["wrong prediction", "caught by", ("n", "d"), ("per-test rate", ".2g"), ("power", ".3f")],
            rows,
        )
        return (*self.tables, targets)

    @property
    def decisive(self) -> Verdict:
        """The summary row's verdict: the one furthest past failing if any fails; otherwise the statistical
        test closest to failing (the claim's substance), or the exact rule closest to failing if none is
        statistical."""
        failing = [v for v in self.verdicts if not v.passed]
        pool = failing or [v for v in self.verdicts if v.statistical] or list(self.verdicts)
        return min(pool, key=lambda v: v.rule.margin())


@dataclass(frozen=True)
class RuleContext:
    """What a rule may use besides the measurements: the profile, its per-test false-fail rate, figures."""

    profile: str
    alpha: float | None  # each statistical test's rate (the harness's split); None for exact claims
    figures_dir: Path
    progress: Callable[..., Any] = lambda iterable, **kwargs: iterable
    reference_alpha: float = 1e-3  # the rate of tests only reported, never judged (one claim's share)

    def size(self, table: Mapping[str, Any]) -> Any:
        """Pick the profile's entry from {"quick": ..., "standard": ..., "full": ...}."""
        return table[self.profile]

    def figure_path(self, name: str) -> Path:
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        return self.figures_dir / name

    @property
    def test_alpha(self) -> float:
        """The per-test rate of a statistical rule (an exact rule asking for it is a bug)."""
        if self.alpha is None:
            raise RuntimeError("an exact claim has no false-fail rate")
        return self.alpha


@dataclass(frozen=True)
class Claim:
    """One claim: what it says, what it needs, and the rule that decides it."""

    id: str
    title: str  # a few words, for the summary row
    statement: str  # the claim in full
    results: tuple[str, ...]  # theory results its predictions come from ("R3", ...), or () for none
    section: str
    needs: Callable[[str], Mapping[str, Any]]  # profile -> label -> experiments.Request
    tests: Callable[[str], int]  # profile -> number of statistical tests the rule makes (0: exact)
    rule: Callable[[RuleContext, Mapping[str, Any]], Outcome]
    violation: bool = False  # an assumption-violation study
    #: How the claim is decided on one population (`verify.per_cell.PerCell`: measure, decide, scope);
    #: None where it is not a statement about one population, and `cell_note` says why.
    cell: Any = None
    cell_note: str = ""

    @property
    def statistical(self) -> bool:
        return any(self.tests(profile) > 0 for profile in PROFILES)


_REGISTRY: dict[str, Claim] = {}


def _constant(value: Any) -> Callable[[str], Any]:
    return lambda profile: value


def claim(
    id: str,
    *,
    title: str,
    statement: str,
    results: tuple[str, ...],
    section: str,
    needs: Callable[[str], Mapping[str, Any]] | None = None,
    tests: int | Callable[[str], int] = 0,
    violation: bool = False,
    cell: Any = None,
    cell_note: str = "",
) -> Callable[[Callable[[RuleContext, Mapping[str, Any]], Outcome]], Callable[..., Outcome]]:
    """Register the decorated rule as the claim `id` (see `Claim`)."""

    def register(rule: Callable[[RuleContext, Mapping[str, Any]], Outcome]) -> Callable[..., Outcome]:
        if id in _REGISTRY:
            raise RuntimeError(f"claim id {id!r} registered twice")
        _REGISTRY[id] = Claim(
            id=id,
            title=title,
            statement=statement,
            results=results,
            section=section,
            needs=needs or _constant({}),
            tests=tests if callable(tests) else _constant(tests),
            rule=rule,
            violation=violation,
            cell=cell,
            cell_note=cell_note,
        )
        return rule

    return register


def all_claims() -> list[Claim]:
    """Every registered claim, in report order (importing the check modules)."""
    for name in CHECK_MODULES:
        importlib.import_module(name)
    order = {name: i for i, name in enumerate(CHECK_MODULES)}
    return sorted(_REGISTRY.values(), key=lambda c: order.get(c.rule.__module__, len(order)))


def get(claim_id: str) -> Claim:
    """The claim called `claim_id` (UnknownClaim names it)."""
    all_claims()
    try:
        return _REGISTRY[claim_id]
    except KeyError:
        raise UnknownClaim(claim_id) from None


class UnknownClaim(KeyError):
    pass


def select(ids: Iterable[str]) -> list[Claim]:
    """The claims named by `ids` (exact ids, or a prefix such as "R1" selecting a family)."""
    claims = all_claims()
    chosen: list[Claim] = []
    for want in ids:
        hits = [c for c in claims if c.id == want or c.id.startswith(want + ".")]
        if not hits:
            raise UnknownClaim(want)
        chosen.extend(c for c in hits if c not in chosen)
    return chosen


def split_family_rate(family_rate: float, shares: int, tests: int = 1) -> float | None:
    """The one Bonferroni split of the suite: alpha / shares / tests, the family rate over `shares` (the
    statistical claims, times the cells of a sweep), then a share over its claim's `tests`; None for an exact
    claim (tests = 0). The union bound holds under any dependence between the tests (`split_rate`)."""
    if tests == 0:
        return None
    return split_rate(split_rate(family_rate, max(shares, 1)), tests)


def check_declared_tests(
    claim_id: str, outcome: Outcome, declared: int, rate: float | None, where: str
) -> None:
    """The harness's contract, in every command: a rule makes exactly its `declared` statistical tests, none
    above its per-test `rate`. A breach is our bug (AssertionError: an internal error, never a verdict)."""
    statistical = [v for v in outcome.verdicts if v.statistical]
    if len(statistical) != declared:
        raise AssertionError(
            f"{claim_id} declares {declared} statistical tests {where} but made {len(statistical)}"
        )
    for verdict in statistical:
        if verdict.alpha is None or rate is None or verdict.alpha > rate * (1 + 1e-12):
            raise AssertionError(f"{claim_id}: a test runs at alpha={verdict.alpha}, above its share {rate}")


def check_rate(family_rate: float) -> float:
    """Bonferroni share of the family false-fail rate per statistical claim: split over every statistical
    claim in the registry (not only those selected), so a claim's threshold never depends on what else
    runs."""
    share = split_family_rate(family_rate, sum(c.statistical for c in all_claims()))
    assert share is not None
    return share


def per_test_rate(c: Claim, profile: str, family_rate: float) -> float | None:
    """The rate each statistical test of `c` runs at: its claim's share, split over its declared tests."""
    return split_family_rate(family_rate, sum(c.statistical for c in all_claims()), c.tests(profile))
