"""report.pdf: report.tex compiled by `pdflatex` where one is on the PATH (twice, for the long tables'
column widths and the links), in a temporary folder so no auxiliary file reaches the report."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ENGINE", "INSTALL", "Compiled", "compile_pdf", "error_lines"]

ENGINE = "pdflatex"
#: What provides the engine and the packages report.tex uses, on Debian and Ubuntu.
INSTALL = "apt-get install -y texlive-latex-base texlive-latex-recommended"
#: pdflatex's passes: the second settles longtable's column widths and hyperref's targets.
PASSES = 2
TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Compiled:
    """The outcome of a compilation: the PDF (None when not written), why not, the last log, seconds."""

    pdf: Path | None
    message: str
    log: str
    seconds: float


def error_lines(log: str) -> list[str]:
    """The error lines of a TeX log: '! ...' and file:line: errors (-file-line-error)."""
    return [line for line in log.splitlines() if line.startswith("!") or ":" in line and " Error" in line]


def compile_pdf(folder: Path, name: str = "report.tex") -> Compiled:
    """Compile `folder/name` to `folder/<stem>.pdf`; figures are read relative to `folder`."""
    start = time.perf_counter()
    engine = shutil.which(ENGINE)
    if engine is None:
        return Compiled(None, f"no LaTeX engine ({ENGINE}) on the PATH; to get one: {INSTALL}", "", 0.0)
    stem = Path(name).stem
    with tempfile.TemporaryDirectory(prefix="offsub-latex-") as tmp:
        log = ""
        for _ in range(PASSES):
            try:
                run = subprocess.run(
                    [engine, "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
                     "-no-shell-escape", f"-output-directory={tmp}", name],
                    cwd=folder, capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                return Compiled(
                    None, f"{ENGINE} ran past {TIMEOUT_SECONDS} s", log, time.perf_counter() - start
                )
            log_file = Path(tmp) / f"{stem}.log"
            log = log_file.read_text(errors="replace") if log_file.exists() else run.stdout
            if run.returncode != 0:
                first = (error_lines(log) or [f"exit status {run.returncode}"])[0]
                return Compiled(None, f"{ENGINE} failed: {first}", log, time.perf_counter() - start)
        target = folder / f"{stem}.pdf"
        shutil.move(str(Path(tmp) / f"{stem}.pdf"), target)
    return Compiled(target, "", log, time.perf_counter() - start)
