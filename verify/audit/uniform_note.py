"""What a non-Gaussian (PyTorch's uniform) initialization does to R3's law, in the suite's own numbers:
the committed `violation.uniform_init` study, read by column name from `reports/report.json`.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["UNIFORM_STUDY", "uniform_note"]

UNIFORM_STUDY = "violation.uniform_init"


def uniform_note(gaussian: bool) -> str:
    """What a non-Gaussian initialization does to R3's law, with the suite's own uniform-init study
    numbers."""
    if gaussian:
        return "The initial entries pass the Gaussian test: R3's law is exact here."
    return (
        "R3's law is exact only for Gaussian Pi w_i(0); PyTorch's default init is uniform (U(-1/sqrt(d), "
        "1/sqrt(d)): s_w^2 = 1/3). Uniform entries of the same variance leave E Q unchanged (so the exact "
        "mean test keeps its meaning) and make Q only approximately chi-square by the CLT over the d entries "
        "mixed by Pi; " + _study_numbers()
    )


def _study_numbers() -> str:
    """The uniform arm of the suite's committed `violation.uniform_init` study, if its report is at hand,
    read by column name."""
    report = Path(__file__).resolve().parents[2] / "reports" / "report.json"
    try:
        claims = {c["id"]: c for c in json.loads(report.read_text())["claims"]}
        study = claims[UNIFORM_STUDY]["tables"][0]
        names = [c["name"] for c in study["columns"]]
        arms = {row[0]: dict(zip(names, row, strict=True)) for row in study["rows"]}
        g, u = arms["gaussian"], arms["uniform"]
        n, var, z = u["networks"], "var Q (chi2: 2 ell)", u["z of var Q"]
        seen = u["KS D"] >= u["KS detectable"]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return f"see `python -m verify run {UNIFORM_STUDY}` for how large the departure is."
    return (
        f"the suite's study ({UNIFORM_STUDY}, reports/report.json: {n} networks per arm at d = 20, "
        f"ell = 10, m = 16, small so the CLT has least to average) measured mean Q {u['mean Q']:.4g} vs "
        f"{g['mean Q']:.4g} (Gaussian), var Q {u[var]:.4g} vs {g[var]:.4g} (chi2: 20; the uniform arm's "
        f"{abs(z):.1f} standard errors {'below' if z < 0 else 'above'}), KS D {u['KS D']:.4f} vs "
        f"{g['KS D']:.4f} ({'at or above' if seen else 'below'} the {u['KS detectable']:.3f} that {n} "
        "networks detect)"
        + (
            ": at the audit's smaller samples the departure is below what the law's tests can see, so a "
            "failure here is not explained by the uniform init."
            if not seen
            else ": the departure is detectable, so a failure here may be the uniform init's."
        )
    )
