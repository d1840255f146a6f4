"""docs/adding-a-claim.md followed literally: its example module, saved and listed in CHECK_MODULES, is in
`verify list`, decided by `verify run` and by a one-cell sweep."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from tests.verify.listing import listed
from verify import claim as claim_module
from verify import cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "adding-a-claim.md"


def test_the_documented_example_reaches_list_run_and_sweep(tmp_path, monkeypatch, capsys):
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert code is not None
    (tmp_path / "offsub_example_claim.py").write_text(code.group(1))
    monkeypatch.syspath_prepend(str(tmp_path))
    # Load every check module first: one first imported under the patch below would register its claims
    # in the patched copy only, and be missing from the real registry after the test.
    claim_module.all_claims()
    monkeypatch.setattr(claim_module, "_REGISTRY", dict(claim_module._REGISTRY))
    monkeypatch.setattr(claim_module, "CHECK_MODULES", (*claim_module.CHECK_MODULES, "offsub_example_claim"))
    try:
        assert cli.main(["list"]) == 0
        row = listed(capsys.readouterr().out)["example.q_mean"]
        assert row["rule"] == "statistical" and "yes, where optimizer gd" in row["per cell (sweep, at)"]

        out = tmp_path / "report"
        assert cli.main(["run", "example", "--profile", "quick", "--jobs", "1", "--out", str(out)]) == 0
        report = json.loads((out / "report.json").read_text())
        assert [c["id"] for c in report["claims"] if not c["id"].startswith("instruments.")] == [
            "example.q_mean"
        ]

        spec = tmp_path / "one.toml"
        spec.write_text(
            "[fixed]\nd = 30\nell = 20\nm = 32\nruns = 100\nsteps = 60\n[sweep]\nclaims = ['example']\n"
        )
        assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "sweep"), "--jobs", "1"]) == 0
        rows = json.loads((tmp_path / "sweep" / "table.json").read_text())
        assert [(r["claim"], r["verdict"]) for r in rows] == [("example.q_mean", "pass")]
    finally:
        sys.modules.pop("offsub_example_claim", None)
