"""`python -m verify calibrate`: the suite measures its own false-fail rate.

Every statistical claim is decided at N master seeds (independent populations each), under the theory as
it stands. Per claim, the observed failures are held against the claim's stated share a of the family rate
by the exact one-sided binomial test of H0 "failure rate <= a"; per test with a continuous p-value under
H0 (exact KS, the exact chi-square mean test), the N p-values are held against the uniform law by KS.
Binomial p-values are discrete, so they are counted, not tested for uniformity. A confirmation claim (an
ordering or the sign of a trend: it passes only when the data confirm the predicted effect) has as stated
rate the chance of confirming an effect that is not there; its failures under the right theory are missed
effects, at most 1 - DETECTION_POWER = 10% by the suite's design, and are tested against that. The
calibration's own tests share its family rate by Bonferroni. A check whose failures exceed their bound or
whose p-values are not uniform is a finding.

A long calibration runs in pieces: each finished seed's record is written atomically to a folder beside
the report (`.OUT.calibration-seeds/`, named by `seed_store`), and `--resume` reuses every record made
with the same claims, profile, rate and device at the same commit; the report is folded from the records
in seed order, so a resumed calibration gives the same numbers as an uninterrupted one. The folder goes
once the report is in.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from theory.parameters import validate
from verify.claim import PROFILES, all_claims, select, split_family_rate
from verify.commands.options import validate_options
from verify.statistics import DETECTION_POWER, binomial_upper_test, ks_test

__all__ = [
    "calibrate",
    "configure",
    "fold",
    "judge",
    "main",
    "SEED_FORMAT",
    "seed_record",
    "seed_store",
    "SeedStore",
    "UNIFORM_KINDS",
]

#: Verdict kinds whose p-value is exactly uniform under a right theory.
UNIFORM_KINDS = {"GofResult": "Kolmogorov-Smirnov (exact)", "ChiSquareMeanResult": None}


def configure(p: argparse.ArgumentParser) -> None:
    from verify.runtime.execution import add_execution_options

    p.add_argument(
        "ids", nargs="*", metavar="ID", help="claim ids or prefixes (default: every statistical claim)"
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=50,
        help="master seeds to run, each an independent set of populations (default 50)",
    )
    p.add_argument(
        "--first-seed",
        type=int,
        default=1000,
        dest="first_seed",
        help="the first master seed (default 1000, away from the report's 0)",
    )
    p.add_argument("--profile", choices=PROFILES, default="quick", help="sample sizes (default quick)")
    p.add_argument(
        "--false-fail-rate",
        type=float,
        default=1e-3,
        dest="false_fail_rate",
        help="the family rate the claims run at (default 1e-3)",
    )
    p.add_argument(
        "--calibration-rate",
        type=float,
        default=1e-3,
        dest="calibration_rate",
        help="the family rate of the calibration's own tests (default 1e-3)",
    )
    p.add_argument(
        "--out",
        default="calibration",
        help="report folder (default calibration/; the same rules as verify all's --out)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted calibration of the same claims, profile, rate and device: the seeds it "
        "finished (kept beside --out) are not run again",
    )
    add_execution_options(p, seed=False)


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


def calibrate(
    claims,
    seeds: list[int],
    *,
    profile: str,
    device: str,
    family_rate: float,
    executor,
    progress=None,
    store: SeedStore | None = None,
) -> dict[str, Any]:
    """Decide `claims` at every seed (reusing `store`'s finished seeds, saving each new one there); return
    per claim its failures, errors, stated share and p-values."""
    from verify.harness import run_claims
    from verify.selfcheck import require, run_checks

    per_seed = []
    with tempfile.TemporaryDirectory(prefix="offsub-calibration-") as figures:
        for i, seed in enumerate(seeds):
            record = store.load(seed) if store is not None else None
            if record is None:
                records = run_claims(
                    claims,
                    profile=profile,
                    seed=seed,
                    device=device,
                    family_rate=family_rate,
                    figures_dir=Path(figures),
                    executor=executor,
                    echo=False,
                )
                require(run_checks(records, family_rate))  # the rates this seed used (verify.selfcheck)
                record = seed_record(records)
                if store is not None:
                    store.save(seed, record)
            per_seed.append(record)
            if progress is not None:
                progress(i + 1, len(seeds))
    return fold(claims, seeds, per_seed)


def judge(
    results: dict[str, dict[str, Any]], seeds: int, calibration_rate: float
) -> tuple[list[dict], list[dict]]:
    """Per claim the binomial test of its failures against its share; per test the KS test of uniformity."""
    uniform_tests = sum(len(e["p_values"]) for e in results.values())
    rate = split_family_rate(calibration_rate, len(results) + uniform_tests)
    assert rate is not None
    claims, tests = [], []
    for cid, e in results.items():
        runs = seeds - e["errors"]
        bound = 1 - DETECTION_POWER if e["confirmation"] else e["share"]
        binom = binomial_upper_test(
            e["failures"], max(runs, 1), bound, alpha=rate, name=f"{cid}: failures vs their bound"
        )
        claims.append(
            {
                "id": cid,
                "seeds": seeds,
                "errors": e["errors"],
                "failures": e["failures"],
                "stated_rate": e["share"],
                "kind": "confirmation" if e["confirmation"] else "test",
                "failure_bound": bound,
                "expected_failures": bound * runs,
                "p_value": binom.p_value,
                "upper_rate": binom.upper_confidence_limit,
                "alpha": rate,
                "passed": binom.passed and e["errors"] == 0,
                "seconds": round(e["seconds"], 1),
                "failed_seeds": e["failed_seeds"],
                "errors_at": [{"seed": s, "error": m} for s, m in e["errored"]],
            }
        )
        for (name, kind), ps in sorted(e["p_values"].items()):
            ks = ks_test(np.array(ps), lambda q: np.clip(q, 0.0, 1.0), alpha=rate, name="U(0, 1)")
            tests.append(
                {
                    "claim": cid,
                    "test": name,
                    "kind": kind,
                    "n": len(ps),
                    "mean_p": float(np.mean(ps)),
                    "min_p": float(np.min(ps)),
                    "ks_D": ks.statistic,
                    "ks_p": ks.p_value,
                    "alpha": rate,
                    "uniform": ks.passed,
                }
            )
    return claims, tests


def _markdown(claims: list[dict], tests: list[dict], manifest: dict) -> str:
    lines = [
        "# Calibration: the suite's own false-fail rate",
        "",
        f"Command: `{manifest['command']}`; profile {manifest['profile']}, seeds {manifest['first_seed']} "
        f"to {manifest['first_seed'] + manifest['seeds'] - 1}, family rate "
        f"{manifest['false_fail_rate']:g}; {manifest['wall_seconds']:.0f} s wall on "
        f"{manifest['hardware']['cpu']} ({manifest['jobs']} workers).",
        "",
        "Per claim: failures over the seeds against their bound (exact one-sided binomial test of H0 "
        "'failure rate <= bound'): the claim's stated share of the family rate for a test, and 1 - 0.9 = 0.1 "
        "(the missed effects the suite's power design allows) for a confirmation claim, whose stated rate is "
        "that of confirming an effect that is not there; per test with an exactly uniform p-value under a "
        f"right theory: KS of the p-values against U(0, 1). The calibration's {len(claims) + len(tests)} "
        f"tests share its family rate {manifest['calibration_rate']:g} by Bonferroni.",
        "",
        "## Failures against the stated rate",
        "",
        tabulate(
            [
                [
                    c["id"],
                    c["kind"],
                    c["seeds"],
                    c["errors"],
                    c["failures"],
                    f"{c['stated_rate']:.2g}",
                    f"{c['failure_bound']:.2g}",
                    f"{c['upper_rate']:.3g}",
                    f"{c['p_value']:.3g}",
                    "pass" if c["passed"] else "FAIL",
                    c["seconds"],
                ]
                for c in claims
            ],
            headers=[
                "claim",
                "kind",
                "seeds",
                "errors",
                "failures",
                "stated rate",
                "failure bound",
                "upper limit on rate",
                "p",
                "verdict",
                "seconds",
            ],
            tablefmt="github",
        ),  # fmt: skip
        "",
        *[f"- {c['id']}: failed at seeds {c['failed_seeds']}" for c in claims if c["failed_seeds"]],
        *[
            f"- {c['id']}: internal error at seed {e['seed']}: {e['error']}"
            for c in claims
            for e in c["errors_at"]
        ],
        "",
        "## Uniformity of the p-values",
        "",
        tabulate(
            [
                [
                    t["claim"],
                    t["test"],
                    t["n"],
                    f"{t['mean_p']:.3f}",
                    f"{t['min_p']:.3g}",
                    f"{t['ks_D']:.3f}",
                    f"{t['ks_p']:.3g}",
                    "uniform" if t["uniform"] else "NOT UNIFORM",
                ]
                for t in tests
            ],
            headers=["claim", "test", "seeds", "mean p", "min p", "KS D", "KS p", "verdict"],
            tablefmt="github",
        ),  # fmt: skip
        "",
    ]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    from verify.runtime import output
    from verify.runtime.execution import staged_run
    from verify.runtime.manifest import manifest, now

    validate_options(seeds=args.seeds)
    validate(seed=args.first_seed, false_fail_rate=args.false_fail_rate)
    validate(false_fail_rate=args.calibration_rate)
    chosen = select(args.ids) if args.ids else all_claims()
    claims = [c for c in chosen if c.statistical]
    if not claims:
        raise output.ParameterError(f"ids={args.ids!r} is invalid: expected at least one statistical claim")
    store: SeedStore | None = None
    with staged_run(args, args.out) as (device, executor, stage):
        started, start = now(), time.perf_counter()
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
        store = seed_store(args.out, claims=claims, profile=args.profile, family_rate=args.false_fail_rate,
                           device=device)  # fmt: skip
        kept = store.records()
        if kept and not args.resume:
            raise output.OutputError(
                f"out={args.out!r} is invalid: an interrupted calibration kept {len(kept)} finished seeds in "
                f"{store.folder}; pass --resume to continue it, or delete that folder to start again"
            )
        reused = sum(store.load(seed) is not None for seed in seeds)
        if reused:
            print(f"calibrate: resuming, {reused} of {len(seeds)} seeds already finished", file=sys.stderr)

        def progress(done: int, total: int) -> None:
            print(
                f"calibrate: {done}/{total} seeds, {time.perf_counter() - start:.0f} s",
                file=sys.stderr,
                flush=True,
            )

        try:
            results = calibrate(
                claims,
                seeds,
                profile=args.profile,
                device=device,
                family_rate=args.false_fail_rate,
                executor=executor,
                progress=progress,
                store=store,
            )
        except BaseException:
            if store.records():
                print(
                    f"calibrate: stopped; {len(store.records())} finished seeds kept in {store.folder}; "
                    "rerun the same command with --resume to continue",
                    file=sys.stderr,
                )
            raise
        claim_rows, test_rows = judge(results, len(seeds), args.calibration_rate)
        meta = manifest(
            profile=args.profile,
            seed=args.first_seed,
            device=device,
            false_fail_rate=args.false_fail_rate,
            started=started,
            wall_seconds=time.perf_counter() - start,
            jobs=executor.jobs,
            executor=args.executor,
        )
        meta.update(
            seeds=args.seeds,
            first_seed=args.first_seed,
            calibration_rate=args.calibration_rate,
            resumed_seeds=reused,
        )
        (stage / "report.md").write_text(_markdown(claim_rows, test_rows, meta))
        (stage / "report.json").write_text(
            json.dumps({"manifest": meta, "claims": claim_rows, "tests": test_rows}, indent=2) + "\n"
        )
        (stage / "manifest.json").write_text(json.dumps(meta, indent=2) + "\n")
    assert store is not None
    store.remove()  # the report is in: the seed records have served
    bad = [c["id"] for c in claim_rows if not c["passed"]] + [
        f"{t['claim']}: {t['test']}" for t in test_rows if not t["uniform"]
    ]
    print(
        f"{len(claim_rows)} claims over {args.seeds} seeds; {len(bad)} findings; "
        f"report in {args.out}/report.md"
    )
    for finding in bad:
        print(f"finding: {finding}")
    return 1 if bad else 0
