"""report.tex, a complete document for `pdflatex`, and report-tables.tex, its tables alone for inclusion in a
paper. Every string passes once through `verify.reports.notation.tex` (escaped once, math set as math).

Tables are `longtable`s (they break across pages) whose columns are sized to the page: a column of numbers
or identifiers keeps its natural width, the text columns share what is left and wrap; a table that cannot
fit the portrait line even so is set on a landscape page. Figures are not floats (no float can be lost).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from verify.claim import Table
from verify.harness import Record
from verify.reports.front_page import FrontPage, evidence_sentence
from verify.reports.notation import tex, tex_identifier
from verify.reports.rows import (
    POWER_HEADERS,
    SUMMARY_HEADERS,
    numeric_columns,
    power_rows,
    summary_rows,
    table_rows,
)
from verify.reports.verdicts import VERDICT_HEADERS, verdict_row

__all__ = ["PACKAGES", "document", "longtable", "tables_only"]

#: What both files need: report-tables.tex names these in its first line for whoever inputs it.
PACKAGES = ("amsmath", "graphicx", "booktabs", "longtable", "array", "pdflscape", "xcolor")
# Widths in TeX points at \footnotesize (8 pt): a character's width in the roman and typewriter fonts
# (digits are 4.6 pt, the widest common glyphs) and in the bold headers, the usable line of A4 with 18 mm
# margins (portrait, landscape) less a safety margin for the estimate, the column separation, and the
# narrowest a wrapped text column may become.
_CHAR_PT = 4.6
_BOLD_PT = 5.4
_PORTRAIT_PT = 470.0
_LANDSCAPE_PT = 700.0
_COLSEP_PT = 3.0
_MIN_TEXT_PT = 60.0
_VERDICT_COLOURS = {"PASS": "passgreen", "FAIL": "failred", "ERROR": "failred"}


def _verdict(word: str) -> str:
    colour = _VERDICT_COLOURS.get(word.strip("()"))
    return rf"\textcolor{{{colour}}}{{\textbf{{{word}}}}}" if colour else tex(word)


def _cells_width(texts: Sequence[str]) -> float:
    return max((len(t) for t in texts), default=1) * _CHAR_PT


def _header_word(header: str) -> float:
    return max((len(w) for w in header.split()), default=1) * _BOLD_PT


def _p(width: float, right: bool) -> str:
    align = r"\raggedleft" if right else r"\raggedright"
    return rf">{{{align}\arraybackslash}}p{{{width:.0f}pt}}"


def _layout(headers: Sequence[str], cells: list[list[str]], nowrap: list[bool]) -> tuple[list[str], bool]:
    """Column specs and whether the table needs a landscape page (module docstring). Every column is a
    paragraph column, so headers wrap; one of numbers or identifiers is as wide as its widest cell (or
    its header's longest word), the text columns share the rest of the line and wrap."""
    fixed = [max(_cells_width(c), _header_word(h)) for h, c in zip(headers, cells, strict=True)]
    natural = [max(_cells_width(c), len(h) * _BOLD_PT) for h, c in zip(headers, cells, strict=True)]
    padding = 2 * _COLSEP_PT * len(headers)
    right = [n and i > 0 for i, n in enumerate(nowrap)]
    for line, landscape in ((_PORTRAIT_PT, False), (_LANDSCAPE_PT, True)):
        if sum(natural) + padding <= line:
            return [_p(w, r) for w, r in zip(natural, right, strict=True)], landscape
        text = [i for i, n in enumerate(nowrap) if not n]
        room = line - padding - sum(w for w, n in zip(fixed, nowrap, strict=True) if n)
        if text and room >= _MIN_TEXT_PT * len(text):
            widths = list(fixed)
            for i, w in zip(text, _share(room, [natural[i] for i in text]), strict=True):
                widths[i] = w
            return [_p(w, r) for w, r in zip(widths, right, strict=True)], landscape
    widths = _share(_LANDSCAPE_PT - padding, natural)  # too many columns: every column wraps
    return [_p(max(w, 20.0), r) for w, r in zip(widths, right, strict=True)], True


def _share(room: float, natural: list[float]) -> list[float]:
    """Water-filling: a column narrower than its fair share keeps its width, the others split the rest."""
    widths = [0.0] * len(natural)
    todo = sorted(range(len(natural)), key=lambda i: natural[i])
    while todo:
        fair = room / len(todo)
        i = todo[0]
        if natural[i] <= fair:
            widths[i] = natural[i]
            room -= natural[i]
            todo.pop(0)
        else:
            for j in todo:
                widths[j] = fair
            break
    return widths


def longtable(
    title: str,
    headers: Sequence[str],
    rows: list[list[str]],
    *,
    nowrap: Sequence[bool] | None = None,
    render: Sequence | None = None,
) -> str:
    """A titled longtable of text cells; `nowrap` marks columns kept at their natural width (numbers,
    identifiers), `render` gives a column its own cell renderer (default: `notation.tex`)."""
    n = len(headers)
    nowrap = list(nowrap) if nowrap is not None else [False] * n
    render = list(render) if render is not None else [tex] * n
    cells = [[row[j] for row in rows] for j in range(n)]
    specs, landscape = _layout(headers, cells, nowrap)
    head = " & ".join(rf"\textbf{{{tex(h)}}}" for h in headers) + r" \\ \midrule"
    body = "\n".join(" & ".join(render[j](c) for j, c in enumerate(row)) + r" \\" for row in rows)
    text = "\n".join(
        [
            r"{\footnotesize\setlength{\tabcolsep}{3pt}",
            rf"\begin{{longtable}}{{{''.join(specs)}}}",
            rf"\caption*{{{tex(title)}}} \\ \toprule",
            head,
            r"\endfirsthead",
            rf"\multicolumn{{{n}}}{{l}}{{\emph{{{tex(title)} (continued)}}}} \\ \toprule",
            head,
            r"\endhead",
            r"\bottomrule",
            r"\endlastfoot",
            body,
            r"\end{longtable}}",
        ]
    )
    return rf"\begin{{landscape}}{text}\end{{landscape}}" if landscape else text


def _link(claim_id: str) -> str:
    return rf"\hyperref[claim:{claim_id}]{{{tex_identifier(claim_id)}}}"


def _table(title: str, t: Table) -> str:
    return longtable(title, [c.name for c in t.columns], table_rows(t), nowrap=numeric_columns(t))


def summary_table(records: list[Record]) -> str:
    render = [_link, tex, tex, _verdict, tex]
    return longtable(
        "Summary of claims: the verdict closest to failing, its quantity against its threshold",
        SUMMARY_HEADERS,
        summary_rows(records),
        nowrap=[True, False, False, True, True],
        render=render,
    )


def power_table(records: list[Record]) -> str:
    return longtable(
        "Power by design: realistic wrong predictions and the probability that each claim catches them",
        POWER_HEADERS,
        power_rows(records),
        nowrap=[True, False, False, True, True, True],
        render=[tex_identifier, tex, tex, tex, tex, tex],
    )


def _bookmark(text: str) -> str:
    """PDF bookmark text: letters, digits and plain punctuation only (hyperref's PDF strings)."""
    return re.sub(r"[^A-Za-z0-9 .,:;()/=+-]", " ", text).strip()


def _figure(name: str, caption: str, width: str = "0.8") -> str:
    return (
        r"\begin{center}"
        rf"\includegraphics[width={width}\linewidth,height=0.36\textheight,keepaspectratio]{{figures/{name}}}\\"
        rf"{{\small {tex(caption)}}}\end{{center}}"
    )


def _front_page(page: FrontPage) -> list[str]:
    parts = [
        r"\section*{What the paper claims, and what this run found}",
        r"\addcontentsline{toc}{section}{What the paper claims, and what this run found}",
        rf"\textbf{{{tex(page.headline)}}}",
        "",
    ]
    for i, c in enumerate(page.claims, 1):
        parts += [
            rf"\paragraph{{{i}. {tex(c.title)}: {tex(c.answer)}.}} "
            rf"{tex(c.statement)} {tex(evidence_sentence(c))}",
            "",
        ]
        if c.figure:
            parts.append(_figure(c.figure, c.figure_caption, "0.55"))
    if page.beyond:
        parts += [r"\paragraph{Beyond the paper.}", *(tex(s) + "\n" for s in page.beyond)]
    if page.violations:
        parts += [r"\paragraph{Where the assumptions break.}", r"\begin{itemize}"]
        parts += [
            rf"\item {_verdict(v.verdict)} {tex_identifier(v.id)}: {tex(v.title)}; {tex(v.number)}"
            for v in page.violations
        ]
        parts.append(r"\end{itemize}")
    return parts


def _claim_section(r: Record) -> list[str]:
    title = rf"{tex_identifier(r.claim.id)}: {tex(r.claim.title)}"
    mark = _bookmark(f"{r.claim.id}: {r.claim.title}").replace("_", " ")
    parts = [
        rf"\subsection{{\texorpdfstring{{{title}}}{{{mark}}}}}\label{{claim:{r.claim.id}}}",
        tex(r.claim.statement),
        "",
    ]
    rate = (
        f"; false-fail rate {r.false_fail_rate:.2g} ({r.test_rate:.2g} per test)" if r.false_fail_rate else ""
    )
    theory = f"; predictions from theory result(s) {', '.join(r.claim.results)}" if r.claim.results else ""
    parts += [
        rf"Verdict {_verdict(r.verdict.upper())} in "
        + tex(
            f"{r.seconds:.1f} s (rule {r.rule_seconds:.1f} s, "
            f"experiments {r.experiment_seconds:.1f} s){rate}{theory}."
        ),
        "",
    ]
    if r.outcome is None:
        return parts + [r"\begin{verbatim}", r.error.replace(r"\end{verbatim}", ""), r"\end{verbatim}"]
    o = r.outcome
    parts += [r"\textbf{Prediction.} " + tex(o.prediction), ""]
    rows = [verdict_row(v).cells() for v in o.verdicts] + [verdict_row(v, False).cells() for v in o.reported]
    render = [_verdict] + [tex] * (len(VERDICT_HEADERS) - 1)
    nowrap = [True, False, False, True, True, True, False, False]
    parts.append(longtable(f"{r.claim.id}: verdicts", VERDICT_HEADERS, rows, nowrap=nowrap, render=render))
    if o.reported:
        parts += ["Rows in parentheses are reported for reference and never decide the claim.", ""]
    if o.method:
        parts += [r"\textbf{Method.} " + tex(o.method), ""]
    parts += [_table(f"{r.claim.id}: {t.title}", t) for t in o.all_tables]
    parts += [_figure(f, f"{r.claim.id}: {f}") for f in o.figures]
    return parts


def _manifest(manifest: dict) -> list[str]:
    hardware = manifest["hardware"]
    items = [
        f"command: {manifest['command']}",
        f"profile {manifest['profile']}, seed {manifest['seed']}, device {manifest['device']}, executor "
        f"{manifest['executor']} with {manifest['jobs']} worker(s); family false-fail rate "
        f"{manifest['false_fail_rate']:g}, Bonferroni-split over the statistical claims and their tests",
        f"commit {manifest['git_commit']}; started {manifest['started']}, finished {manifest['finished']} "
        f"({manifest['wall_seconds']:.0f} s wall)",
        f"hardware: {hardware.get('cpu', '')}" + (f", GPU {hardware['gpu']}" if "gpu" in hardware else ""),
        "versions: " + ", ".join(f"{k} {v}" for k, v in manifest["versions"].items()),
    ]
    return [r"\section{Manifest}", r"\begin{itemize}", *(rf"\item {tex(i)}" for i in items), r"\end{itemize}"]


_PREAMBLE = "\n".join(
    [
        r"\documentclass[10pt,a4paper]{article}",
        r"\usepackage[margin=18mm]{geometry}",
        r"\usepackage{" + ",".join(PACKAGES) + "}",
        r"\usepackage[hidelinks]{hyperref}",
        r"\definecolor{passgreen}{HTML}{1A7F37}",
        r"\definecolor{failred}{HTML}{CF222E}",
        r"\setlength{\LTcapwidth}{0.95\linewidth}",
        r"\setlength{\parindent}{0pt}",
        r"\setlength{\parskip}{0.5ex}",
        r"\emergencystretch=3em",
    ]
)


def document(records: list[Record], manifest: dict, page: FrontPage) -> str:
    """The whole report.tex: title, front page, summary, one section per claim, power table, manifest."""
    parts = [
        _PREAMBLE,
        r"\title{offsub verification report}",
        r"\author{}",
        rf"\date{{{tex(manifest['finished'])}; commit {tex(manifest['git_commit'])}}}",
        r"\begin{document}",
        r"\maketitle",
        tex(
            "Claims of Melamed, Yehudai & Vardi, Adversarial Examples Exist in Two-Layer ReLU Networks for "
            "Low Dimensional Linear Subspaces (NeurIPS 2023), checked on networks trained here (command: "
            f"{manifest['command']})."
        ),
        "",
        *_front_page(page),
        r"\section{Summary}",
        tex(
            "A statistical claim fails by chance with at most its stated false-fail rate when the "
            "prediction is right; seconds include the claim's share of the experiments it uses. The "
            "statements checked are our derivations (docs/derivations.md), not quotations of the paper."
        ),
        "",
        summary_table(records),
    ]
    section = None
    for r in records:
        if r.claim.section != section:
            section = r.claim.section
            parts.append(rf"\section{{\texorpdfstring{{{tex(section)}}}{{{_bookmark(section)}}}}}")
        parts += _claim_section(r)
    parts += [r"\section{Power by design}", power_table(records), *_manifest(manifest), r"\end{document}", ""]
    return "\n".join(parts)


def tables_only(records: list[Record], manifest: dict) -> str:
    """report-tables.tex: the summary, each claim's verdicts and tables, the power table; to \\input."""
    parts = [
        f"% offsub verification report: tables for inclusion; needs \\usepackage{{{','.join(PACKAGES)}}}",
        "% and \\definecolor{passgreen}{HTML}{1A7F37} \\definecolor{failred}{HTML}{CF222E};",
        f"% command: {manifest['command']}; commit {manifest['git_commit']}",
        longtable(
            "Summary of claims",
            SUMMARY_HEADERS,
            summary_rows(records),
            nowrap=[True, False, False, True, True],
            render=[tex_identifier, tex, tex, _verdict, tex],
        ),
    ]
    for r in records:
        if r.outcome is None:
            continue
        rows = [verdict_row(v).cells() for v in r.outcome.verdicts]
        nowrap = [True, False, False, True, True, True, False, False]
        render = [_verdict] + [tex] * (len(VERDICT_HEADERS) - 1)
        parts.append(
            longtable(f"{r.claim.id}: verdicts", VERDICT_HEADERS, rows, nowrap=nowrap, render=render)
        )
        parts += [_table(f"{r.claim.id}: {t.title}", t) for t in r.outcome.all_tables]
    parts.append(power_table(records))
    return "\n".join(parts) + "\n"
