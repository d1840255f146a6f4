"""Checks after a run, over the verdict and detection objects the run actually made: the false-fail rates
its tests used add up to at most the family rate (and each claim's to at most its share), and every
declared detection target is caught with power at least POWER at the rate the run actually used."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from verify.selfcheck.result import Findings, SelfCheckResult

__all__ = ["POWER", "run_checks", "rate_split", "detection_power"]

#: The power every detection target must have (verify.design.POWER, the suite's design promise).
POWER = 0.9
#: Rates are sums of a few dozen float64 quotients of the family rate: allow their rounding only.
_ROUNDING = 1e-12


def _statistical(record: Any) -> list[Any]:
    return [] if record.outcome is None else [v for v in record.outcome.verdicts if v.statistical]


def rate_split(records: Iterable[Any], family_rate: float) -> Findings:
    """Sum of alpha over every judged statistical verdict <= the family rate; per claim <= its share."""
    f, total, tests = Findings(), 0.0, 0
    for r in records:
        verdicts = _statistical(r)
        used = sum(float(v.alpha) for v in verdicts)
        total, tests = total + used, tests + len(verdicts)
        if verdicts:
            share = r.false_fail_rate
            ok = share is not None and used <= share * (1 + _ROUNDING)
            f.check(
                f"{r.claim.id}: sum of its {len(verdicts)} tests' rates", used, f"<= its share {share}", ok
            )
    f.check(
        f"sum of the rates of all {tests} statistical tests",
        total,
        f"<= the family rate {family_rate:g}",
        total <= family_rate * (1 + _ROUNDING),
    )
    return f


def _wrong_prediction(target: str) -> str:
    """A detection target without its setting, the last parenthesis when it holds one ("ell=3, d=6"):
    the same wrong prediction at two settings is one target, caught if either setting catches it."""
    head, sep, tail = target.rpartition(" (")
    return head if sep and tail.endswith(")") and "=" in tail else target


def detection_power(records: Iterable[Any]) -> Findings:
    """Every Detection states a rate no larger than its claim's per-test rate in this run, and each wrong
    prediction a claim declares is caught by one of its tests with power >= POWER (the claim fails when any
    of its tests fails, so its power is at least the largest of theirs)."""
    f = Findings()
    for r in records:
        if r.outcome is None or not r.outcome.detections:
            continue
        best: dict[str, float] = defaultdict(float)
        for d in r.outcome.detections:
            ok = r.test_rate is not None and d.alpha <= r.test_rate * (1 + _ROUNDING)
            if not ok:
                f.check(
                    f"{r.claim.id}: rate of '{d.target}'",
                    d.alpha,
                    f"<= the run's per-test rate {r.test_rate}",
                    ok,
                )
            best[_wrong_prediction(d.target)] = max(best[_wrong_prediction(d.target)], d.power)
        for target, power in best.items():
            f.check(f"{r.claim.id}: power against '{target}'", power, f">= {POWER}", power >= POWER)
    return f


def run_checks(records: list[Any], family_rate: float) -> list[SelfCheckResult]:
    """The checks over a finished run's records."""
    out = []
    for key, title, statement, fn in (
        (
            "rate_split",
            "per-test rates sum to at most the family rate",
            "The false-fail rates of the statistical tests that decided this run's claims sum to at most the "
            "family rate, and each claim's to at most its Bonferroni share",
            lambda: rate_split(records, family_rate),
        ),
        (
            "detection_power",
            "every detection target has power >= 0.9",
            "Each wrong prediction a claim declares is caught with power at least 0.9 at the per-test rate "
            "this run used (a Detection stated at a larger rate than the run's is a failure)",
            lambda: detection_power(records),
        ),
    ):
        start = time.perf_counter()
        findings = fn()
        out.append(
            SelfCheckResult(
                id=f"instruments.{key}",
                title=title,
                statement=statement,
                method="Checked after the run over the verdict and Detection objects its claims returned "
                f"({len(findings.rows)} comparisons; float64 rounding of a sum of rates allowed, "
                f"{_ROUNDING:g} relative).",
                rows=tuple(findings.rows),
                seconds=time.perf_counter() - start,
            )
        )
    return out
