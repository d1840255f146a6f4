"""The command line: help, list, and one-line usage errors with exit status 2 before anything runs."""

import subprocess
import sys

import pytest

from verify.cli import main


def _run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "verify", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def test_help_lists_subcommands():
    out = _run("--help")
    assert out.returncode == 0
    for name in ("all", "run", "list", "bounds", "bench"):
        assert name in out.stdout


def test_list_shows_every_claim(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "R1.invariance" in out and "R3" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["frobnicate"],
        ["run", "R99.nothing"],
        ["all", "--profile", "huge"],
        ["all", "--false-fail-rate", "2"],
        ["all", "--device", "tpu"],
        ["all", "--device", "cudax"],
        ["all", "--device", "cuda:99"],  # no such GPU, here or anywhere this runs
        ["all", "--jobs", "0"],
        ["all", "--seed", "-1"],
        ["run", "R1", "--threads", "-1"],
        ["run", "R1", "--scheduler", "tcp://localhost:1"],  # a scheduler needs --executor dask
    ],
)
def test_usage_errors_exit_2_with_one_line(argv, tmp_path):
    out = _run(*argv, *(["--out", str(tmp_path / "r")] if argv[0] in ("all", "run") else []))
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "error" in out.stderr
    assert not (tmp_path / "r").exists()
    assert list(tmp_path.iterdir()) == []  # no staging folder left behind either
