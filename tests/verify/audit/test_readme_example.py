"""The README's "Audit your own networks" example runs as printed (with 3 networks instead of 30), and the
output shown there is what the command prints: the subspace line, and the gradient columns of the first rows
(per network, independent of how many networks are audited together)."""

from __future__ import annotations

import os
from pathlib import Path

from verify.cli import main

README = (Path(__file__).resolve().parents[3] / "README.md").read_text()
SECTION = README.split("## Audit your own networks")[1].split("\n## ")[0]


def test_the_readme_example_runs_and_prints_what_the_readme_shows(tmp_path, capsys, monkeypatch):
    script = SECTION.split("```python\n")[1].split("```")[0]
    command = SECTION.split("```bash\n")[1].split("```")[0].split()
    shown = SECTION.split("```text\n")[1].split("```")[0].splitlines()
    assert script.count("range(30)") == 1 and command[:3] == ["python", "-m", "verify"]
    monkeypatch.chdir(tmp_path)
    exec(compile(script.replace("range(30)", "range(3)"), "README example", "exec"), {})
    assert sorted(os.listdir(tmp_path))[:3] == ["final_00.pt", "final_01.pt", "final_02.pt"]
    args = [a.strip("'") for a in command[3:]]
    assert main(args) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == shown[0]
    for name in ("final_00.pt", "final_01.pt", "final_02.pt"):
        ours = next(line for line in printed if line.startswith(name)).split()
        theirs = next(line for line in shown if line.startswith(name)).split()
        assert ours[1:3] == theirs[1:3]  # ||Pi grad||, ||P grad||
