"""Where a report goes: the output folder is the user's, so it is checked before any work and replaced
atomically at the end, and only if the suite wrote it.

`prepare(out)` refuses, with one line naming `out` (ParameterError, exit 2 on the command line), anything
but a missing folder with an existing writable parent or a folder holding nothing but a previous report of
this suite (its manifest says so, and every entry is one the writers make). It then creates a staging
folder beside the target, marks it with a stamp file naming this process, and writes a probe file of the
report's expected size there, so a full disk or a read-only folder is found before training starts.
`Staged.commit()` swaps the finished report in (one atomic `renameat2(RENAME_EXCHANGE)` on Linux, two
renames elsewhere), keeping the previous folder's permissions; `discard()` removes the staging folder.
Staging folders left by a killed run (their stamp names a process that no longer exists) are removed by
the next `prepare` of the same target; nothing else is ever deleted.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import json
import os
import shutil
import socket
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

from theory.parameters import ParameterError

__all__ = [
    "GENERATOR",
    "PROBE_BYTES",
    "REPORT_FILES",
    "STAMP",
    "OutputError",
    "Staged",
    "is_previous_report",
    "prepare",
    "staged",
]

#: Marker the writers put into every manifest: how a previous report of this suite is recognised.
GENERATOR = "offsub verify report"
#: What a report folder may hold: the writers' files and the figures folder (PNG files only).
REPORT_FILES = frozenset(
    {
        "report.md", "report.json", "report.tex", "report-tables.tex", "report.html", "report.pdf",
        "manifest.json", "figures",
    }
)  # fmt: skip
STAMP = ".offsub-stage"
#: Free space reserved by the probe: above the largest report written so far (the standard profile's
#: figures are about 4 MB, and report.html and report.pdf each embed them again), so a disk that cannot
#: take the report fails before any training.
PROBE_BYTES = 32 * 1024 * 1024


class OutputError(ParameterError):
    """The output path cannot be used; the message is one line naming it and why."""


def _bad(out: Path | str, why: str) -> OutputError:
    return OutputError(f"out={str(out)!r} is invalid: {why}")


def is_previous_report(folder: Path) -> bool:
    """Whether `folder` holds only a report this suite wrote: its manifest names the suite (or, for
    reports from before the marker existed, has the manifest's own keys) and every entry is a writer's."""
    try:
        entries = {entry.name: entry for entry in os.scandir(folder)}
    except OSError:
        return False
    if "manifest.json" not in entries or not set(entries) <= REPORT_FILES:
        return False
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    ours = manifest.get("generator") == GENERATOR or (
        str(manifest.get("command", "")).startswith("python -m verify")
        and {"profile", "seed", "versions"} <= set(manifest)
    )
    if not ours:
        return False
    figures = entries.get("figures")
    if figures is not None:
        if not figures.is_dir(follow_symlinks=False):
            return False
        for entry in os.scandir(figures.path):
            if not (entry.is_file(follow_symlinks=False) and entry.name.endswith(".png")):
                return False
    return all(e.is_dir(follow_symlinks=False) or e.is_file(follow_symlinks=False) for e in entries.values())


def _foreign_entries(folder: Path) -> list[str]:
    try:
        names = sorted(entry.name for entry in os.scandir(folder))
    except OSError:
        return []
    return [name for name in names if name not in REPORT_FILES] or names[:3]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale_stages(target: Path) -> list[Path]:
    """Staging folders of `target` whose stamp names a process of this host that no longer exists."""
    stale = []
    prefix = f".{target.name}.offsub-stage-"
    try:
        candidates = [entry for entry in os.scandir(target.parent) if entry.name.startswith(prefix)]
    except OSError:
        return []
    for entry in candidates:
        if not entry.is_dir(follow_symlinks=False):
            continue
        try:
            stamp = json.loads((Path(entry.path) / STAMP).read_text())
        except (OSError, ValueError):
            continue  # not identifiably ours: leave it alone
        if stamp.get("host") == socket.gethostname() and not _pid_alive(int(stamp.get("pid", -1))):
            stale.append(Path(entry.path))
    return stale


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); False where the system cannot."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EPERM):  # file system or kernel without the flag
        return False
    raise OSError(code, os.strerror(code), str(a))


@dataclass
class Staged:
    """A staging folder beside the target; the report is written into `.stage`, then committed."""

    target: Path
    stage: Path
    mode: int  # permissions the committed folder gets

    def commit(self) -> None:
        """Make the staged report the target, atomically; the previous report (if any) is removed after."""
        os.chmod(self.stage, self.mode)
        (self.stage / STAMP).unlink(missing_ok=True)
        if self.target.exists() and _exchange(self.stage, self.target):
            shutil.rmtree(self.stage, ignore_errors=True)  # now holds the previous report
            return
        old = self.target.parent / f".{self.target.name}.offsub-old-{os.getpid()}"
        if self.target.exists():
            os.replace(self.target, old)
        os.replace(self.stage, self.target)
        shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)


def prepare(out: Path | str) -> Staged:
    """Check `out` and stage a folder for the report beside it (module docstring); nothing is touched
    when the check fails."""
    if str(out).strip() == "":
        raise _bad(out, "expected the path of a report folder")
    target = Path(out).expanduser()
    resolved = target.resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise _bad(out, "it is the current folder or one of its parents; name a report folder inside it")
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise _bad(
            out, "it is a file, not a folder; the suite writes a report folder and never replaces a file"
        )
    mode = 0o777 & ~_umask()
    if target.exists():
        if not is_previous_report(resolved):
            found = ", ".join(_foreign_entries(resolved)) or "no report of this suite"
            raise _bad(out, f"the folder holds files the suite did not write ({found}); choose a new folder")
        mode = stat.S_IMODE(resolved.stat().st_mode)
    parent = resolved.parent
    if not parent.is_dir():
        raise _bad(out, f"its parent folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _bad(out, f"its parent folder {str(parent)!r} is not writable")
    for stale in _stale_stages(resolved):
        shutil.rmtree(stale, ignore_errors=True)
    stage = parent / f".{resolved.name}.offsub-stage-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        stage.mkdir()
        (stage / STAMP).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
        _probe(stage / ".probe", PROBE_BYTES)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        raise _bad(out, f"cannot write beside it ({exc.strerror or exc})") from None
    return Staged(resolved, stage, mode)


def _probe(path: Path, size: int) -> None:
    """Reserve `size` bytes at `path` (posix_fallocate where available, else written zeros), then free
    them."""
    with open(path, "wb") as handle:
        try:
            os.posix_fallocate(handle.fileno(), 0, size)
        except (AttributeError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
            block = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                handle.write(block)
            handle.flush()
            os.fsync(handle.fileno())
    path.unlink()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@contextlib.contextmanager
def staged(out: Path | str):
    """`prepare(out)`, yielding the staging folder; committed on success, discarded on any exception."""
    staging = prepare(out)
    try:
        yield staging.stage
    except BaseException:
        staging.discard()
        raise
    staging.commit()
