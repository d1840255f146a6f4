"""report.md: the code host's view of a run. The front page, a summary that fits a 160-column terminal,
the power table, then one section per claim with its verdicts as a table; prose is wrapped so that no line
outside a table is longer than `MAX_LINE` characters."""

from __future__ import annotations

import textwrap

from tabulate import tabulate

from verify.claim import Table
from verify.harness import Record
from verify.reports.front_page import FrontPage, evidence_sentence
from verify.reports.rows import POWER_HEADERS, error_line, format_rule, power_rows, table_rows
from verify.reports.verdicts import VERDICT_HEADERS, verdict_row

__all__ = ["MAX_LINE", "PROSE_WIDTH", "SUMMARY_HEADERS_MD", "grid", "markdown", "summary_rows_md", "table_md"]

#: No line outside a table is longer than this, and the summary table fits it.
MAX_LINE = 160
#: Where prose is wrapped.
PROSE_WIDTH = 110
#: The Markdown summary: the claim's title is in its section and on the front page, so the row fits 160.
SUMMARY_HEADERS_MD = ("id", "verdict", "decisive number", "seconds")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def grid(rows: list[list[str]], headers: list[str] | tuple[str, ...]) -> str:
    """Cells already formatted as text, as a GitHub Markdown table."""
    return tabulate(
        [[_cell(c) for c in row] for row in rows],
        headers=list(headers),
        tablefmt="github",
        disable_numparse=True,
    )


def table_md(t: Table) -> str:
    """A `Table` under its bold title."""
    return f"**{t.title}**\n\n{grid(table_rows(t), [c.name for c in t.columns])}\n"


def _wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    return textwrap.wrap(
        text,
        PROSE_WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_on_hyphens=False,
    ) or [""]


def _paragraph(text: str) -> list[str]:
    return [*_wrap(text), ""]


def _bullet(text: str) -> list[str]:
    return _wrap(text, "  ", "- ")


def summary_rows_md(records: list[Record]) -> list[list[str]]:
    """id, verdict, the decisive number against its threshold, seconds."""
    return [
        [
            r.claim.id,
            r.verdict.upper(),
            format_rule(r.outcome.decisive.rule) if r.outcome else error_line(r, 60),
            f"{r.seconds:.1f}",
        ]
        for r in records
    ]


def _front_page(page: FrontPage) -> list[str]:
    lines = ["## What the paper claims, and what this run found", "", *_paragraph(f"**{page.headline}**")]
    for i, c in enumerate(page.claims, 1):
        lines += [f"### {i}. {c.title}: {c.answer}", ""]
        lines += _paragraph(c.statement)
        lines += _paragraph(evidence_sentence(c))
        if c.figure:
            lines += [f"![{c.figure_caption}](figures/{c.figure})", ""]
    if page.beyond:
        lines += ["### Beyond the paper", ""]
        for sentence in page.beyond:
            lines += _paragraph(sentence)
    if page.violations:
        lines += ["### Where the assumptions break", ""]
        for v in page.violations:
            lines += _bullet(f"**{v.verdict}** `{v.id}`: {v.title}; {v.number}")
        lines.append("")
    return lines


def _manifest(manifest: dict) -> list[str]:
    hardware = manifest["hardware"]
    items = [
        f"command: `{manifest['command']}`",
        f"profile `{manifest['profile']}`, seed {manifest['seed']}, device `{manifest['device']}`, executor "
        f"`{manifest['executor']}` with {manifest['jobs']} worker(s); family false-fail rate "
        f"{manifest['false_fail_rate']:g}, Bonferroni-split over the statistical claims and their tests",
        f"commit `{manifest['git_commit']}`; started {manifest['started']}, finished {manifest['finished']} "
        f"({manifest['wall_seconds']:.0f} s wall)",
        f"hardware: {hardware.get('cpu', '')}" + (f", GPU {hardware['gpu']}" if "gpu" in hardware else ""),
        "versions: " + ", ".join(f"{k} {v}" for k, v in manifest["versions"].items()),
    ]
    return [line for item in items for line in _bullet(item)]


def _code(text: str) -> list[str]:
    body = [piece for line in text.splitlines() for piece in (textwrap.wrap(line, MAX_LINE - 4) or [""])]
    return ["```", *body, "```", ""]


def _claim_section(r: Record) -> list[str]:
    lines = [f"### {r.claim.id}: {r.claim.title}", "", *_paragraph(r.claim.statement)]
    rate = (
        f"; false-fail rate {r.false_fail_rate:.2g} ({r.test_rate:.2g} per test)" if r.false_fail_rate else ""
    )
    theory = f"; predictions from theory result(s) {', '.join(r.claim.results)}" if r.claim.results else ""
    lines += _paragraph(
        f"Verdict **{r.verdict.upper()}** in {r.seconds:.1f} s (rule {r.rule_seconds:.1f} s, experiments "
        f"{r.experiment_seconds:.1f} s){rate}{theory}."
    )
    if r.outcome is None:
        return lines + _code(r.error)
    o = r.outcome
    lines += _paragraph(f"Prediction: {o.prediction}")
    rows = [verdict_row(v).cells() for v in o.verdicts]
    rows += [verdict_row(v, judged=False).cells() for v in o.reported]
    lines += [grid(rows, VERDICT_HEADERS), ""]
    if o.reported:
        lines += _paragraph("Rows in parentheses are reported for reference and never decide the claim.")
    if o.method:
        lines += _paragraph(o.method)
    for t in o.all_tables:
        lines += [table_md(t), ""]
    for f in o.figures:
        lines += [f"![{f}](figures/{f})", ""]
    return lines


def markdown(records: list[Record], manifest: dict, page: FrontPage) -> str:
    """The whole report.md."""
    lines = [
        "# offsub verification report",
        "",
        *_paragraph(
            "Claims of Melamed, Yehudai & Vardi, *Adversarial Examples Exist in Two-Layer ReLU Networks for "
            "Low Dimensional Linear Subspaces* (NeurIPS 2023), checked against networks trained here. The "
            "statements checked are our derivations (see `docs/derivations.md`), not quotations of the "
            "paper."
        ),
        *_manifest(manifest),
        "",
        *_front_page(page),
        "## Summary",
        "",
        *_paragraph(
            "Each row shows the verdict closest to failing: its quantity against its threshold. A "
            "statistical claim fails by chance with at most its stated false-fail rate when the prediction "
            "is right; seconds include the claim's share of the experiments it uses."
        ),
        grid(summary_rows_md(records), SUMMARY_HEADERS_MD),
        "",
        "## Power by design",
        "",
        *_paragraph(
            "For each statistical claim, the realistic wrong predictions it must catch and the probability "
            "that it fails were that prediction the theory, at the sample it got and its per-test rate "
            "(exact for the mean and binomial tests; lower bounds for KS and for a reversed direction)."
        ),
        grid(power_rows(records), POWER_HEADERS),
        "",
    ]
    section = None
    for r in records:
        if r.claim.section != section:
            section = r.claim.section
            lines += [f"## {section}", ""]
        lines += _claim_section(r)
    return "\n".join(lines)
