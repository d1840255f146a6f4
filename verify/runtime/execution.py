"""What every command that trains shares: the execution options (seed, device, threads, jobs, executor),
turning them into a device and an executor, and the exception a signal becomes."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from theory.parameters import validate

__all__ = ["add_execution_options", "execution", "Interrupted", "staged_run"]


class Interrupted(BaseException):
    """SIGINT or SIGTERM reached the main process: stop the workers, keep the previous report."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def add_execution_options(p: argparse.ArgumentParser, *, seed: bool = True) -> None:
    """--seed, --device, --threads, --jobs, --executor, --scheduler: shared by every command that trains
    (``seed=False`` for a command that picks its own seeds)."""
    if seed:
        p.add_argument(
            "--seed",
            type=int,
            default=0,
            help="master seed (an integer >= 0); the same seed gives the same numbers",
        )
    else:
        p.set_defaults(seed=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for torch per worker (default 1: the experiments train many small networks, whose "
        "batched products run faster on one thread than split across cores)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="worker processes running experiments (default: one per CPU core on cpu, 1 on cuda); the "
        "numbers do not depend on it",
    )
    p.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="local: a process pool on this machine (default); dask: a Dask cluster (pip install "
        "'offsub[dask]'), a LocalCluster of --jobs workers or the one at --scheduler",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDR",
        help="address of a running Dask scheduler, tcp://HOST:PORT",
    )


def execution(args: argparse.Namespace):
    """(device, executor) from the shared execution options, validated (ParameterError on bad input)."""
    from verify.commands.options import validate_options
    from verify.runtime.devices import resolve_device
    from verify.runtime.executors import make_executor

    validate(seed=args.seed)
    validate_options(threads=args.threads)
    device = resolve_device(args.device)
    jobs = (1 if device != "cpu" else max(1, os.cpu_count() or 1)) if args.jobs is None else args.jobs
    validate_options(jobs=jobs)
    import torch

    torch.set_num_threads(args.threads)
    executor = make_executor(args.executor, jobs, args.threads, args.scheduler)
    return device, executor


@contextlib.contextmanager
def staged_run(args: argparse.Namespace, out: str) -> Iterator[tuple[str, Any, Path]]:
    """Check `out` before anything runs, then yield (device, executor, staging folder): on success the
    report is swapped in and the workers end; on any exception (an interrupt included) the workers are
    killed and the staging folder removed, so the previous report stays as it was."""
    from verify.runtime import output

    staging = output.prepare(out)  # before any training: a refused --out costs nothing
    executor = None
    try:
        device, executor = execution(args)
        try:
            yield device, executor, staging.stage
            staging.commit()
        except OSError as exc:  # a full disk or a vanished folder while writing: one line, exit 2
            raise output.OutputError(
                f"out={out!r}: the report could not be written ({exc.strerror or exc})"
            ) from None
    except BaseException:
        if executor is not None:
            executor.close(kill=True)
        staging.discard()
        raise
    executor.close()
