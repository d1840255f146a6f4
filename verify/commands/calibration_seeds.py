"""The seeds of a calibration (`verify calibrate`): what it keeps of each seed's decisions, where it keeps
them, and the fold of the records into per-claim counts.

A long calibration runs in pieces: each finished seed's record is written atomically to a folder beside
the report (`.OUT.calibration-seeds/`, named by `seed_store`), and `--resume` reuses every record made
with the same claims, profile, rate and device at the same commit; the report is folded from the records
in seed order, so a resumed calibration gives the same numbers as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

__all__ = ["fold", "SEED_FORMAT", "seed_record", "seed_store", "SeedStore", "UNIFORM_KINDS"]

#: Verdict kinds whose p-value is exactly uniform under a right theory.
UNIFORM_KINDS = {"GofResult": "Kolmogorov-Smirnov (exact)", "ChiSquareMeanResult": None}


def _confirms(outcome) -> bool:
    """Whether every statistical verdict of the rule confirms an effect (an ordering, a one-sided trend)."""
    kinds = [v for v in outcome.verdicts if v.statistical]
    return bool(kinds) and all(
        type(v).__name__ == "OrderingResult" or getattr(v, "alternative", "two-sided") != "two-sided"
        for v in kinds
    )


def _p_values(outcome) -> list[tuple[str, str, float]]:
    """(test, kind, p-value) of every statistical verdict with a uniform p-value under H0; a test is named
    by its place in the rule and its own name, so the same test at every seed is pooled and no other."""
    out = []
    for i, v in enumerate(outcome.verdicts):
        kind = type(v).__name__
        if (
            v.statistical
            and kind in UNIFORM_KINDS
            and (UNIFORM_KINDS[kind] is None or v.test == UNIFORM_KINDS[kind])
        ):
            out.append((f"#{i + 1} {v.name}", kind, float(v.p_value)))
    return out


#: Bumped when a seed record's content changes, so --resume never mixes two formats.
SEED_FORMAT = 1


class SeedStore:
    """The finished seeds of one calibration, one JSON record per seed, each written atomically. A record
    is reused only if its key (claims, profile, family rate, device, format) is this calibration's."""

    def __init__(self, folder: Path, key: dict[str, Any]) -> None:
        self.folder = folder
        self.key = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]

    def _path(self, seed: int) -> Path:
        return self.folder / f"seed-{seed}.json"

    def records(self) -> list[Path]:
        return sorted(self.folder.glob("seed-*.json")) if self.folder.is_dir() else []

    def load(self, seed: int) -> dict[str, Any] | None:
        try:
            record = json.loads(self._path(seed).read_text())
        except (OSError, ValueError):
            return None
        ok = isinstance(record, dict) and record.get("key") == self.key and record.get("seed") == seed
        return record["claims"] if ok else None

    def save(self, seed: int, claims: dict[str, Any]) -> None:
        from verify.sweep.outputs import write_atomic

        self.folder.mkdir(exist_ok=True)
        record = {"format": SEED_FORMAT, "key": self.key, "seed": seed, "claims": claims}
        write_atomic(self._path(seed), (json.dumps(record, indent=1) + "\n").encode())

    def remove(self) -> None:
        """Delete the records (the calibration's report is in); only files this store writes."""
        for path in self.records():
            path.unlink()
        with_tmp = (
            [p for p in self.folder.glob(".tmp-*") if p.name.endswith(".json")]
            if self.folder.is_dir()
            else []
        )
        for path in with_tmp:
            path.unlink()
        if self.folder.is_dir() and not os.listdir(self.folder):
            self.folder.rmdir()


def seed_store(out: str | Path, *, claims, profile: str, family_rate: float, device: str) -> SeedStore:
    """Where the calibration reported in `out` keeps its finished seeds: `.NAME.calibration-seeds` beside it.
    Its records are reused only by the same claims, profile, rate and device, at the same commit."""
    from verify.runtime.manifest import git_commit

    out = Path(out)
    key = {"claims": [c.id for c in claims], "profile": profile, "family_rate": family_rate, "device": device,
           "format": SEED_FORMAT, "commit": git_commit(Path(__file__).resolve().parents[1])}  # fmt: skip
    return SeedStore(out.parent / f".{out.name}.calibration-seeds", key)


def seed_record(records) -> dict[str, Any]:
    """What the calibration keeps of one seed's records: per claim its verdict, share, seconds, last error
    line, whether it is a confirmation claim, and its uniform p-values (test, kind, p)."""
    out: dict[str, Any] = {}
    for r in records:
        out[r.claim.id] = {
            "verdict": r.verdict,
            "share": r.false_fail_rate,
            "seconds": r.seconds,
            "error": (r.error.strip().splitlines() or [""])[-1] if r.verdict == "error" else "",
            "confirmation": None if r.outcome is None else _confirms(r.outcome),
            "p_values": [] if r.outcome is None else [list(v) for v in _p_values(r.outcome)],
        }
    return json.loads(json.dumps(out))  # the values a resumed calibration reads back, bit for bit


def fold(claims, seeds: list[int], per_seed: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per claim its failures, errors, stated share and p-values over the seeds' records, in seed order."""
    results: dict[str, dict[str, Any]] = {
        c.id: {"failures": 0, "errors": 0, "share": None, "p_values": defaultdict(list), "seconds": 0.0,
               "failed_seeds": [], "errored": [], "confirmation": False}
        for c in claims
    }  # fmt: skip
    for seed, record in zip(seeds, per_seed, strict=True):
        for cid, r in record.items():
            entry = results[cid]
            entry["share"] = r["share"]
            entry["seconds"] += r["seconds"]
            entry["failures"] += r["verdict"] == "fail"
            entry["errors"] += r["verdict"] == "error"
            if r["verdict"] == "fail":
                entry["failed_seeds"].append(seed)
            if r["verdict"] == "error":
                entry["errored"].append((seed, r["error"]))
            if r["confirmation"] is not None:
                entry["confirmation"] = r["confirmation"]
            for name, kind, p in r["p_values"]:
                entry["p_values"][(name, kind)].append(p)
    return results
