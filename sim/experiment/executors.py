"""Where replicas run: this process, a pool of local worker processes, or a Dask cluster.

A task is one (scenario, seed, replica): self-contained and seeded by its own named
streams, so its result does not depend on which worker ran it, in what order, or how
many workers there were. Executors hand results back as they finish, with the task's
index; the caller stores and orders them. Local workers given the replica cache's folder
write their results there themselves and hand back only the index, which spares the
parent unpickling every large result.
"""
from __future__ import annotations

import os
import signal
import sys
from typing import Iterator

from ..engine.model import simulate
from ..engine.records import RunResult
from ..errors import ConfigError
from .cache import ReplicaCache


def simulate_task(task) -> RunResult:
    scenario, seed, replica = task
    return simulate(scenario, seed, replica)


def _indexed(item):
    index, task = item
    return index, simulate_task(task)


def _indexed_saved(item):
    """In a local worker: simulate and write the result to the replica cache itself, returning
    only the index (the parent then reads plain arrays instead of unpickling a large result)."""
    index, task, folder, key = item
    ReplicaCache(folder).save(key, simulate_task(task))
    return index, None


def _worker_init() -> None:
    # Ctrl-C is the parent's to handle: it stops the pool, and workers must not print tracebacks
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits its parent's handlers (a web server's SIGTERM handler, say), and
    # Pool.terminate's SIGTERM must end it: back to the default
    for name in ("SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    if hasattr(os, "nice"):   # the parent accounts finished variants meanwhile: it must not wait for a core
        os.nice(5)
    if sys.platform.startswith("linux"):   # a killed parent takes its workers with it
        try:
            import ctypes
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def machine_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Executor:
    """`run(tasks)` yields (index, RunResult) as tasks finish. Open once per command and reuse
    (sizing runs many small batches); close with `close()` or a `with` block."""

    def __init__(self, kind: str = "local", workers: int | None = None, dask_address: str | None = None):
        self.kind, self.workers, self.address = kind, workers or machine_workers(), dask_address
        self._pool = self._client = self._cluster = None
        if kind == "dask":
            try:
                import dask.distributed  # noqa: F401
            except ImportError:
                raise ConfigError("--executor dask: dask is not installed (pip install 'fleetsim[dask]')") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def run(self, tasks: list, cache_folder=None, keys: list[str] | None = None
            ) -> Iterator[tuple[int, RunResult | None]]:
        """With a cache folder and keys, local worker processes save each result there and yield
        None in its place (they share this machine's disk; Dask workers may not)."""
        if not tasks:
            return
        if self.kind == "dask":
            yield from self._run_dask(tasks)
        elif min(self.workers, len(tasks)) <= 1:
            for i, task in enumerate(tasks):
                yield i, simulate_task(task)
        else:
            pool = self._local_pool(min(self.workers, len(tasks)))
            if cache_folder is not None:
                items = [(i, task, cache_folder, key) for i, (task, key) in enumerate(zip(tasks, keys))]
                yield from pool.imap_unordered(_indexed_saved, items, chunksize=1)
            else:
                yield from pool.imap_unordered(_indexed, list(enumerate(tasks)), chunksize=1)

    def _local_pool(self, workers: int):
        if self._pool is None:   # started once, kept for later batches
            import multiprocessing
            self._pool = multiprocessing.get_context("fork" if os.name == "posix" else "spawn").Pool(
                workers, initializer=_worker_init)
        return self._pool

    def _run_dask(self, tasks):
        from dask.distributed import as_completed
        client = self._dask_client()
        futures = client.map(_indexed, list(enumerate(tasks)), pure=False)
        try:
            for future in as_completed(futures):
                yield future.result()
                future.release()   # the worker may drop it: results can be large
        finally:
            client.cancel(futures)

    def _dask_client(self):
        if self._client is None:
            import logging

            from dask.distributed import Client, LocalCluster
            if self.address:
                try:
                    self._client = Client(self.address, timeout=10)
                except OSError as exc:
                    raise ConfigError(f"--dask-address: cannot reach a Dask scheduler at {self.address}: "
                                      f"{exc}") from None
            else:
                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                             dashboard_address=None, silence_logs=logging.ERROR)
                self._client = Client(self._cluster)
        return self._client

    def close(self) -> None:
        """Stop the workers at once (also after Ctrl-C: unfinished tasks are dropped)."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
