"""Report writers: Markdown, JSON, LaTeX and the manifest, rendered from the records' values.

Formatting lives here only: tables hold numbers with declared columns (`verify.claim.Column`), verdicts
render their own one-line summaries, and the JSON carries every verdict's rule (value, threshold,
direction) so a reader's script can re-decide each claim without the code. The folder is written into a
staging directory that `verify.runtime.output` swaps in atomically.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tabulate import tabulate

from verify.claim import Column, Table
from verify.harness import Record
from verify.statistics import Rule
from verify.statistics import jsonable as _jsonable


def format_cell(value: Any, column: Column) -> str:
    """One table cell as text: None as "-", booleans as yes/no, numbers by the column's format."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (int, float)) and column.format:
        return format(value, column.format)
    return str(value)


def format_rule(rule: Rule) -> str:
    """'p = 0.196 >= 3.1e-05': the decisive comparison of a verdict."""
    return f"{rule.quantity} = {_number(rule.value)} {rule.passes_if} {_number(rule.threshold)}"


def _number(x: float) -> str:
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    return f"{x:.3g}"


def _cell_md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _rows(t: Table) -> list[list[str]]:
    return [[format_cell(v, c) for v, c in zip(row, t.columns, strict=True)] for row in t.rows]


def summary_rows(records: list[Record]) -> list[list[str]]:
    """One short row per claim: id, title, the decisive number against its threshold, verdict, seconds."""
    rows = []
    for r in records:
        decisive = (
            format_rule(r.outcome.decisive.rule)
            if r.outcome
            else (r.error.strip().splitlines() or [""])[-1][:80]
        )
        rows.append([r.claim.id, r.claim.title, decisive, r.verdict.upper(), f"{r.seconds:.1f}"])
    return rows


SUMMARY_HEADERS = ("id", "claim", "decisive number", "verdict", "seconds")
POWER_HEADERS = ("id", "wrong prediction", "caught by", "n", "per-test rate", "power")


def power_rows(records: list[Record]) -> list[list[str]]:
    """Every statistical claim's detection targets, one row each (a claim without any says so)."""
    rows = []
    for r in records:
        if not r.false_fail_rate:
            continue
        found = r.outcome.detections if r.outcome else ()
        rows += [[r.claim.id, d.target, d.test, str(d.n), f"{d.alpha:.2g}", f"{d.power:.3f}"] for d in found]
        if not found:
            rows.append([r.claim.id, "(none declared)", "", "", "", ""])
    return rows


def _grid_md(rows: list[list[str]], headers: list[str]) -> str:
    """Cells already formatted as text, as a GitHub Markdown table."""
    return tabulate(
        [[_cell_md(c) for c in row] for row in rows],
        headers=headers,
        tablefmt="github",
        disable_numparse=True,
    )


def _table_md(t: Table) -> str:
    return f"**{t.title}**\n\n{_grid_md(_rows(t), [c.name for c in t.columns])}\n"


def markdown(records: list[Record], manifest: dict) -> str:
    n_pass = sum(r.verdict == "pass" for r in records)
    hardware = manifest["hardware"]
    lines = [
        "# offsub verification report",
        "",
        "Claims of Melamed, Yehudai & Vardi, *Adversarial Examples Exist in Two-Layer ReLU Networks for "
        "Low Dimensional Linear Subspaces* (NeurIPS 2023), checked against networks trained here. "
        "The statements checked are our derivations (see `docs/derivations.md`), not quotations of the paper.",
        "",
        f"- command: `{manifest['command']}`",
        f"- profile `{manifest['profile']}`, seed {manifest['seed']}, device `{manifest['device']}`, "
        f"executor `{manifest['executor']}` with {manifest['jobs']} worker(s); family false-fail rate "
        f"{manifest['false_fail_rate']:g}, Bonferroni-split over the statistical claims and their tests",
        f"- commit `{manifest['git_commit']}`; started {manifest['started']}, finished {manifest['finished']} "
        f"({manifest['wall_seconds']:.0f} s wall)",
        f"- hardware: {hardware.get('cpu', '')}" + (f", GPU {hardware['gpu']}" if "gpu" in hardware else ""),
        "- versions: " + ", ".join(f"{k} {v}" for k, v in manifest["versions"].items()),
        "",
        f"**{n_pass} of {len(records)} claims pass.** Each row shows the verdict closest to failing: its "
        "quantity against its threshold. A statistical claim fails by chance with at most its stated "
        "false-fail rate when the prediction is right; seconds include the claim's share of the "
        "experiments it uses.",
        "",
        "## Summary",
        "",
        _grid_md(summary_rows(records), list(SUMMARY_HEADERS)),
        "",
        "## Power by design",
        "",
        "For each statistical claim, the realistic wrong predictions it must catch and the probability that it "
        "fails were that prediction the theory, at the sample it got and its per-test rate (exact for the mean "
        "and binomial tests; lower bounds for KS and for a reversed direction).",
        "",
        _grid_md(power_rows(records), list(POWER_HEADERS)),
        "",
    ]
    section = None
    for r in records:
        if r.claim.section != section:
            section = r.claim.section
            lines += [f"## {section}", ""]
        lines += [f"### {r.claim.id}: {r.claim.title}", "", r.claim.statement, ""]
        rate = (
            f"; false-fail rate {r.false_fail_rate:.2g} ({r.test_rate:.2g} per test)"
            if r.false_fail_rate
            else ""
        )
        theory = (
            f"; predictions from theory result(s) {', '.join(r.claim.results)}" if r.claim.results else ""
        )
        lines += [
            f"Verdict **{r.verdict.upper()}** in {r.seconds:.1f} s (rule {r.rule_seconds:.1f} s, experiments "
            f"{r.experiment_seconds:.1f} s){rate}{theory}.",
            "",
        ]
        if r.outcome is None:
            lines += ["```", r.error, "```", ""]
            continue
        o = r.outcome
        lines += [f"- prediction: {o.prediction}"]
        lines += [f"- verdict: `{_cell_md(v.summary())}`" for v in o.verdicts]
        lines += [f"- reported, not judged: `{_cell_md(v.summary())}`" for v in o.reported]
        lines.append("")
        if o.method:
            lines += [o.method, ""]
        for t in o.all_tables:
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
        disable_numparse=True,
    )
    return (
        "\\begin{table}[ht]\n\\centering\\small\n"
        + f"\\caption{{{_tex_escape(title)}}}\n"
        + "\\resizebox{\\textwidth}{!}{%\n"
        + body
        + "}\n\\end{table}\n"
    )


def latex(records: list[Record], manifest: dict) -> str:
    parts = [
        "% offsub verification report: tables for inclusion (needs booktabs and graphicx).",
        f"% command: {manifest['command']}; commit {manifest['git_commit']}",
        _table_tex("Summary of claims", SUMMARY_HEADERS, summary_rows(records)),
    ]
    for r in records:
        for t in r.outcome.all_tables if r.outcome else ():
            parts.append(_table_tex(f"{r.claim.id}: {t.title}", [c.name for c in t.columns], _rows(t)))
    return "\n".join(parts)


def _deep_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _deep_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_deep_jsonable(v) for v in value]
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if hasattr(value, "tolist"):
        return _deep_jsonable(value.tolist())
    return _jsonable(value)


def to_json(records: list[Record], manifest: dict) -> dict:
    claims = []
    for r in records:
        o = r.outcome
        claims.append(
            {
                "id": r.claim.id,
                "title": r.claim.title,
                "statement": r.claim.statement,
                "results": list(r.claim.results),
                "section": r.claim.section,
                "verdict": r.verdict,
                "statistical": r.claim.statistical,
                "false_fail_rate": r.false_fail_rate,
                "test_rate": r.test_rate,
                "seconds": round(r.seconds, 3),
                "rule_seconds": round(r.rule_seconds, 3),
                "experiment_seconds": round(r.experiment_seconds, 3),
                "prediction": o.prediction if o else None,
                "method": o.method if o else None,
                "verdicts": [v.as_dict() for v in o.verdicts] if o else [],
                "reported": [v.as_dict() for v in o.reported] if o else [],
                "detections": [d.as_dict() for d in o.detections] if o else [],
                "decisive": o.decisive.rule.as_dict() if o else None,
                "tables": [
                    {
                        "title": t.title,
                        "columns": [{"name": c.name, "format": c.format} for c in t.columns],
                        "rows": [[_jsonable(v) for v in row] for row in t.rows],
                    }
                    for t in (o.all_tables if o else ())
                ],
                "figures": [f"figures/{f}" for f in (o.figures if o else ())],
                "details": _deep_jsonable(dict(o.details)) if o else {},
                "error": r.error or None,
            }
        )
    return {"manifest": manifest, "claims": claims}


def write_all(stage: Path, records: list[Record], manifest: dict) -> None:
    """Write report.md, report.json, report.tex and manifest.json into `stage`."""
    man = dict(manifest)
    man["claim_seconds"] = {r.claim.id: round(r.seconds, 3) for r in records}
    (stage / "report.md").write_text(markdown(records, man))
    (stage / "report.json").write_text(json.dumps(to_json(records, man), indent=2) + "\n")
    (stage / "report.tex").write_text(latex(records, man))
    (stage / "manifest.json").write_text(json.dumps(man, indent=2) + "\n")
