"""Signals sent to a real run: Ctrl-C and SIGTERM end every worker within a few seconds with one line and
exit 130/143, leave the previous report byte for byte and no staging folder; after SIGKILL the workers die
too, and the next run removes the stale staging folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

COMMAND = [sys.executable, "-m", "verify", "all", "--profile", "quick", "--jobs", "2"]


def _children(pid: int) -> list[int]:
    """Processes whose parent is pid (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _previous_report(folder: Path) -> dict[str, bytes]:
    subprocess.run(
        [sys.executable, "-m", "verify", "run", "symbolic.decay_recurrence", "--out", str(folder)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def _start(tmp_path: Path) -> tuple[subprocess.Popen, list[int]]:
    """A quick run into tmp_path/rep, once its two workers exist and training has started."""
    run = subprocess.Popen(
        [*COMMAND, "--out", str(tmp_path / "rep")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = [
            c
            for c in _children(run.pid)
            if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text().replace("\0", " ")
        ]
        if len(workers) == 2:
            time.sleep(2.0)  # the workers are training now
            return run, workers
        time.sleep(0.2)
    run.kill()
    raise AssertionError("the run never started its two workers")


def _ends(run: subprocess.Popen, workers: list[int], within: float) -> tuple[int, str]:
    start = time.monotonic()
    _, err = run.communicate(timeout=within)
    assert time.monotonic() - start <= within
    deadline = time.monotonic() + 5
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "a worker outlived the main process"
    return run.returncode, err


@pytest.mark.parametrize(
    ("how", "code"), [("group SIGINT", 130), ("main SIGTERM", 143), ("group SIGTERM", 143)]
)
def test_an_interrupt_ends_the_run_cleanly(tmp_path, how, code):
    before = _previous_report(tmp_path / "rep")
    run, workers = _start(tmp_path)
    signum = signal.SIGINT if "SIGINT" in how else signal.SIGTERM
    if how.startswith("group"):
        os.killpg(run.pid, signum)  # what Ctrl-C in a terminal does
    else:
        os.kill(run.pid, signum)
    returncode, err = _ends(run, workers, within=10)
    assert returncode == code
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and "leaked" not in err
    assert {p.name: p.read_bytes() for p in (tmp_path / "rep").iterdir() if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_after_sigkill_the_workers_die_and_the_next_run_cleans_up(tmp_path):
    before = _previous_report(tmp_path / "rep")
    run, workers = _start(tmp_path)
    os.kill(run.pid, signal.SIGKILL)
    _ends(run, workers, within=10)
    assert {p.name: p.read_bytes() for p in (tmp_path / "rep").iterdir() if p.is_file()} == before
    stale = [p for p in tmp_path.iterdir() if p.name.startswith(".rep.offsub-stage-")]
    assert len(stale) == 1
    done = subprocess.run(
        [sys.executable, "-m", "verify", "run", "symbolic.decay_recurrence", "--out", str(tmp_path / "rep")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]
