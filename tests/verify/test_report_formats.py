"""The reports as people read them: report.tex compiled by a real pdflatex and read back with pdftotext,
report.html opened in a real headless Chromium, report.md within its line limits, and a front page whose
every number comes from the records."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from dataclasses import replace

from tests.verify.browser import Page, open_page, require
from tests.verify.test_report import MANIFEST, demo_claim, demo_record
from verify.claim import Outcome, table
from verify.harness import Record
from verify.report import write_all
from verify.reports import pdf
from verify.reports.front_page import front_page
from verify.reports.markdown import MAX_LINE
from verify.reports.notation import tex
from verify.tolerance import threshold

# How far past the text block a box may reach before it reaches past the paper: the 18 mm margin is
# 51 pt; a table or line overfull by less is on the page (we hold it to well inside that).
MAX_OVERFULL_PT = 20.0


def _outside_tables(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("|")]


def _summary_lines(text: str) -> list[str]:
    body = text.split("## Summary", 1)[1].split("\n## ", 1)[0]
    return [line for line in body.splitlines() if line.startswith("|")]


def _check_markdown(text: str) -> None:
    long = [line for line in _outside_tables(text) if len(line) > MAX_LINE]
    assert not long, f"{len(long)} lines outside tables exceed {MAX_LINE}: {long[0][:200]}"
    summary = _summary_lines(text)
    assert summary and max(len(line) for line in summary) <= MAX_LINE


def test_notation_is_escaped_once_and_math_is_set_as_math():
    assert (
        tex("R3.chi_square_trained")
        == r"\texttt{R3.\allowbreak{}chi\char95\allowbreak{}square\char95\allowbreak{}trained}"
    )
    assert tex("Q ~ chi2_ell") == r"Q $\sim$ $\chi^2_{\ell}$"
    assert tex("||g|| >= 5.3e-06") == r"$\lVert g\rVert$ $\geq$ $5.3\times 10^{-6}$"
    assert tex("50% of a_b & {c} #1 $") == r"50\% of $a_b$ \& \{c\} \#1 \$"
    assert "textbackslash" not in tex("symbolic.lower_threshold_at_half_mean: Q ~ chi2_ell")
    assert tex('How small is "small"?') == "How small is ``small''?"  # TeX sets a straight quote as closing


def test_markdown_keeps_its_line_limits_on_long_text(tmp_path):
    long = "word " * 200
    record = demo_record()
    record = replace(
        record,
        claim=replace(record.claim, statement=long, title="t" * 60),
        outcome=replace(record.outcome, method=long, prediction=long),
    )
    broken = Record(
        replace(demo_claim(), id="X.broken"), None, "error", 1e-3, 1e-3, 0.0, 0.0, "Traceback\n" + "x" * 500
    )
    write_all(tmp_path, [record, broken], MANIFEST, compile_pdf=False)
    text = (tmp_path / "report.md").read_text()
    _check_markdown(text)
    assert "| verdict" in text and "detectable effect" in text  # verdicts are a table, not sentences


def _radii_record(claim_id: str, ratios: list[float]) -> Record:
    outcome = Outcome(
        verdicts=(threshold("x", 0.0, "<=", 1.0),),
        prediction="p",
        tables=(
            table(
                "Median radius",
                [("ell", "d"), ("median orth/on-manifold", ".3f")],
                [(10 * (i + 1), r) for i, r in enumerate(ratios)],
            ),
        ),
    )
    return Record(replace(demo_claim(False), id=claim_id), outcome, "pass", None, None)


def test_front_page_reads_the_radius_levels_from_the_records():
    above = front_page([_radii_record("R5.radii", [3.5, 1.25])], MANIFEST)
    assert "larger than the on-manifold one at every size tested" in above.beyond[0]
    assert "3.5, 1.25 at ell = 10, 20" in above.beyond[0]
    crossing = front_page([_radii_record("R5.radii", [2.0, 0.75])], MANIFEST)
    assert "falls below the on-manifold one at ell = 20" in crossing.beyond[0]
    assert front_page([demo_record()], MANIFEST).claims[0].answer == "not tested in this run"
    failing = replace(demo_record(), claim=replace(demo_claim(), id="R3.demo"), verdict="fail")
    passing = replace(demo_record(), claim=replace(demo_claim(), id="R1.demo"))
    answer = front_page([passing, failing], MANIFEST).claims[0].answer
    assert answer == "does not hold as tested: 1 of 2 claims pass; R3.demo (FAIL)"


def test_a_run_without_latex_says_so_and_writes_the_rest(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "r"
    out.mkdir()
    log = write_all(out, [demo_record()], MANIFEST)
    assert "report.pdf not written: no LaTeX engine (pdflatex) on the PATH" in log
    assert not (out / "report.pdf").exists() and (out / "report.tex").exists()


def _overfull(log: str) -> list[float]:
    return [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]


def test_the_quick_report_compiles_and_its_pdf_spells_every_claim_id(quick_report, tmp_path):
    require("pdflatex")
    pdftotext = require("pdftotext")
    assert quick_report.run.returncode == 0, quick_report.run.stderr[-3000:]
    assert (quick_report.out / "report.pdf").stat().st_size > 0  # verify all compiled it
    copy = tmp_path / "report"
    shutil.copytree(quick_report.out, copy)
    compiled = pdf.compile_pdf(copy)
    assert compiled.pdf is not None, compiled.message
    assert pdf.error_lines(compiled.log) == []
    assert max(_overfull(compiled.log), default=0.0) <= MAX_OVERFULL_PT
    text = subprocess.run(
        [pdftotext, str(compiled.pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    ids = [c["id"] for c in json.loads((copy / "report.json").read_text())["claims"]]
    assert "R3.chi_square_trained" in ids
    missing = [i for i in ids if i not in text]
    assert not missing, missing
    assert "What the paper claims" in text.split("Summary")[0]  # the front page comes first
    # The tables alone, \input into a paper's preamble.
    (copy / "paper.tex").write_text(
        "\\documentclass{article}\n\\usepackage{amsmath,graphicx,booktabs,longtable,array,pdflscape,xcolor}\n"
        "\\definecolor{passgreen}{HTML}{1A7F37}\\definecolor{failred}{HTML}{CF222E}\n"
        "\\begin{document}\n\\input{report-tables.tex}\n\\end{document}\n"
    )
    paper = pdf.compile_pdf(copy, "paper.tex")
    assert paper.pdf is not None and pdf.error_lines(paper.log) == [], paper.message


def test_the_quick_report_markdown_keeps_its_limits_and_verify_prints_the_front_page(quick_report):
    assert quick_report.run.returncode == 0
    _check_markdown((quick_report.out / "report.md").read_text())
    assert "What the paper claims, and what this run found" in quick_report.run.stdout
    assert "Where the assumptions break" in quick_report.run.stdout


def _data_images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def _external(html: str) -> list[str]:
    links = re.findall(r'(?:src|href)="([^"]*)"|url\(([^)]*)\)', html)
    return [a or b for a, b in links if not (a or b).startswith(("data:", "#"))]


def test_the_quick_report_html_loads_offline_in_chromium(quick_report):
    from PIL import Image

    html_path = quick_report.out / "report.html"
    html = html_path.read_text()
    assert _external(html) == [] and "<script" not in html and "@import" not in html
    images = _data_images(html)
    figures = {f.read_bytes() for f in (quick_report.out / "figures").glob("*.png")}
    assert figures and set(images) == figures  # every figure embedded (the front page repeats three)
    for data in images:
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # decodes every pixel; raises on a damaged PNG
            assert image.width > 100 and image.height > 100
    page = open_page(html_path)
    try:
        assert page.errors() == []
        assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        assert page.evaluate("document.images.length") == len(images)
        assert all(u.startswith("data:") or u == html_path.resolve().as_uri() for u in page.requests())
        # the summary links every claim to its section
        assert page.evaluate(
            "Array.from(document.querySelectorAll('table a[href^=\"#claim-\"]'))"
            ".every(a => document.getElementById(a.getAttribute('href').slice(1)))"
        )
        shot = page.screenshot()
    finally:
        page.close()
    with Image.open(io.BytesIO(shot)) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # not a blank page


def test_the_browser_check_catches_a_broken_page(tmp_path):
    # The check above can fail: a script error and an external image are both caught.
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><body><img src="https://example.invalid/x.png">'
        "<script>undefinedFunction()</script></body></html>"
    )
    page: Page = open_page(bad)
    try:
        errors = page.errors()
        requests = page.requests()
    finally:
        page.close()
    assert any("exception" in e for e in errors)
    assert any(u.startswith("https://") for u in requests)
    assert _external(bad.read_text()) == ["https://example.invalid/x.png"]


def test_hostile_text_and_an_internal_error_still_compile(tmp_path):
    # Every character LaTeX treats specially, Unicode symbols, a traceback: escaped once, the PDF compiles.
    require("pdflatex")
    pdftotext = require("pdftotext")
    nasty = r"50% of #1 & $x$ {y} a_b c^d ~e \f |g| <h> ||g|| >= 1e-300 ≤ ℓ β ‖z‖ 漢 é"
    record = demo_record()
    record = replace(record, claim=replace(record.claim, statement=nasty, title=nasty[:40]))
    broken = Record(
        replace(demo_claim(), id="X.broken_one"), None, "error", 1e-3, 1e-3, 0.0, 0.0,
        "Traceback\n  raise ValueError('\\end{verbatim} 100% _x_ ~')\nValueError: boom",
    )  # fmt: skip
    write_all(tmp_path, [record, broken], MANIFEST)
    compiled = pdf.compile_pdf(tmp_path)
    assert compiled.pdf is not None and pdf.error_lines(compiled.log) == [], compiled.message
    text = subprocess.run(
        [pdftotext, str(compiled.pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "X.broken_one" in text and "50% of #1 & " in text and "{y}" in text
