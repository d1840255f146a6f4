"""Running a sweep: its cells on an executor of `verify.runtime.executors` (the local process pool, or a Dask
cluster: a LocalCluster, or the scheduler at an address), each record written atomically as it finishes,
the outputs rendered from the records on disk.

The folder OUT holds .offsub-sweep (the marker), spec.toml, cells/<hash>.json (one per finished cell), the
outputs of `verify.sweep.outputs`. `--resume` keeps every finished record whose hash is a cell of the spec
(a cell that raised is run again) and runs the rest; since each cell's numbers depend only on its own
parameters and the outputs are rendered from the records alone, the tables are bitwise those of an
uninterrupted run, with any executor and any number of workers.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from verify.per_cell import rate_statement, test_rates
from verify.runtime.output import GENERATOR, OutputError
from verify.sweep.cells import Cell, error_record, run_cell
from verify.sweep.outputs import write_all, write_atomic
from verify.sweep.spec import SweepSpec

__all__ = ["check_out", "finished", "MARKER", "plan", "run_sweep"]

MARKER = ".offsub-sweep"


def plan(spec: SweepSpec) -> list[Cell]:
    """The spec's cells in grid order, each with its claims' per-test rates (Bonferroni over the grid)."""
    points = spec.points()
    rates = tuple(test_rates(spec.claims, len(points), spec.false_fail_rate).items())
    return [Cell(i, tuple(point.items()), spec.claims, rates) for i, point in enumerate(points)]


def _cost(cell: Cell) -> float:
    """A rough time of a cell (its population's estimate), for scheduling the longest first."""
    return cell.request().expected_cost


def check_out(out: Path, resume: bool) -> None:
    """OutputError (one line) unless `out` is missing with a writable parent, an empty folder, or (with
    --resume) a folder of a previous sweep; nothing is written."""
    where = f"out={str(out)!r} is invalid"
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise OutputError(f"{where}: it is a file, not a folder")
    if out.is_dir():
        entries = os.listdir(out)
        if entries and MARKER not in entries:
            raise OutputError(
                f"{where}: the folder holds files a sweep did not write ({', '.join(sorted(entries)[:3])}); "
                f"choose a new folder"
            )
        if entries and not resume:
            raise OutputError(
                f"{where}: it holds a previous sweep; pass --resume to continue it, or choose a new folder"
            )
        if not os.access(out, os.W_OK | os.X_OK):
            raise OutputError(f"{where}: the folder is not writable")
        return
    parent = out.resolve().parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{where}: its parent folder {str(parent)!r} does not exist or is not writable")


def _start(out: Path, spec: SweepSpec) -> Path:
    cells = out / "cells"
    cells.mkdir(parents=True, exist_ok=True)
    write_atomic(out / MARKER, (json.dumps({"generator": GENERATOR + " (sweep)"}) + "\n").encode())
    write_atomic(out / "spec.toml", spec.text.encode())
    return cells


def finished(cells_dir: Path, cell: Cell) -> dict[str, Any] | None:
    """The cell's record on disk if it finished (a record that raised, or an unreadable one, is not)."""
    try:
        record = json.loads((cells_dir / f"{cell.hash}.json").read_text())
    except (OSError, ValueError):
        return None
    return record if record.get("hash") == cell.hash and record.get("status") != "error" else None


def _save(cells_dir: Path, record: dict[str, Any]) -> None:
    write_atomic(
        cells_dir / f"{record['hash']}.json", (json.dumps(record, indent=1, sort_keys=True) + "\n").encode()
    )


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_sweep(
    spec: SweepSpec,
    out: Path,
    *,
    executor: Any,
    device: str,
    resume: bool = False,
    progress: Callable[[str], None] = _progress,
    manifest_extra: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Run every cell of `spec` not yet finished in `out` on `executor`; write the outputs; the records.

    Each record is written as its cell completes, so an interrupted sweep loses only the cells running.
    """
    from verify.runtime.manifest import git_commit, hardware, now, versions

    check_out(out, resume)
    started, clock = now(), time.perf_counter()
    cells_dir = _start(out, spec)
    cells = plan(spec)
    records: dict[int, dict[str, Any]] = {}
    for cell in cells:
        record = finished(cells_dir, cell) if resume else None
        if record is not None:
            records[cell.index] = record
    todo = sorted((c for c in cells if c.index not in records), key=lambda c: (-_cost(c), c.index))
    if records:
        progress(f"resuming: {len(records)} of {len(cells)} cells already finished")
    for done, (i, record, error) in enumerate(executor.run(run_cell, [(c, device) for c in todo]), start=1):
        cell = todo[i]
        record = record if not error else error_record(cell, error)
        _save(cells_dir, record)
        records[cell.index] = json.loads((cells_dir / f"{cell.hash}.json").read_text())
        verdicts = " ".join(f"{r['claim']}:{r['verdict']}" for r in record["claims"])
        progress(
            f"[{done}/{len(todo)}] cell {cell.index} ({record['status']}, {record['seconds']:.1f} s) "
            f"{verdicts}"
        )
    ordered = [records[c.index] for c in cells]
    statement = rate_statement(spec.claims, len(cells), spec.false_fail_rate)
    root = Path(__file__).resolve().parents[2]
    manifest = {
        "generator": GENERATOR + " (sweep)",
        "command": " ".join(["python -m verify", *sys.argv[1:]]),
        "spec": spec.text,
        "cells": len(cells),
        "claims": list(spec.claims),
        "false_fail_rate": spec.false_fail_rate,
        "bonferroni": statement,
        "device": device,
        "jobs": executor.jobs,
        **(manifest_extra or {}),
        "resumed_cells": len(cells) - len(todo),
        "cell_seconds": {r["hash"]: r["seconds"] for r in ordered},
        "wall_seconds": round(time.perf_counter() - clock, 2),
        "versions": versions(),
        "hardware": hardware(device),
        "git_commit": git_commit(root),
        "started": started,
        "finished": now(),
    }
    write_all(out, spec, ordered, statement, manifest)
    return ordered
