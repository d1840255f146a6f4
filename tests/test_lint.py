"""The lint and type configuration in pyproject.toml holds on the whole code base."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_ruff_is_clean():
    out = _run("ruff", "check", ".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_is_clean_on_the_packages():
    out = _run("mypy")
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_tree_is_formatted():
    out = _run("ruff", "format", "--check", ".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_no_line_over_the_length_limit():
    """E501 at 110 characters is on in pyproject.toml; a data table may opt out with `# noqa: E501`."""
    out = _run("ruff", "check", "--select", "E501", ".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_module_declares_its_public_names():
    """`__all__` in every module of the packages: what may be imported from it, and nothing private."""
    missing = []
    for package in ("theory", "numerics", "verify", "bench"):
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text()
            name = str(path.relative_to(ROOT))
            if path.name != "__main__.py" and "__all__" not in text:
                missing.append(name)
    assert missing == []
