"""report.json: every claim with its verdicts and their rules (value, threshold, direction), so a reader's
script can re-decide each verdict without the code; numbers stay numbers (the writers format them)."""

from __future__ import annotations

from typing import Any

from verify.harness import Record
from verify.statistics import jsonable

__all__ = ["to_json"]


def _deep_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _deep_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_deep_jsonable(v) for v in value]
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if hasattr(value, "tolist"):
        return _deep_jsonable(value.tolist())
    return jsonable(value)


def to_json(records: list[Record], manifest: dict) -> dict:
    """{"manifest": ..., "claims": [...]} of a run."""
    claims = []
    for r in records:
        o = r.outcome
        claims.append(
            {
                "id": r.claim.id,
                "title": r.claim.title,
                "statement": r.claim.statement,
                "results": list(r.claim.results),
                "section": r.claim.section,
                "verdict": r.verdict,
                "statistical": r.claim.statistical,
                "false_fail_rate": r.false_fail_rate,
                "test_rate": r.test_rate,
                "seconds": round(r.seconds, 3),
                "rule_seconds": round(r.rule_seconds, 3),
                "experiment_seconds": round(r.experiment_seconds, 3),
                "prediction": o.prediction if o else None,
                "method": o.method if o else None,
                "verdicts": [v.as_dict() for v in o.verdicts] if o else [],
                "reported": [v.as_dict() for v in o.reported] if o else [],
                "detections": [d.as_dict() for d in o.detections] if o else [],
                "decisive": o.decisive.rule.as_dict() if o else None,
                "tables": [
                    {
                        "title": t.title,
                        "columns": [{"name": c.name, "format": c.format} for c in t.columns],
                        "rows": [[jsonable(v) for v in row] for row in t.rows],
                    }
                    for t in (o.all_tables if o else ())
                ],
                "figures": [f"figures/{f}" for f in (o.figures if o else ())],
                "details": _deep_jsonable(dict(o.details)) if o else {},
                "error": r.error or None,
            }
        )
    return {"manifest": manifest, "claims": claims}
