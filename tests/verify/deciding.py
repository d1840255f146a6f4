"""Deciding claims in the test process: each experiment measured once per key and kept for every later
test (the production harness, `verify.harness.run_claims`, frees a measurement once its claims are
decided)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from verify import experiments
from verify.claim import Claim, Outcome
from verify.harness import decide

__all__ = ["MEMO", "measure", "run_claim"]

#: key -> measurement, shared by every test of the session.
MEMO: dict[tuple[Any, ...], Any] = {}


def measure(
    requests: Mapping[str, experiments.Request], *, seed: int = 0, device: str = "cpu"
) -> dict[str, Any]:
    """label -> measurement, in this process; memoised per key."""
    out = {}
    for label, request in requests.items():
        key = request.key(seed, device)
        if key not in MEMO:
            MEMO[key] = experiments.run(request, seed, device)
        out[label] = MEMO[key]
    return out


def run_claim(
    c: Claim,
    *,
    profile: str = "quick",
    seed: int = 0,
    family_rate: float = 1e-3,
    figures_dir: Path | None = None,
) -> Outcome:
    """Decide one claim in this process by the harness's `decide` (declared tests and rate checked); its
    figures go to `figures_dir`, or to a temporary folder removed afterwards."""
    measurements = measure(c.needs(profile), seed=seed)
    if figures_dir is not None:
        return decide(c, measurements, profile=profile, family_rate=family_rate, figures_dir=figures_dir)[0]
    with tempfile.TemporaryDirectory(prefix="offsub-figures-") as folder:
        return decide(c, measurements, profile=profile, family_rate=family_rate, figures_dir=Path(folder))[0]
