"""A verdict as one row of a table: which test, the statistic it decides on, its value against the
threshold, the direction that passes, the p-value and false-fail rate, and the smallest effect it detects.

The row is read from the verdict's own record (``as_dict()``: its fields and its ``rule``), so every kind
of `verify.statistics` and `verify.tolerance` result renders the same way in Markdown, LaTeX and HTML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from verify.reports.rows import format_number
from verify.statistics import Verdict

__all__ = ["VERDICT_HEADERS", "VerdictRow", "headline", "verdict_row"]

VERDICT_HEADERS = (
    "verdict",
    "test",
    "statistic",
    "value",
    "threshold",
    "passes if",
    "p-value and rate",
    "detectable effect",
)


@dataclass(frozen=True)
class VerdictRow:
    """One verdict's cells, as text (see VERDICT_HEADERS); ``judged`` is False for a reported result."""

    verdict: str
    test: str
    statistic: str
    value: str
    threshold: str
    passes_if: str
    p_and_rate: str
    detectable: str
    judged: bool = True

    def cells(self) -> list[str]:
        return [
            self.verdict,
            self.test,
            self.statistic,
            self.value,
            self.threshold,
            self.passes_if,
            self.p_and_rate,
            self.detectable,
        ]


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _test(kind: str, d: dict[str, Any]) -> str:
    name = d.get("name") or d.get("what") or ""
    label = {
        "GofResult": f"{d.get('test', 'goodness of fit')} {name if name.startswith('of ') else 'vs ' + name}",
        "ChiSquareMeanResult": f"exact mean test of {name} vs chi2_{d.get('ell', 'ell')}",
        "BinomialResult": f"one-sided exact binomial: {name}",
        "TwoSidedBinomialResult": f"two-sided exact binomial: {name}",
        "OrderingResult": f"{d.get('test', 'ordering')}: {name}",
        "SlopeResult": f"OLS slope ({d.get('alternative', '')}): {name}",
        "WeightedSlopeResult": f"weighted slope: {name}",
        "Comparison": f"float64 comparison: {name}",
        "Threshold": f"exact: {name}",
    }
    return label.get(kind, f"{kind}: {name}" if name else kind)


def _p_and_rate(d: dict[str, Any], alpha: float | None) -> str:
    if alpha is None:
        return "exact (no rate)"
    p = d.get("p_value")
    if isinstance(p, (int, float)) and p == 0 and "log10_p_value" in d:
        shown = f"10^({float(d['log10_p_value']):.1f})"
    elif p is not None:
        shown = format_number(p)
    else:
        shown = ""
    rate = f"alpha = {float(alpha):.2g}"
    return f"p = {shown}, {rate}" if shown else rate


def _detectable(kind: str, d: dict[str, Any]) -> str:
    power = d.get("power")
    at = f" (power {power:g})" if isinstance(power, (int, float)) and _finite(power) else ""
    if kind == "GofResult":
        return f"sup-CDF distance >= {format_number(d['detectable'])}{at}"
    if kind == "ChiSquareMeanResult":
        return f"scale error |c - 1| >= {format_number(d['detectable'])}{at}"
    if kind == "BinomialResult":
        rate = d.get("detectable_rate")
        return f"true rate >= {format_number(rate)}{at}" if _finite(rate) else "no rate can fail it"
    if kind == "TwoSidedBinomialResult":
        p0 = float(d["p0"])
        sides = []
        if _finite(d.get("detectable_rise")):
            sides.append(f"rate >= {format_number(p0 + float(d['detectable_rise']))}")
        if _finite(d.get("detectable_fall")):
            sides.append(f"rate <= {format_number(p0 - float(d['detectable_fall']))}")
        return (" or ".join(sides) + at) if sides else "no rate reaches the power"
    if kind == "OrderingResult":
        return f"P(A > B) >= {format_number(d['detectable'])}{at}"
    if kind in ("SlopeResult", "WeightedSlopeResult"):
        return f"slope off by >= {format_number(d['detectable'])}{at}"
    if "detectable" in d:
        return f"{format_number(d['detectable'])}{at}"
    return "-"


def verdict_row(v: Verdict, judged: bool = True) -> VerdictRow:
    """The row of verdict `v` (``judged`` False: shown for reference, never decides the claim)."""
    d = v.as_dict()
    kind = d.get("kind", type(v).__name__)
    rule = v.rule
    word = ("PASS" if v.passed else "FAIL") if judged else ("(pass)" if v.passed else "(fail)")
    return VerdictRow(
        verdict=word,
        test=_test(kind, d),
        statistic=rule.quantity,
        value=format_number(rule.value),
        threshold=format_number(rule.threshold),
        passes_if=rule.passes_if,
        p_and_rate=_p_and_rate(d, v.alpha if v.statistical else None),
        detectable=_detectable(kind, d) if v.statistical else "-",
        judged=judged,
    )


def headline(v: Verdict) -> str:
    """The measured number of a verdict in a few words, for the front page ("mean Q = 2.99 vs 3")."""
    d = v.as_dict()
    kind = d.get("kind", type(v).__name__)
    n = f", n = {d['n']}" if "n" in d and isinstance(d["n"], int) else ""
    if kind == "ChiSquareMeanResult":
        return f"mean of {d['name']} = {format_number(d['mean'])} vs ell = {d['ell']}{n}"
    if kind == "GofResult":
        return f"{d['test'].split(' (')[0]} D = {format_number(d['statistic'])} vs {d['name']}{n}"
    if kind == "BinomialResult":
        return f"{d['name']}: {d['failures']}/{d['n']} vs bound {format_number(d['p0'])}"
    if kind == "TwoSidedBinomialResult":
        return f"{d['name']}: {d['events']}/{d['n']} = {format_number(d['rate'])} vs {format_number(d['p0'])}"
    if kind == "OrderingResult":
        return f"{d['name']}: P(A > B) = {format_number(d['effect'])}, p = {format_number(d['p_value'])}"
    if kind in ("SlopeResult", "WeightedSlopeResult"):
        low, high = format_number(d["ci_low"]), format_number(d["ci_high"])
        slope, predicted = format_number(d["slope"]), format_number(d["predicted"])
        return f"{d['name']}: slope {slope} (CI [{low}, {high}]) vs {predicted}"
    rule = v.rule
    return f"{rule.quantity} = {format_number(rule.value)} {rule.passes_if} {format_number(rule.threshold)}"
