"""--out is the user's: anything but a new folder or a previous report of this suite is refused with one
line and exit 2 before any work, and nothing is written, moved or deleted (files compared byte for byte)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from verify.cli import main
from verify.runtime import output

FAST = ["run", "symbolic.decay_recurrence"]


def _snapshot(root: Path) -> dict[str, bytes | str]:
    """Every path under root with its bytes (files), 'dir' (folders) or its link target."""
    out: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            out[key] = "link:" + os.readlink(path)
        elif path.is_dir():
            out[key] = "dir"
        else:
            out[key] = path.read_bytes()
    return out


def _refused(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "out=" in err, err
    return err


def test_a_regular_file_is_never_replaced(tmp_path, capsys):
    target = tmp_path / "thesis.tex"
    target.write_bytes(b"\\documentclass{article} my thesis")
    before = _snapshot(tmp_path)
    assert "is a file" in _refused([*FAST, "--out", str(target)], capsys)
    assert _snapshot(tmp_path) == before


def test_a_folder_the_suite_did_not_write_is_never_replaced(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("chapter 1")
    (folder / "data").mkdir()
    (folder / "data" / "x.csv").write_text("1,2")
    before = _snapshot(tmp_path)
    assert "thesis.tex" in _refused([*FAST, "--out", str(folder)], capsys)
    assert _snapshot(tmp_path) == before


def test_a_previous_report_with_a_user_file_added_is_not_replaced(tmp_path, capsys):
    report = tmp_path / "reports"
    assert main([*FAST, "--out", str(report)]) == 0
    (report / "notes.txt").write_text("my notes on the report")
    before = _snapshot(tmp_path)
    capsys.readouterr()
    assert "notes.txt" in _refused([*FAST, "--out", str(report)], capsys)
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("out", [".", "", ".."])
def test_the_current_folder_and_its_parents_are_refused(tmp_path, monkeypatch, capsys, out):
    work = tmp_path / "work"
    work.mkdir()
    (work / "paper.md").write_text("draft")
    monkeypatch.chdir(work)
    before = _snapshot(tmp_path)
    _refused([*FAST, "--out", out], capsys)
    assert _snapshot(tmp_path) == before


def test_a_symlink_and_a_missing_parent_are_refused(tmp_path, capsys):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    before = _snapshot(tmp_path)
    _refused([*FAST, "--out", str(tmp_path / "link")], capsys)
    assert "does not exist" in _refused([*FAST, "--out", str(tmp_path / "no" / "such" / "dir")], capsys)
    assert _snapshot(tmp_path) == before


def test_a_pseudo_file_system_is_refused():
    run = subprocess.run(
        [sys.executable, "-m", "verify", *FAST, "--out", "/proc/offsub-report"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert not Path("/proc/offsub-report").exists()


def test_a_read_only_folder_is_refused(tmp_path):
    # As root, permission bits do not stop writes: run the command as an unprivileged user then.
    base = Path(os.environ.get("TMPDIR", "/tmp")) / f"offsub-ro-{os.getpid()}"
    base.mkdir()
    try:
        locked = base / "locked"
        locked.mkdir()
        (locked / "keep.txt").write_text("keep")
        os.chmod(base, 0o755)
        os.chmod(locked, 0o555)
        command = [sys.executable, "-m", "verify", *FAST, "--out", str(locked / "reports")]
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            assert setpriv, "running as root, the test needs setpriv to drop privileges"
            command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]
        root = Path(__file__).resolve().parents[2]
        env = {**os.environ, "PYTHONPATH": str(root), "HOME": str(base), "MPLCONFIGDIR": str(base / "mpl")}
        os.chmod(base, 0o777)  # the unprivileged user may write its own caches beside, never into locked/
        run = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd=base)
        assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stdout + run.stderr
        assert "not writable" in run.stderr or "cannot write" in run.stderr
        assert sorted(p.name for p in locked.iterdir()) == ["keep.txt"]
    finally:
        os.chmod(base / "locked", 0o755)
        shutil.rmtree(base)


def test_a_full_disk_is_found_before_any_work(tmp_path, monkeypatch, capsys):
    def full(fd, offset, size):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", full)
    before = _snapshot(tmp_path)
    assert "No space left" in _refused([*FAST, "--out", str(tmp_path / "reports")], capsys)
    assert _snapshot(tmp_path) == before


def test_a_real_full_file_system_is_found_before_any_work(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip(
            "mounting a tmpfs needs privileges; test_a_full_disk_is_found_before_any_work covers the path"
        )
    try:
        run = subprocess.run(
            [sys.executable, "-m", "verify", *FAST, "--out", str(mount / "reports")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (
            run.returncode == 2
            and "No space left" in run.stderr
            and len(run.stderr.strip().splitlines()) == 1
        ), run.stderr
        assert list(mount.iterdir()) == []
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_previous_report_is_replaced_and_keeps_its_permissions(tmp_path):
    report = tmp_path / "reports"
    assert main([*FAST, "--out", str(report)]) == 0
    os.chmod(report, 0o750)
    first = json.loads((report / "manifest.json").read_text())["started"]
    assert main([*FAST, "--out", str(report)]) == 0
    assert stat.S_IMODE(report.stat().st_mode) == 0o750
    assert json.loads((report / "manifest.json").read_text())["generator"] == output.GENERATOR
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"], first  # no staging or old folder left
    fresh = tmp_path / "fresh"
    assert main([*FAST, "--out", str(fresh)]) == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o777 & ~_umask()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_stale_staging_folders_of_dead_runs_are_removed_and_nothing_else(tmp_path):
    target = tmp_path / "reports"
    dead = tmp_path / ".reports.offsub-stage-999999-deadbeef"
    dead.mkdir()
    (dead / output.STAMP).write_text(json.dumps({"pid": 999999, "host": os.uname().nodename}))
    alive = tmp_path / ".reports.offsub-stage-1-cafe"
    alive.mkdir()
    (alive / output.STAMP).write_text(json.dumps({"pid": os.getpid(), "host": os.uname().nodename}))
    foreign = tmp_path / ".reports.offsub-stage-2-user"  # the pattern, but no stamp: not provably ours
    foreign.mkdir()
    (foreign / "file").write_text("x")
    assert main([*FAST, "--out", str(target)]) == 0
    assert not dead.exists() and alive.exists() and (foreign / "file").read_text() == "x"
