"""report.html: one self-contained page that works offline. Figures are embedded as base64 PNG, the style
sheet is inline, there is no script and no external URL; the summary's coloured verdicts link to each
claim's section, each verdict is a table row, long tables scroll inside their section, and a print style
sheet unfolds them. Every string passes once through `verify.reports.notation.html`."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path

from verify.claim import Table
from verify.harness import Record
from verify.reports.front_page import FrontPage, evidence_sentence
from verify.reports.notation import html
from verify.reports.rows import POWER_HEADERS, numeric_columns, power_rows, summary_rows, table_rows
from verify.reports.verdicts import VERDICT_HEADERS, verdict_row

__all__ = ["STYLE", "page"]

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
       max-width: 76rem; margin: 0 auto; padding: 1rem 1.5rem 4rem; }
h1 { font-size: 1.8rem; margin-bottom: 0.2rem; } \
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; }
h3 { margin-top: 2rem; } code { font: 0.92em ui-monospace, SFMono-Regular, Menlo, monospace; }
.meta { color: #59636e; font-size: 0.9rem; } .meta li { margin: 0.1rem 0; }
.front { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 8px; padding: 0.5rem 1.2rem 1rem; }
.front figure { margin: 0.5rem 0 1rem; } .front img { max-width: min(100%, 42rem); }
.scroll { max-height: 26rem; overflow: auto; border: 1px solid #d0d7de; border-radius: 6px; \
margin: 0.6rem 0; }
table { border-collapse: collapse; font-size: 0.86rem; width: 100%; }
caption { text-align: left; font-weight: 600; padding: 0.4rem 0.5rem; }
th, td { padding: 0.25rem 0.5rem; border-bottom: 1px solid #eaeef2; text-align: left; vertical-align: top; }
th { background: #f6f8fa; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.pass { background: #dafbe1; color: #116329; font-weight: 700; }
.fail, .error { background: #ffebe9; color: #a40e26; font-weight: 700; }
.reported { color: #59636e; font-style: italic; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; }
figcaption { color: #59636e; font-size: 0.85rem; }
pre { background: #f6f8fa; padding: 0.6rem; overflow: auto; }
@media print {
  body { max-width: none; font-size: 10pt; padding: 0; }
  .scroll { max-height: none; overflow: visible; border: none; }
  th { position: static; } h2, h3 { break-after: avoid; } figure, tr { break-inside: avoid; }
  .pass, .fail, .error { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
}
"""


def _anchor(claim_id: str) -> str:
    return "claim-" + claim_id


def _verdict_cell(word: str) -> str:
    kind = word.strip("()").lower()
    css = kind if kind in ("pass", "fail", "error") else ""
    return f'<td class="{css}">{escape(word)}</td>'


def _table(
    caption: str,
    headers: Sequence[str],
    rows: list[list[str]],
    *,
    numeric: Sequence[bool] | None = None,
    cells: dict[int, Callable[[str], str]] | None = None,
    row_class: Sequence[str] | None = None,
) -> str:
    """A captioned table inside a scrolling box; `cells` renders whole <td>s of some columns."""
    numeric = list(numeric) if numeric is not None else [False] * len(headers)
    cells = cells or {}
    head = "".join(f"<th>{html(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        tds = "".join(
            cells[j](c)
            if j in cells
            else (f'<td class="num">{html(c)}</td>' if numeric[j] else f"<td>{html(c)}</td>")
            for j, c in enumerate(row)
        )
        css = f' class="{row_class[i]}"' if row_class and row_class[i] else ""
        body.append(f"<tr{css}>{tds}</tr>")
    return (
        f'<div class="scroll"><table><caption>{html(caption)}</caption><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _data_table(t: Table) -> str:
    return _table(t.title, [c.name for c in t.columns], table_rows(t), numeric=numeric_columns(t))


def _image(folder: Path, name: str, caption: str) -> str:
    data = base64.b64encode((folder / name).read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{escape(name)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html(caption)}</figcaption></figure>"
    )


def _front_page(front: FrontPage, figures: Path) -> list[str]:
    parts = [
        '<section class="front" id="front-page"><h2>What the paper claims, and what this run found</h2>',
        f"<p><strong>{html(front.headline)}</strong></p>",
    ]
    for i, c in enumerate(front.claims, 1):
        parts.append(f"<h3>{i}. {html(c.title)}: {html(c.answer)}</h3>")
        linked = evidence_sentence(c)
        parts.append(
            f"<p>{html(c.statement)}</p><p>{_link_ids(html(linked), [e.id for e in c.evidence])}</p>"
        )
        if c.figure and (figures / c.figure).exists():
            parts.append(_image(figures, c.figure, c.figure_caption))
    if front.beyond:
        parts.append("<h3>Beyond the paper</h3>" + "".join(f"<p>{html(s)}</p>" for s in front.beyond))
    if front.violations:
        parts.append("<h3>Where the assumptions break</h3><ul>")
        parts += [
            f'<li><span class="{v.verdict.lower()}">{escape(v.verdict)}</span> '
            f'<a href="#{_anchor(v.id)}"><code>{escape(v.id)}</code></a>: '
            f"{html(v.title)}; {html(v.number)}</li>"
            for v in front.violations
        ]
        parts.append("</ul>")
    parts.append("</section>")
    return parts


def _link_ids(text: str, ids: list[str]) -> str:
    """Turn each claim id's <code> in already-rendered HTML into a link to its section."""
    for claim_id in ids:
        code = f"<code>{escape(claim_id)}</code>"
        text = text.replace(code, f'<a href="#{_anchor(claim_id)}">{code}</a>')
    return text


def _summary(records: list[Record]) -> str:
    rows = summary_rows(records)

    def link(claim_id: str) -> str:
        return f'<td><a href="#{_anchor(claim_id)}"><code>{escape(claim_id)}</code></a></td>'

    return _table(
        "Summary: the verdict closest to failing, its quantity against its threshold",
        ("id", "claim", "decisive number", "verdict", "seconds"),
        rows,
        numeric=[False, False, False, False, True],
        cells={0: link, 3: _verdict_cell},
    )


def _claim_section(r: Record, figures: Path) -> list[str]:
    parts = [
        f'<section id="{escape(_anchor(r.claim.id))}"><h3><code>{escape(r.claim.id)}</code>: '
        f"{html(r.claim.title)}</h3>",
        f"<p>{html(r.claim.statement)}</p>",
    ]
    rate = (
        f"; false-fail rate {r.false_fail_rate:.2g} ({r.test_rate:.2g} per test)" if r.false_fail_rate else ""
    )
    theory = f"; predictions from theory result(s) {', '.join(r.claim.results)}" if r.claim.results else ""
    word = r.verdict.upper()
    parts.append(
        f'<p>Verdict <span class="{r.verdict}">{word}</span> in '
        + html(
            f"{r.seconds:.1f} s (rule {r.rule_seconds:.1f} s, "
            f"experiments {r.experiment_seconds:.1f} s){rate}{theory}."
        )
        + "</p>"
    )
    if r.outcome is None:
        return [*parts, f"<pre>{escape(r.error)}</pre></section>"]
    o = r.outcome
    parts.append(f"<p><strong>Prediction.</strong> {html(o.prediction)}</p>")
    rows = [verdict_row(v) for v in o.verdicts] + [verdict_row(v, judged=False) for v in o.reported]
    parts.append(
        _table(
            "Verdicts"
            + (" (rows in grey are reported for reference and never decide the claim)" if o.reported else ""),
            VERDICT_HEADERS,
            [row.cells() for row in rows],
            numeric=[False, False, False, True, True, False, False, False],
            cells={0: _verdict_cell},
            row_class=["" if row.judged else "reported" for row in rows],
        )
    )
    if o.method:
        parts.append(f"<p><strong>Method.</strong> {html(o.method)}</p>")
    parts += [_data_table(t) for t in o.all_tables]
    parts += [_image(figures, f, f"{r.claim.id}: {f}") for f in o.figures if (figures / f).exists()]
    parts.append("</section>")
    return parts


def page(records: list[Record], manifest: dict, front: FrontPage, figures: Path) -> str:
    """The whole report.html; `figures` is the folder holding the PNGs to embed."""
    hardware = manifest["hardware"]
    meta = [
        f"command: <code>{escape(manifest['command'])}</code>",
        html(
            f"profile {manifest['profile']}, seed {manifest['seed']}, device {manifest['device']}, executor "
            f"{manifest['executor']} with {manifest['jobs']} worker(s); family false-fail rate "
            f"{manifest['false_fail_rate']:g}, Bonferroni-split over the statistical claims and their tests"
        ),
        html(
            f"commit {manifest['git_commit']}; started {manifest['started']}, finished "
            f"{manifest['finished']} ({manifest['wall_seconds']:.0f} s wall)"
        ),
        html(
            f"hardware: {hardware.get('cpu', '')}" + (f", GPU {hardware['gpu']}" if "gpu" in hardware else "")
        ),
        html("versions: " + ", ".join(f"{k} {v}" for k, v in manifest["versions"].items())),
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>offsub verification report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>offsub verification report</h1>",
        "<p>"
        + html(
            "Claims of Melamed, Yehudai & Vardi, Adversarial Examples Exist in Two-Layer ReLU Networks for "
            "Low Dimensional Linear Subspaces (NeurIPS 2023), checked against networks trained here. The "
            "statements checked are our derivations (docs/derivations.md), not quotations of the paper."
        )
        + "</p>",
        '<ul class="meta">' + "".join(f"<li>{m}</li>" for m in meta) + "</ul>",
        *_front_page(front, figures),
        "<h2>Summary</h2>",
        _summary(records),
        "<h2>Power by design</h2>",
        _table(
            "Realistic wrong predictions each statistical claim must catch, and its power against them",
            POWER_HEADERS,
            power_rows(records),
            numeric=[False, False, False, True, True, True],
        ),
    ]
    section = None
    for r in records:
        if r.claim.section != section:
            section = r.claim.section
            parts.append(f"<h2>{html(section)}</h2>")
        parts += _claim_section(r, figures)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
