"""One quick-profile run of the real program, shared by every test that reads its reports."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class QuickRun:
    out: Path  # the report folder
    run: subprocess.CompletedProcess


@pytest.fixture(scope="session")
def quick_report(tmp_path_factory) -> QuickRun:
    """`python -m verify all --profile quick --out DIR`, run once per session (about 80 s on 2 cores)."""
    out = tmp_path_factory.mktemp("quick") / "reports"
    run = subprocess.run(
        [sys.executable, "-m", "verify", "all", "--profile", "quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    return QuickRun(out, run)
