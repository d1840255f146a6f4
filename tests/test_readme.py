"""The README's two set-up commands are the ones CI and users run."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _ci_command() -> str:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    return next(line for line in lines if "pytest" in line and not line.startswith("#"))


def test_ci_runs_the_readme_test_command_verbatim():
    assert _ci_command() in README.split("```bash")[2]


def test_readme_first_command_runs_verify_all():
    first = README.split("```bash")[1].split("```")[0]
    assert "python -m verify all" in first
