"""A run's report folder: report.md, report.html, report.tex (and report.pdf where `pdflatex` is on the
PATH), report-tables.tex, report.json and manifest.json, written into the staging folder that
`verify.output` swaps in atomically. The formats are `verify.reports`' modules; this module only writes
their files, times them and says in the log what it could not write."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

from verify.harness import TERMINAL_WIDTH, Record
from verify.reports import html, latex, markdown, pdf
from verify.reports.front_page import front_page, terminal
from verify.reports.json_report import to_json
from verify.reports.rows import (
    POWER_HEADERS,
    SUMMARY_HEADERS,
    format_cell,
    format_rule,
    power_rows,
    summary_rows,
)
from verify.selfcheck import is_self_check
from verify.sweep.answer import EXAMPLE_TABLE, radius_answer_from_file

__all__ = [
    "POWER_HEADERS",
    "SUMMARY_HEADERS",
    "format_cell",
    "format_rule",
    "power_rows",
    "summary_rows",
    "to_json",
    "write_all",
]


def write_all(stage: Path, records: list[Record], manifest: dict, *, compile_pdf: bool = True) -> str:
    """Write every report file into `stage`; return what the log shows: the front page, then a line on
    the formats (their seconds, and why report.pdf is missing when it is). The claims come first, the
    instruments' self-checks after them (a reader looks for the paper's claims)."""
    records = [r for r in records if not is_self_check(r)] + [r for r in records if is_self_check(r)]
    man = dict(manifest)
    man["claim_seconds"] = {r.claim.id: round(r.seconds, 3) for r in records}
    page = front_page(records, man, sweep_answer=radius_answer_from_file(EXAMPLE_TABLE))
    seconds: dict[str, float] = {}

    def timed(name: str, write) -> None:
        start = time.perf_counter()
        write()
        seconds[name] = time.perf_counter() - start

    timed("report.md", lambda: (stage / "report.md").write_text(markdown.markdown(records, man, page)))
    timed(
        "report.json",
        lambda: (stage / "report.json").write_text(json.dumps(to_json(records, man), indent=2) + "\n"),
    )
    timed("report.tex", lambda: (stage / "report.tex").write_text(latex.document(records, man, page)))
    timed(
        "report-tables.tex", lambda: (stage / "report-tables.tex").write_text(latex.tables_only(records, man))
    )
    timed(
        "report.html",
        lambda: (stage / "report.html").write_text(html.page(records, man, page, stage / "figures")),
    )
    (stage / "manifest.json").write_text(json.dumps(man, indent=2) + "\n")
    note = ""
    if compile_pdf:
        compiled = pdf.compile_pdf(stage)
        if compiled.pdf is not None:
            seconds["report.pdf"] = compiled.seconds
        else:
            note = f"\nreport.pdf not written: {compiled.message}"
    formats = ", ".join(f"{name} {s:.1f} s" for name, s in seconds.items())
    lines = f"reports written ({formats}){note}".split("\n")
    written = "\n".join(textwrap.fill(line, TERMINAL_WIDTH) for line in lines)
    return f"{terminal(page)}\n\n{written}"
