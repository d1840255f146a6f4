"""The manifest of a run: command, profile, seed, versions, hardware, git commit, times."""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from verify.runtime.output import GENERATOR

__all__ = ["cpu_model", "git_commit", "hardware", "manifest", "now", "run_manifest", "versions"]

_PACKAGES = ("torch", "sympy", "numpy", "mpmath", "scipy", "matplotlib", "tabulate", "scikit-learn", "tqdm")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(device: str) -> dict[str, str]:
    import os

    import torch

    info = {
        "cpu": cpu_model(),
        "cpu_count": str(os.cpu_count()),
        "torch_threads": str(torch.get_num_threads()),
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def git_commit(root: Path) -> str:
    """HEAD of the checkout, marked '+dirty' when tracked files differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!reports"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def manifest(
    *,
    profile: str,
    seed: int,
    device: str,
    false_fail_rate: float,
    started: str,
    wall_seconds: float,
    jobs: int = 1,
    executor: str = "local",
) -> dict:
    root = Path(__file__).resolve().parents[2]
    return {
        "generator": GENERATOR,
        "command": " ".join(["python -m verify", *sys.argv[1:]]),
        "profile": profile,
        "seed": seed,
        "device": device,
        "executor": executor,
        "jobs": jobs,
        "false_fail_rate": false_fail_rate,
        "wall_seconds": round(wall_seconds, 1),
        "versions": versions(),
        "hardware": hardware(device),
        "git_commit": git_commit(root),
        "started": started,
        "finished": now(),
    }


def run_manifest(args: Any, *, seed: int, device: str, executor: Any, started: str, start: float) -> dict:
    """The manifest of a command run with the shared execution options (`all`, `run`, `calibrate`)."""
    import time

    return manifest(
        profile=args.profile,
        seed=seed,
        device=device,
        false_fail_rate=args.false_fail_rate,
        started=started,
        wall_seconds=time.perf_counter() - start,
        jobs=executor.jobs,
        executor=args.executor,
    )
