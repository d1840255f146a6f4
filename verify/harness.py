"""The harness: run the experiments the selected claims need, decide each claim's rule, keep the records.

Each distinct experiment request runs once, on the executor (worker processes or a Dask cluster), longest
first; a claim's rule runs in this process as soon as its experiments are in, so a module can hold one
claim family and claims share populations through the experiments' keys, not through module caches.
The harness also gives each statistical claim its Bonferroni share of the family false-fail rate, split
over the tests it declares, and asserts that the rule made exactly those tests at that rate.
"""

from __future__ import annotations

import sys
import textwrap
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from tqdm import tqdm

from verify import experiments
from verify.claim import Claim, Outcome, RuleContext, check_declared_tests, check_rate, per_test_rate
from verify.runtime.executors import InlineExecutor
from verify.runtime.precision import float64_default

__all__ = ["decide", "exit_status", "Plan", "plan", "Record", "run_claims", "TERMINAL_WIDTH"]

#: The widest line `run_claims` prints per claim (longer verdict lines wrap).
TERMINAL_WIDTH = 110


@dataclass
class Record:
    """A decided claim: its outcome (None on an internal error), verdict, rate and timings."""

    claim: Claim
    outcome: Outcome | None
    verdict: str  # pass | fail | error
    false_fail_rate: float | None  # the claim's share of the family rate (None: exact)
    test_rate: float | None  # the rate of each of its statistical tests
    rule_seconds: float = 0.0
    experiment_seconds: float = 0.0  # its share of the experiments it used (shared ones split evenly)
    error: str = ""

    @property
    def seconds(self) -> float:
        return self.rule_seconds + self.experiment_seconds


@dataclass
class Plan:
    """The claims, their requests by label, and the distinct requests in running order."""

    claims: list[Claim]
    needs: dict[str, dict[str, experiments.Request]]
    requests: list[experiments.Request]
    users: dict[experiments.Request, list[str]] = field(default_factory=dict)


def plan(claims: Iterable[Claim], profile: str) -> Plan:
    """What to run for `claims` at `profile`: distinct requests, most expensive first."""
    claims = list(claims)
    needs = {c.id: dict(c.needs(profile)) for c in claims}
    users: dict[experiments.Request, list[str]] = {}
    for c in claims:
        for request in needs[c.id].values():
            users.setdefault(request, []).append(c.id)
    ordered = sorted(users, key=lambda r: -r.expected_cost)
    return Plan(claims, needs, ordered, users)


def _run_request(job: tuple[experiments.Request, int, str]) -> tuple[Any, float]:
    """Worker side: the measurement of one request and its wall time."""
    request, seed, device = job
    start = time.perf_counter()
    measurement = experiments.run(request, seed, device)
    return measurement, time.perf_counter() - start


def _bar(iterable=None, **kwargs):
    # Bars go to stderr and vanish when it is not a terminal, so logs and CI stay readable.
    return tqdm(iterable, leave=False, disable=None, file=sys.stderr, dynamic_ncols=True, **kwargs)


def decide(
    c: Claim,
    measurements: Mapping[str, Any],
    *,
    profile: str,
    family_rate: float,
    figures_dir: Path,
    progress: Callable[..., Any] = lambda it, **kw: it,
) -> tuple[Outcome, float | None]:
    """Run `c`'s rule on its measurements (label -> measurement) and check its declared tests."""
    rate = per_test_rate(c, profile, family_rate)
    ctx = RuleContext(profile, rate, figures_dir, progress, reference_alpha=check_rate(family_rate))
    outcome = c.rule(ctx, measurements)
    check_declared_tests(c.id, outcome, c.tests(profile), rate, f"at {profile}")
    return outcome, rate


@float64_default()
def run_claims(
    claims: Iterable[Claim],
    *,
    profile: str,
    seed: int,
    device: str,
    family_rate: float,
    figures_dir: Path,
    executor: Any = None,
    echo: bool = True,
) -> list[Record]:
    """Run `claims` (experiments on `executor`, rules here) and return one record per claim, in order."""
    executor = executor or InlineExecutor()
    work = plan(claims, profile)
    shares = {c.id: (check_rate(family_rate) if c.statistical else None) for c in work.claims}
    assert sum(s for s in shares.values() if s) <= family_rate * (1 + 1e-12)
    done: dict[experiments.Request, Any] = {}
    seconds: dict[experiments.Request, float] = {}
    failed: dict[experiments.Request, str] = {}
    records: dict[str, Record] = {}
    bar = _bar(total=len(work.requests) + len(work.claims), desc="experiments and claims", unit="job")

    def ready(c: Claim) -> bool:
        return all(r in done or r in failed for r in work.needs[c.id].values())

    def finish(c: Claim) -> None:
        needed = work.needs[c.id]
        share = sum(seconds.get(r, 0.0) / len(work.users[r]) for r in needed.values())
        errors = [failed[r] for r in needed.values() if r in failed]
        rate = per_test_rate(c, profile, family_rate)
        start = time.perf_counter()
        if errors:
            record = Record(
                c, None, "error", shares[c.id], rate, 0.0, share, "an experiment failed:\n" + errors[0]
            )
        else:
            try:
                outcome, rate = decide(
                    c, {label: done[r] for label, r in needed.items()}, profile=profile,
                    family_rate=family_rate, figures_dir=figures_dir, progress=partial(_bar, desc=c.id),
                )  # fmt: skip
                verdict = "pass" if outcome.passed else "fail"
                record = Record(c, outcome, verdict, shares[c.id], rate, time.perf_counter() - start, share)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception:
                record = Record(
                    c,
                    None,
                    "error",
                    shares[c.id],
                    rate,
                    time.perf_counter() - start,
                    share,
                    traceback.format_exc(limit=8),
                )
        records[c.id] = record
        bar.update(1)
        if echo:
            summary = (
                record.outcome.decisive.summary() if record.outcome else record.error.strip().splitlines()[-1]
            )
            head = f"{record.verdict.upper():5s} {c.id:32s} {record.seconds:7.1f}s  "
            tqdm.write(
                textwrap.fill(head + summary, TERMINAL_WIDTH, subsequent_indent="      "), file=sys.stdout
            )
            sys.stdout.flush()

    def finish_ready() -> None:
        for c in work.claims:
            if c.id not in records and ready(c):
                finish(c)

    try:
        finish_ready()  # claims that need no experiment (the symbolic ones)
        jobs = [(r, seed, device) for r in work.requests]
        for i, result, error in executor.run(_run_request, jobs):
            request = work.requests[i]
            if error:
                failed[request] = error
            else:
                done[request], seconds[request] = result
            bar.update(1)
            finish_ready()
            for r in list(done):  # free a measurement once every claim using it is decided
                if all(user in records for user in work.users[r]):
                    done.pop(r)
    finally:
        bar.close()
    return [records[c.id] for c in work.claims]


def exit_status(records: list[Record]) -> int:
    """0 all pass, 1 any claim fails, 3 any internal error."""
    if any(r.verdict == "error" for r in records):
        return 3
    return 1 if any(r.verdict == "fail" for r in records) else 0
