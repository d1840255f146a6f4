"""Where experiments run: in this process, on a pool of worker processes, or on a Dask cluster.

Every executor has one method, `run(fn, items)`, yielding `(index, result, error)` as items finish (in
completion order; the harness re-orders), and `close()`. The numbers never depend on the executor: each
experiment draws its randomness from its own seed and runs single-threaded per worker by default.

Workers of the local pool never outlive the main process: each asks the kernel for SIGKILL when its
parent dies (PR_SET_PDEATHSIG, Linux) and also watches its parent from a thread (any system), ignores
SIGINT (Ctrl-C is the main process's to handle, so workers print no traceback), and is killed by
`close(kill=True)` when the run is interrupted.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

__all__ = [
    "DaskExecutor",
    "EXECUTORS",
    "InlineExecutor",
    "Item",
    "LocalExecutor",
    "make_executor",
    "UNSET_MALLOC_TRIM",
]

EXECUTORS = ("local", "dask")

Item = tuple[int, Any, str]  # (index, result or None, formatted error or "")


def _guarded(fn: Callable[[Any], Any], item: Any) -> tuple[Any, str]:
    """fn(item), with an exception turned into its formatted traceback (it is reported, not raised)."""
    try:
        return fn(item), ""
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception:
        return None, traceback.format_exc(limit=12)


class InlineExecutor:
    """Everything in this process, one item after another (jobs = 1; what the tests use)."""

    jobs = 1

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Item]:
        for i, item in enumerate(items):
            result, error = _guarded(fn, item)
            yield i, result, error

    def close(self, kill: bool = False) -> None:
        pass


def _die_with_parent(parent: int) -> None:
    """In a worker: be killed when the main process dies, however it dies."""
    libc_name = ctypes.util.find_library("c")
    if sys.platform.startswith("linux") and libc_name:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(libc_name, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _init_worker(parent: int, threads: int) -> None:
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    import torch

    torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float64)


class LocalExecutor:
    """A pool of `jobs` spawned worker processes on this machine (spawn, not fork: a forked child would
    inherit torch's thread pool and a CUDA context)."""

    def __init__(self, jobs: int, threads: int = 1) -> None:
        self.jobs = jobs
        # After a SIGKILL of this process, multiprocessing's resource tracker (which outlives it by design)
        # unlinks the pool's semaphores and warns that it did; the cleanup is its job, the warning is noise
        # on the user's terminal. The flag reaches the tracker's interpreter through sys.warnoptions.
        quiet = "ignore::UserWarning:multiprocessing.resource_tracker"
        if quiet not in sys.warnoptions:
            sys.warnoptions.append(quiet)
        self._pool = ProcessPoolExecutor(
            jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(os.getpid(), threads),
        )

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Item]:
        pending: dict[Future, int] = {
            self._pool.submit(_guarded, fn, item): i for i, item in enumerate(items)
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                i = pending.pop(future)
                result, error = future.result()
                yield i, result, error

    def close(self, kill: bool = False) -> None:
        if kill:
            # ProcessPoolExecutor can only wait for running tasks; an interrupt must not wait minutes.
            processes = list(getattr(self._pool, "_processes", {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                with contextlib.suppress(Exception):
                    process.kill()
            for process in processes:
                with contextlib.suppress(Exception):
                    process.join(timeout=5)
            return
        self._pool.shutdown(wait=True)


#: The Dask setting that our LocalCluster unsets (None), and that a cluster's workers should unset too
#: (docs/sweeps.md: examples/dask/offsub.yaml in DASK_CONFIG; an environment variable cannot, as Dask
#: lower-cases the key it names).
UNSET_MALLOC_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"


class DaskExecutor:
    """A Dask cluster: the one at `scheduler` (tcp://HOST:PORT), or a LocalCluster of `jobs` worker
    processes started here. Needs the optional extra: pip install "offsub[dask]"."""

    def __init__(self, jobs: int, threads: int = 1, scheduler: str | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            from theory.parameters import ParameterError

            raise ParameterError(
                "executor='dask' is invalid here: dask.distributed is not installed (pip install "
                '"offsub[dask]")'
            ) from None
        self.threads = threads
        self._cluster = None
        if scheduler is None:
            import dask

            # Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536, which also freezes glibc's
            # mmap threshold: every tensor above 128 KiB is then a fresh mmap and its page faults, and
            # the sweep's cells ran 2.1x slower (1 worker, bench16's cell 5: 2.3 s against 1.1 s).
            with dask.config.set({UNSET_MALLOC_TRIM: None}):
                self._cluster = LocalCluster(
                    n_workers=jobs,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=40,
                )
            self._client = Client(self._cluster)
        else:
            self._client = Client(scheduler, timeout=30)
        self.jobs = len(self._client.scheduler_info().get("workers", {})) or jobs

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Item]:
        from distributed import as_completed

        futures = [
            self._client.submit(
                _threaded, fn, item, self.threads, pure=False, key=f"offsub-{i}-{os.getpid()}-{id(item)}"
            )
            for i, item in enumerate(items)
        ]
        index = {future.key: i for i, future in enumerate(futures)}
        for future in as_completed(futures):
            result, error = future.result()
            yield index[future.key], result, error

    def close(self, kill: bool = False) -> None:
        with contextlib.suppress(Exception):
            self._client.close()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()


def _threaded(fn: Callable[[Any], Any], item: Any, threads: int) -> tuple[Any, str]:
    """On a Dask worker: the same thread count and default dtype as a local worker, then `_guarded`."""
    import torch

    torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float64)
    return _guarded(fn, item)


def make_executor(name: str, jobs: int, threads: int = 1, scheduler: str | None = None):
    """The executor called `name` ("local" runs inline when jobs == 1)."""
    if name == "dask":
        return DaskExecutor(jobs, threads, scheduler)
    if scheduler is not None:
        from theory.parameters import ParameterError

        raise ParameterError(
            f"scheduler={scheduler!r} is invalid with executor 'local': expected --executor dask"
        )
    return InlineExecutor() if jobs == 1 else LocalExecutor(jobs, threads)
