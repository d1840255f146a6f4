"""The calibration's own tests and its report (`verify calibrate`): per claim the exact binomial test of its
failures against their bound, per test the KS test of its p-values against U(0, 1), and the Markdown."""

from __future__ import annotations

from typing import Any

import numpy as np
from tabulate import tabulate

from verify.claim import split_family_rate
from verify.statistics import DETECTION_POWER, binomial_upper_test, ks_test

__all__ = ["judge", "markdown_report"]


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


def markdown_report(claims: list[dict], tests: list[dict], manifest: dict) -> str:
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
