"""Report writers: Markdown, JSON, LaTeX and the manifest, written atomically.

The whole report directory is built beside the target and swapped in at the end, so a crash or an
interrupted run leaves the previous report untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabulate import tabulate

from verify.registry import Check, Outcome, Table


@dataclass
class CheckRecord:
    """A finished check: its registry entry, its outcome (None on internal error), its timing."""

    check: Check
    outcome: Outcome | None
    verdict: str  # pass | fail | error
    seconds: float
    false_fail_rate: float | None
    error: str = ""


@contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """Yield a fresh sibling directory; on success it replaces `target`, on failure it is removed."""
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        os.replace(target, old)
    os.replace(stage, target)
    shutil.rmtree(old, ignore_errors=True)


def _cell(x: Any) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def summary_rows(records: list[CheckRecord]) -> list[list[str]]:
    rows = []
    for r in records:
        o = r.outcome
        rows.append(
            [
                r.check.id,
                r.check.claim,
                o.predicted if o else "",
                o.measured if o else "",
                o.statistic if o else r.error,
                r.verdict.upper(),
                f"{r.seconds:.1f}",
            ]
        )
    return rows


SUMMARY_HEADERS = ("id", "claim", "predicted", "measured", "statistic", "verdict", "seconds")


def _table_md(t: Table) -> str:
    body = tabulate([[_cell(c) for c in row] for row in t.rows], headers=list(t.headers), tablefmt="github")
    return f"**{t.title}**\n\n{body}\n"


def markdown(records: list[CheckRecord], manifest: dict) -> str:
    n_pass = sum(r.verdict == "pass" for r in records)
    lines = [
        "# offsub verification report",
        "",
        "Claims of Melamed, Yehudai & Vardi, *Adversarial Examples Exist in Two-Layer ReLU Networks for "
        "Low Dimensional Linear Subspaces* (NeurIPS 2023), checked against networks trained here. "
        "The statements checked are our derivations (see `docs/derivations.md`), not quotations of the paper.",
        "",
        f"- command: `{manifest['command']}`",
        f"- profile `{manifest['profile']}`, seed {manifest['seed']}, device `{manifest['device']}`, "
        f"family false-fail rate {manifest['false_fail_rate']:g} (Bonferroni-split over the statistical checks)",
        f"- commit `{manifest['git_commit']}`; started {manifest['started']}, finished {manifest['finished']}",
        f"- hardware: {manifest['hardware'].get('cpu', '')}"
        + (f", GPU {manifest['hardware']['gpu']}" if "gpu" in manifest["hardware"] else ""),
        "- versions: " + ", ".join(f"{k} {v}" for k, v in manifest["versions"].items()),
        "",
        f"**{n_pass} of {len(records)} checks pass.** A verdict is decided by the statistic column: "
        "each statistical check fails by chance with at most its stated false-fail rate when the "
        "prediction is right.",
        "",
        "## Summary",
        "",
        tabulate(
            [[_cell(c) for c in row] for row in summary_rows(records)],
            headers=list(SUMMARY_HEADERS),
            tablefmt="github",
        ),
        "",
    ]
    section = None
    for r in records:
        if r.check.section != section:
            section = r.check.section
            lines += [f"## {section}", ""]
        lines += [f"### {r.check.id}: {r.check.claim}", ""]
        lines.append(
            f"Verdict **{r.verdict.upper()}** in {r.seconds:.1f} s"
            + (f"; false-fail rate {r.false_fail_rate:.2g}." if r.false_fail_rate else ".")
        )
        lines.append("")
        if r.outcome is None:
            lines += ["```", r.error, "```", ""]
            continue
        o = r.outcome
        lines += [
            f"- predicted: {o.predicted}",
            f"- measured: {o.measured}",
            f"- statistic: {o.statistic}",
            "",
        ]
        if o.notes:
            lines += [o.notes, ""]
        for t in o.tables:
            lines += [_table_md(t), ""]
        for f in o.figures:
            lines += [f"![{f}](figures/{f})", ""]
    return "\n".join(lines)


def _tex_escape(s: Any) -> str:
    s = str(s)
    # Backslash first, so the escapes added after it are not escaped again.
    for a, b in (
        ("\\", r"\textbackslash "),
        ("&", r"\&"),
        ("%", r"\%"),
        ("$", r"\$"),
        ("#", r"\#"),
        ("_", r"\_"),
        ("{", r"\{"),
        ("}", r"\}"),
        ("~", r"\textasciitilde "),
        ("^", r"\^{}"),
    ):
        s = s.replace(a, b)
    return s


def _table_tex(title: str, headers, rows) -> str:
    body = tabulate(
        [[_tex_escape(c) for c in row] for row in rows],
        headers=[_tex_escape(h) for h in headers],
        tablefmt="latex_booktabs",
    )
    return (
        "\\begin{table}[ht]\n\\centering\\small\n"
        + f"\\caption{{{_tex_escape(title)}}}\n"
        + "\\resizebox{\\textwidth}{!}{%\n"
        + body
        + "}\n\\end{table}\n"
    )


def latex(records: list[CheckRecord], manifest: dict) -> str:
    parts = [
        "% offsub verification report: tables for inclusion (needs booktabs and graphicx).",
        f"% command: {manifest['command']}; commit {manifest['git_commit']}",
        _table_tex("Summary of checks", SUMMARY_HEADERS, summary_rows(records)),
    ]
    for r in records:
        for t in r.outcome.tables if r.outcome else []:
            parts.append(_table_tex(f"{r.check.id}: {t.title}", t.headers, t.rows))
    return "\n".join(parts)


def to_json(records: list[CheckRecord], manifest: dict) -> dict:
    checks = []
    for r in records:
        o = r.outcome
        checks.append(
            {
                "id": r.check.id,
                "claim": r.check.claim,
                "result": r.check.result,
                "verdict": r.verdict,
                "predicted": o.predicted if o else None,
                "measured": o.measured if o else None,
                "statistic": o.statistic if o else None,
                "false_fail_rate": r.false_fail_rate,
                "seconds": round(r.seconds, 3),
                "details": o.details if o else {},
                "tables": [
                    {
                        "title": t.title,
                        "headers": list(t.headers),
                        "rows": [list(map(_jsonable, row)) for row in t.rows],
                    }
                    for t in (o.tables if o else [])
                ],
                "figures": [f"figures/{f}" for f in (o.figures if o else [])],
                "error": r.error or None,
            }
        )
    return {"manifest": manifest, "checks": checks}


def _jsonable(x: Any) -> Any:
    if isinstance(x, (str, int, bool)) or x is None:
        return x
    if isinstance(x, float):
        return x if x == x and abs(x) != float("inf") else str(x)
    try:
        return float(x)
    except (TypeError, ValueError):
        return str(x)


def write_all(stage: Path, records: list[CheckRecord], manifest: dict) -> None:
    """Write report.md, report.json, report.tex and manifest.json into `stage`."""
    man = dict(manifest)
    man["check_seconds"] = {r.check.id: round(r.seconds, 3) for r in records}
    (stage / "report.md").write_text(markdown(records, man))
    (stage / "report.json").write_text(json.dumps(to_json(records, man), indent=2, default=_jsonable) + "\n")
    (stage / "report.tex").write_text(latex(records, man))
    (stage / "manifest.json").write_text(json.dumps(man, indent=2) + "\n")
