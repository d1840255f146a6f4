"""The front page: the paper's three claims, each answered by the verdicts of the claims behind it, what
was found beyond the paper, and where the assumptions break; every number read from the records.

Which suite claims stand behind which claim of the paper is declared here (`PAPER_CLAIMS`, by claim id or
id prefix); the numbers are the decisive verdicts' own (`verify.reports.verdicts.headline`) and the
radius levels are read from the tables of `R5.radii` and `real.radii` by column name. A claim or column a
run did not produce is said to be missing, never filled in. Each writer (Markdown, LaTeX, HTML, the
terminal) sets the same `FrontPage`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from verify.claim import Table
from verify.harness import Record
from verify.reports.rows import error_line, format_number
from verify.reports.verdicts import headline
from verify.selfcheck import is_self_check

__all__ = [
    "PAPER_CLAIMS",
    "Evidence",
    "FrontPage",
    "PaperClaim",
    "PaperClaimSpec",
    "Violation",
    "front_page",
    "terminal",
]


@dataclass(frozen=True)
class PaperClaimSpec:
    """A claim of the paper: its words, the suite claims behind it (ids or prefixes), those whose decisive
    numbers the paragraph quotes, and the claim whose first figure illustrates it."""

    title: str
    statement: str
    behind: tuple[str, ...]
    quoted: tuple[str, ...]
    figure_of: str


PAPER_CLAIMS = (
    PaperClaimSpec(
        "Large orthogonal gradients",
        "Gradient training leaves the weights' projection onto P^perp at its initial value (R1), so the "
        "input gradient keeps a component orthogonal to the data whose law is exact (Q ~ chi2_ell, R3), "
        "which is large with high probability (R4) and scales like (ell/d)^(1/2) in the codimension (R7's "
        "exponent).",
        ("R1.", "R3.", "R4.", "scaling.", "real.invariance", "real.chi_square"),
        ("R1.invariance", "R3.chi_square_trained", "R4.lower_bound", "scaling.ell"),
        "scaling.ell",
    ),
    PaperClaimSpec(
        "Small orthogonal perturbations flip the label",
        "A step of length |N(x0)|/||g|| along the orthogonal gradient flips the label (R5), the certified "
        "orthogonal radius |N(x0)|/L is a lower bound on the smallest flip (R6), and the orthogonal radius "
        "falls relative to the on-manifold one as ell grows.",
        ("R5.", "R6.", "real.radii"),
        ("R5.flip", "R6.sandwich", "R6.exact", "R5.radii"),
        "R6.sandwich",
    ),
    PaperClaimSpec(
        "Smaller initialization or L2 regularization make it more robust",
        "Shrinking the initialization scale beta shrinks the orthogonal gradient in proportion and enlarges "
        "the certified orthogonal radius (R7); weight decay shrinks Pi W, g and L by exactly c_T (R8); the "
        "paper's Figures 2 and 3 show the vanilla network with the smallest orthogonal radius (R9).",
        ("R7.", "R8.", "R9."),
        ("R7.exponent", "R7.radius", "R8.shrinkage", "R9.figure2", "R9.figure3"),
        "R9.figure2",
    ),
)


@dataclass(frozen=True)
class Evidence:
    """One suite claim behind a paper claim: its id, verdict, and (when quoted) its decisive number."""

    id: str
    verdict: str  # PASS | FAIL | ERROR
    number: str = ""


@dataclass(frozen=True)
class PaperClaim:
    title: str
    statement: str
    answer: str  # "holds: 12 of 12 claims behind it pass" or what fails
    evidence: tuple[Evidence, ...]
    figure: str | None  # file name under figures/, or None when the run drew none
    figure_caption: str


@dataclass(frozen=True)
class Violation:
    id: str
    title: str
    verdict: str
    number: str


@dataclass(frozen=True)
class FrontPage:
    headline: str  # "40 of 40 claims pass (profile standard, ...)"
    claims: tuple[PaperClaim, ...]
    beyond: tuple[str, ...]  # sentences
    violations: tuple[Violation, ...]


def _matches(claim_id: str, patterns: Sequence[str]) -> bool:
    return any(claim_id == p or (p.endswith(".") and claim_id.startswith(p)) for p in patterns)


def _number(r: Record) -> str:
    if r.outcome is None:
        return "internal error: " + error_line(r)
    return headline(r.outcome.decisive)


def _violation_number(r: Record) -> str:
    """A violation study's first verdict (what it sets out to show), and the first result it reports
    without judging that departs from the two-layer theory (e.g. the law of Q under Adam)."""
    if r.outcome is None:
        return "internal error: " + error_line(r)
    text = headline(r.outcome.verdicts[0])
    departing = [v for v in r.outcome.reported if not v.passed]
    if departing:
        text += f"; reported, not judged: {headline(departing[0])} (departs from the theory)"
    return text


def _paper_claim(spec: PaperClaimSpec, records: list[Record]) -> PaperClaim:
    behind = [r for r in records if _matches(r.claim.id, spec.behind) and not r.claim.violation]
    evidence = tuple(
        Evidence(r.claim.id, r.verdict.upper(), _number(r) if r.claim.id in spec.quoted else "")
        for r in behind
    )
    passed = sum(r.verdict == "pass" for r in behind)
    if not behind:
        answer = "not tested in this run"
    elif passed == len(behind):
        answer = f"holds: all {len(behind)} claims behind it pass"
    else:
        bad = ", ".join(f"{r.claim.id} ({r.verdict.upper()})" for r in behind if r.verdict != "pass")
        answer = f"does not hold as tested: {passed} of {len(behind)} claims pass; {bad}"
    source = next((r for r in records if r.claim.id == spec.figure_of), None)
    figure = source.outcome.figures[0] if source and source.outcome and source.outcome.figures else None
    caption = f"{spec.figure_of}: {source.claim.title}" if source else ""
    return PaperClaim(spec.title, spec.statement, answer, evidence, figure, caption)


def _column(table: Table, names: Sequence[str]) -> int | None:
    for j, c in enumerate(table.columns):
        if c.name in names:
            return j
    return None


def radius_levels(record: Record | None) -> list[tuple[int, float]]:
    """(ell, median orthogonal/on-manifold radius) from a radii claim's table, [] when absent."""
    if record is None or record.outcome is None:
        return []
    for t in record.outcome.tables:
        ratio, ell = _column(t, ("median orth/on-manifold", "median orth/on")), _column(t, ("ell",))
        if ratio is not None and ell is not None:
            return [(int(row[ell]), float(row[ratio])) for row in t.rows if row[ratio] is not None]
    return []


def _beyond(records: list[Record]) -> tuple[str, ...]:
    by_id = {r.claim.id: r for r in records}
    sentences = []
    for claim_id, where in (("R5.radii", "Gaussian data of dimension r = 10"), ("real.radii", "digits")):
        levels = radius_levels(by_id.get(claim_id))
        if not levels:
            if claim_id in by_id:
                sentences.append(f"{claim_id} produced no radius table in this run.")
            continue
        ells = ", ".join(str(e) for e, _ in levels)
        ratios = ", ".join(format_number(v) for _, v in levels)
        above = [v > 1 for _, v in levels]
        if all(above):
            verdict = "is larger than the on-manifold one at every size tested"
        elif not any(above):
            verdict = "is smaller than the on-manifold one at every size tested"
        else:
            below = ", ".join(str(e) for e, v in levels if v <= 1)
            verdict = f"falls below the on-manifold one at ell = {below}"
        sentences.append(
            f"On {where} ({claim_id}), the median orthogonal flip radius {verdict}: median "
            f"orthogonal/on-manifold ratio {ratios} at ell = {ells}. The paper predicts the ratio to fall as "
            "ell grows (tested by the claim), not its level."
        )
    return tuple(sentences)


def front_page(records: list[Record], manifest: dict, *, sweep_answer: Sequence[str] = ()) -> FrontPage:
    """The front page of a run (see the module docstring); `sweep_answer`: the committed example sweep's
    answer to "how small is small" (`verify.sweep.answer`), quoted as such, not as this run's."""
    claimed = [r for r in records if not is_self_check(r)]
    checks = [r for r in records if is_self_check(r)]
    n_pass = sum(r.verdict == "pass" for r in claimed)
    top = (
        f"{n_pass} of {len(claimed)} claims pass (profile {manifest['profile']}, seed {manifest['seed']}, "
        f"family false-fail rate {manifest['false_fail_rate']:g})"
        + (
            f"; {sum(r.verdict == 'pass' for r in checks)} of {len(checks)} self-checks of the instruments "
            "pass."
            if checks
            else "."
        )
    )
    violations = tuple(
        Violation(r.claim.id, r.claim.title, r.verdict.upper(), _violation_number(r))
        for r in records
        if r.claim.violation
    )
    claims = tuple(_paper_claim(spec, records) for spec in PAPER_CLAIMS)
    quoted = (
        (
            'How small is "small" (the example sweep examples/small.toml, committed beside it, not this '
            "run): " + " ".join(sweep_answer),
        )
        if sweep_answer
        else ()
    )
    return FrontPage(top, claims, _beyond(records) + quoted, violations)


def evidence_sentence(claim: PaperClaim) -> str:
    """The verdicts behind a paper claim in one sentence, the quoted ones with their decisive numbers."""
    quoted = [f"{e.id} {e.verdict} ({e.number})" for e in claim.evidence if e.number]
    others = [f"{e.id} {e.verdict}" for e in claim.evidence if not e.number]
    parts = []
    if quoted:
        parts.append("Decisive numbers: " + "; ".join(quoted) + ".")
    if others:
        parts.append("Also behind it: " + ", ".join(others) + ".")
    return " ".join(parts)


def terminal(page: FrontPage, width: int = 100) -> str:
    """The front page as plain text for the end of `verify all` (lines of at most `width` characters)."""

    def wrap(text: str, indent: str = "") -> list[str]:
        return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent or "  ")

    lines = ["What the paper claims, and what this run found", "", *wrap(page.headline), ""]
    for i, c in enumerate(page.claims, 1):
        lines += wrap(f"{i}. {c.title}: {c.answer}.")
        lines += wrap(evidence_sentence(c), "   ")
        lines.append("")
    if page.beyond:
        lines += ["Beyond the paper:"] + [line for s in page.beyond for line in wrap(s, "   ")] + [""]
    if page.violations:
        lines.append("Where the assumptions break (one line per violation study):")
        for v in page.violations:
            lines += wrap(f"{v.verdict} {v.id}: {v.title}; {v.number}", "   ")
    return "\n".join(lines)
