"""Replicas and variants: a config and its baseline, paired by replica.

Replica k of every variant draws from the same named streams (seed, k, name),
so their differences are paired (common random numbers). Each (variant,
replica) is simulated independently, so results are the same whatever the
number of worker processes; kernels then batch all replicas of a variant.
"""
from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kernels import get_backend

from .accounting import VariantAccount, account
from .config import ConfigError, Scenario, baseline_path, load_scenario
from .finance import Statements, statements
from .fleet import InvariantError
from .jobstats import job_metrics
from .model import RunResult, simulate
from .stats import paired_comparison, summarize


@dataclass
class VariantResult:
    name: str
    scenario: Scenario
    runs: list[RunResult]
    account: VariantAccount
    finance: Statements
    metrics: dict[str, np.ndarray]     # metric -> (replicas,)


@dataclass
class Experiment:
    name: str
    seed: int
    replicas: int
    backend: str
    variants: list[VariantResult]      # the config first, then its baseline if any
    wall_s: float

    @property
    def summary(self) -> dict:
        out = {"scenario": self.name, "seed": self.seed, "replicas": self.replicas, "backend": self.backend,
               "variants": {v.name: {"metrics": summarize(v.metrics)} for v in self.variants}}
        if len(self.variants) == 2:
            out["comparison"] = paired_comparison(self.variants[0].metrics, self.variants[1].metrics)
        return out


def _simulate_task(args):
    scenario, seed, replica = args
    return simulate(scenario, seed, replica)


class Progress:
    """Replicas done, rate and time left on a terminal; plain lines otherwise; nothing if quiet."""

    def __init__(self, total: int, quiet: bool):
        self.total, self.done, self.quiet = total, 0, quiet
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()

    def step(self, label: str) -> None:
        self.done += 1
        if self.quiet:
            return
        elapsed = time.perf_counter() - self.t0
        left = elapsed / self.done * (self.total - self.done)
        line = f"{label}: {self.done}/{self.total} replicas, {self.done / elapsed:.1f}/s, ~{left:.0f}s left"
        if self.tty:
            print(f"\r{line}\033[K", end="" if self.done < self.total else "\n", file=sys.stderr, flush=True)
        elif self.done == self.total or self.done % max(1, self.total // 10) == 0:
            print(line, file=sys.stderr, flush=True)


def _workers(requested: int | None, tasks: int) -> int:
    if requested is not None:
        return max(1, min(requested, tasks))
    return max(1, min(os.cpu_count() or 1, tasks))


def run_variants(scenarios: list[Scenario], seed: int, replicas: int, backend: str = "auto",
                 workers: int | None = None, quiet: bool = True, executor: str = "local",
                 dask_address: str | None = None) -> tuple[str, list[VariantResult]]:
    backend_name, xp = get_backend(backend)
    tasks = [(s, seed, k) for s in scenarios for k in range(replicas)]
    progress = Progress(len(tasks), quiet)
    runs: list[RunResult] = []
    for task, run in zip(tasks, _execute(tasks, executor, _workers(workers, len(tasks)), dask_address)):
        runs.append(run)
        progress.step(task[0].scenario)
    results = []
    for i, s in enumerate(scenarios):
        mine = runs[i * replicas:(i + 1) * replicas]
        acct = account(s, mine, xp)
        fin = statements(s, acct)
        per_job = [job_metrics(s, run.jobs) for run in mine]
        names = sorted(set().union(*per_job)) if per_job else []
        jobs = {name: np.array([m.get(name, np.nan) for m in per_job]) for name in names}
        metrics = {**acct.metrics, **fin.metrics, **jobs}
        _check_energy_floor(s, metrics)
        results.append(VariantResult(s.scenario, s, mine, acct, fin, metrics))
    return backend_name, results


def _execute(tasks, executor: str, workers: int, dask_address: str | None):
    """Simulate tasks in order. Each task is self-contained and seeded, so the
    results do not depend on where or in how many workers it ran."""
    if executor == "dask":
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError("--executor dask: dask is not installed (pip install 'fleetsim[dask]')") from None
        cluster = None if dask_address else LocalCluster(n_workers=workers, threads_per_worker=1,
                                                         processes=True, dashboard_address=None)
        with Client(dask_address or cluster) as client:
            try:
                yield from client.gather(client.map(_simulate_task, tasks, pure=False))
            finally:
                if cluster is not None:
                    cluster.close()
        return
    if workers == 1:
        yield from map(_simulate_task, tasks)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_simulate_task, tasks)


def _check_energy_floor(s: Scenario, metrics) -> None:
    floor = metrics.pop("idle_floor_it_mwh")
    if (metrics["energy_it_mwh"] < floor * (1 - 1e-9) - 1e-9).any():
        raise InvariantError(f"{s.scenario}: IT energy below the idle floor of the online fleet")


def run_experiment(config: str | Path, seed: int | None = None, replicas: int | None = None,
                   backend: str = "auto", workers: int | None = None, quiet: bool = True,
                   baseline: str | Path | None = None, executor: str = "local",
                   dask_address: str | None = None) -> Experiment:
    t0 = time.perf_counter()
    main = load_scenario(config)
    scenarios = [main]
    base = Path(baseline) if baseline is not None else baseline_path(config, main)
    if base is not None:
        scenarios.append(load_scenario(base))
        if scenarios[1].scenario == main.scenario:
            raise ConfigError(f"{config}: baseline: {base.name} has the same scenario name {main.scenario!r}")
    seed = main.seed if seed is None else seed
    replicas = main.replicas if replicas is None else replicas
    backend_name, variants = run_variants(scenarios, seed, replicas, backend, workers, quiet, executor,
                                          dask_address)
    return Experiment(main.scenario, seed, replicas, backend_name, variants, time.perf_counter() - t0)
