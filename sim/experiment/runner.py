"""Variants x replicas: set up from YAML, run on an executor through the replica cache,
then assemble per-variant results.

Replica k of every variant (and of every sweep point or sizing candidate) draws from
the same named streams (seed, k, name), so differences are paired (common random
numbers). Each (variant, replica) is simulated on its own, so results are the same
whatever executor and number of workers ran them; the kernels then batch all replicas
of a variant that share one config (all of them, unless inputs are uncertain).
"""
from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kernels import get_backend

from ..config.schema import Scenario
from ..config.variants import Setup, Variant, setup
from ..engine.model import engine_inputs, simulate
from ..engine.policies import policy_problem
from ..engine.records import RunResult
from ..errors import ConfigError, InvariantError
from ..metering.accounting import VariantAccount, account
from ..metering.jobstats import job_metrics
from ..money.finance import Statements
from ..money.offer import merger_metrics
from ..money.paths import Paths, deal_paths, path_metrics, run_paths
from ..plan import planned
from ..plan.signings import demand_metrics
from .breakeven import breakevens
from .groups import books, merge_accounts
from .cache import ReplicaCache, config_digest, replica_key
from .executors import Executor
from .progress import Progress
from .stats import paired_comparison, paired_paths, summarize, summarize_paths


@dataclass
class VariantResult:
    name: str
    scenario: Scenario                 # replica 0's (all replicas share its structure)
    runs: list[RunResult]
    account: VariantAccount
    finance: Statements
    metrics: dict[str, np.ndarray]     # metric -> (replicas,)
    samples: dict[str, list] = field(default_factory=dict)   # uncertain input -> draw per replica
    groups: list = field(default_factory=list)   # (replica indices, their account): replicas sharing a scenario
    scenarios: list = field(default_factory=list)   # each replica's planned scenario
    paths: Paths | None = None         # the money over market paths (`paths:`), sim.money.paths
    path_metrics: dict[str, np.ndarray] = field(default_factory=dict)   # metric -> (paths,)


@dataclass
class Experiment:
    name: str
    seed: int
    replicas: int
    backend: str
    variants: list[VariantResult]      # the config first, then its baseline if any
    wall_s: float
    cache_folder: Path | None = None   # where finished replicas wait until the results are written
    breakevens: list = field(default_factory=list)   # sim.experiment.breakeven.Breakeven, the config's
    precision: dict | None = None      # adaptive replicas: targets, whether met (sim.experiment.precision)

    @functools.cached_property
    def summary(self) -> dict:
        """summary.json's content (computed once: results, report and notebook all read it)."""
        out = {"scenario": self.name, "seed": self.seed, "replicas": self.replicas, "backend": self.backend,
               "variants": {v.name: {"metrics": summarize(v.metrics)} for v in self.variants}}
        if len(self.variants) == 2:
            out["comparison"] = paired_comparison(self.variants[0].metrics, self.variants[1].metrics)
        if self.breakevens:
            out["breakevens"] = [dataclasses.asdict(b) for b in self.breakevens]
        if self.precision:
            out["precision"] = self.precision
        with_paths = [v for v in self.variants if v.paths is not None]
        if with_paths:
            out["paths"] = {"count": len(with_paths[0].paths.replica), "replicas": self.replicas,
                            "given": "percentile intervals: the market's sampling error given the engine replicas' "
                                     "operations; mean intervals: across replicas (sim/money/paths.py)",
                            "variants": {v.name: summarize_paths(v.path_metrics, v.paths.replica) for v in with_paths}}
            if len(with_paths) == 2:
                out["paths"]["comparison"] = paired_paths(with_paths[0].path_metrics, with_paths[1].path_metrics,
                                                            with_paths[0].paths.replica)
        return out


    def forget_summary(self) -> None:
        """After breakevens or precision are added: the next read of `summary` has them."""
        self.__dict__.pop("summary", None)


class Runner:
    """Runs replicas on an executor through the replica cache (none: results stay in memory),
    then assembles each variant's results with the kernels."""

    def __init__(self, backend: str = "auto", executor: str = "local", workers: int | None = None,
                 dask_address: str | None = None, cache_folder: Path | None = None, quiet: bool = True,
                 keep_in_memory: bool = True):
        self.backend, self.xp = get_backend(backend)
        self.keep_in_memory = keep_in_memory or cache_folder is None
        self.executor = Executor(executor, workers, dask_address)
        self.cache = ReplicaCache(cache_folder)
        self.cache.sweep_stale()
        self.quiet = quiet
        self._memory: dict[str, RunResult] = {}   # fresh results until assembled (not read back from disk)
        self._uses: dict[str, int] = {}           # assemblies still to come, per key

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.executor.close()

    def keys(self, scenarios: list[Scenario], seed: int) -> list[str]:
        """Cache keys of each replica: a digest of the engine's inputs, seed and replica. A
        replica does not depend on how many there are (a rerun with more replicas reuses the
        ones done), and variants, sweep points or sizing candidates whose engine inputs are
        the same share one key: they are simulated once and their records reused."""
        digests: dict[int, str] = {}
        for s in scenarios:
            if id(s) not in digests:
                digests[id(s)] = config_digest(engine_inputs(s))
        return [replica_key(digests[id(s)], seed, k) for k, s in enumerate(scenarios)]

    def run(self, groups: list[tuple[str, list[Scenario]]], seed: int) -> list[list[str]]:
        """Simulate every replica of every group that is not done yet; each group's replica keys."""
        keys, todo = self._plan(groups, seed)
        for _ in self._execute(todo):
            pass
        return keys

    def _plan(self, groups, seed: int) -> tuple[list[list[str]], dict[str, tuple[str, tuple]]]:
        """Each group's replica keys, and the replicas still to simulate: key -> (label, task)."""
        keys = [self.keys(scenarios, seed) for _, scenarios in groups]
        todo: dict[str, tuple[str, tuple]] = {}
        owner: dict[str, str] = {}   # replicas that groups with the same engine inputs share count once
        totals: dict[str, int] = {}
        reused: dict[str, int] = {}
        for (label, scenarios), ks in zip(groups, keys):
            totals.setdefault(label, 0)
            for k, (s, key) in enumerate(zip(scenarios, ks)):
                self._uses[key] = self._uses.get(key, 0) + 1
                if key in owner:
                    continue
                owner[key] = label
                totals[label] += 1
                if key not in self._memory and not self.cache.has(key):
                    todo[key] = (label, (s, seed, k))
                else:
                    reused[label] = reused.get(label, 0) + 1
        self._progress = Progress({label: n for label, n in totals.items() if n}, self.quiet, reused)
        return keys, todo

    def _execute(self, todo: dict):
        """Run the tasks, store each result as it arrives, and yield its key."""
        items = list(todo.items())
        for i, run in self.executor.run([task for _, (_, task) in items], self.cache.folder,
                                        [key for key, _ in items]):
            key, (label, _) = items[i]
            if run is not None:   # None: a local worker saved it to the cache already
                self._store(key, run)
            self._progress.step(label)
            yield key

    def _store(self, key: str, run: RunResult) -> None:
        self.cache.save(key, run)   # saved as it completes: an interrupted run resumes from here
        if self.keep_in_memory:
            self._memory[key] = run

    def _take(self, key: str, s: Scenario, seed: int, replica: int) -> RunResult:
        self._uses[key] = self._uses.get(key, 1) - 1
        run = (self._memory.get(key) if self._uses[key] > 0 else self._memory.pop(key, None)) \
            or self.cache.load(key)
        return run if run is not None else simulate(s, seed, replica)  # an unreadable entry: run it again

    def assemble(self, scenarios: list[Scenario], keys: list[str], seed: int,
                 samples: dict | None = None) -> VariantResult:
        runs = [self._take(key, s, seed, k) for k, (s, key) in enumerate(zip(scenarios, keys))]
        groups: dict[int, list[int]] = {}
        for k, s in enumerate(scenarios):   # replicas sharing a config go through the kernels together
            groups.setdefault(id(s), []).append(k)
        accounts = [(idx, account(scenarios[idx[0]], [runs[k] for k in idx], self.xp)) for idx in groups.values()]
        acct = merge_accounts(accounts, len(runs))
        fin = books(scenarios, accounts, runs)
        # each replica's job metrics and the demand its plan lost
        per_replica = [{**job_metrics(s, run.jobs), **demand_metrics(s)} for s, run in zip(scenarios, runs)]
        names = sorted(set().union(*per_replica)) if per_replica else []
        jobs = {name: np.array([m.get(name, np.nan) for m in per_replica]) for name in names}
        metrics = {**acct.metrics, **fin.metrics, **jobs}
        _check_energy_floor(scenarios[0], metrics)
        return VariantResult(scenarios[0].scenario, scenarios[0], runs, acct, fin, metrics, samples or {},
                             accounts, scenarios)

    def results(self, groups: list[tuple[list[Scenario], dict]], seed: int) -> list[VariantResult]:
        done = dict(self.results_as_ready(groups, seed))
        return [done[i] for i in range(len(groups))]

    def results_as_ready(self, groups: list[tuple[list[Scenario], dict]], seed: int, labels: list[str] | None = None):
        """(index, VariantResult) of each group as soon as all its replicas are done: the kernels
        account one group while the workers simulate the next, so the cores stay busy."""
        keys, todo = self._plan([(labels[i] if labels else s[0].scenario, s) for i, (s, _) in enumerate(groups)],
                                seed)
        waiting = [set(ks) & set(todo) for ks in keys]
        left = list(range(len(groups)))

        def ready():
            for i in [i for i in left if not waiting[i]]:
                left.remove(i)
                scenarios, samples = groups[i]
                yield i, self.assemble(scenarios, keys[i], seed, samples)

        for key in self._execute(todo):
            for w in waiting:
                w.discard(key)
            yield from ready()
        yield from ready()


def scenarios_of(variant: Variant, seed: int, replicas: int) -> tuple[list[Scenario], dict[str, list]]:
    """A variant's scenario per replica, checked at the engine's door: what config cannot know
    without importing the engine (a policy name, which users may register) fails here, before
    anything runs."""
    scenarios, samples = variant.scenarios(seed, replicas)
    for s in {id(s): s for s in scenarios}.values():
        if problem := policy_problem(s.scheduler.policy):
            raise ConfigError(f"{variant.where}: {problem}")
    return planned(scenarios, seed), samples


def with_paths(variants: list[VariantResult], seed: int, xp) -> None:
    """Each variant's money over market paths, where its config asks for them; a merger's deal
    per path too (paths are paired across variants as replicas are)."""
    for v in variants:
        if v.scenario.paths is not None:
            v.paths = run_paths(v.scenarios, v.groups, v.finance, seed, xp)
            v.path_metrics = path_metrics(v.paths)
    if len(variants) == 2 and variants[0].scenario.merger is not None and variants[0].paths and variants[1].paths:
        merged, base = variants
        merged.path_metrics.update(deal_paths(merged.scenario, merged.paths, base.scenario, base.paths))


def _check_energy_floor(s: Scenario, metrics) -> None:
    floor = metrics.pop("idle_floor_it_mwh")
    if (metrics["energy_it_mwh"] < floor * (1 - 1e-9) - 1e-9).any():
        raise InvariantError(f"{s.scenario}: IT energy below the idle floor of the online fleet")


def run_variants(scenarios: list[Scenario], seed: int, replicas: int, backend: str = "auto",
                 workers: int | None = None, quiet: bool = True, executor: str = "local",
                 dask_address: str | None = None) -> tuple[str, list[VariantResult]]:
    """Validated scenarios, all replicas alike (no uncertain inputs, planned per replica);
    nothing is cached."""
    with Runner(backend, executor, workers, dask_address, None, quiet) as runner:
        return runner.backend, runner.results([(planned([s] * replicas, seed), {}) for s in scenarios], seed)


def check_names(variants: list[list[Scenario]], setup_: Setup) -> None:
    if len(variants) == 2 and variants[1][0].scenario == variants[0][0].scenario:
        raise ConfigError(f"{setup_.config}: baseline: {Path(setup_.variants[1].where).name} has the same "
                          f"scenario name {variants[0][0].scenario!r}")


def run_experiment(config: str | Path, seed: int | None = None, replicas: int | None = None,
                   backend: str = "auto", workers: int | None = None, quiet: bool = True,
                   baseline: str | Path | None = None, executor: str = "local",
                   dask_address: str | None = None, cache_root: str | Path | None = None) -> Experiment:
    """Simulate a config and its baseline (a config with a sweep: see sim.experiment.sweep)."""
    plan = setup(config, seed, replicas, baseline)
    if plan.sweep:
        raise ConfigError(f"{config}: sweep: this config sweeps inputs; run it with sim.experiment.sweep.run_sweep")
    return run_setup(plan, backend, workers, quiet, executor, dask_address, cache_root)


def run_setup(plan: Setup, backend: str = "auto", workers: int | None = None, quiet: bool = True,
              executor: str = "local", dask_address: str | None = None,
              cache_root: str | Path | None = None, with_breakevens: bool = True) -> Experiment:
    """With `cache_root`, finished replicas are kept in cache_root/<scenario>/ as they complete,
    and running the same plan again after an interruption reuses them. `with_breakevens=False`
    leaves them out (`add_breakevens` adds them later)."""
    t0 = time.perf_counter()
    built = [scenarios_of(v, plan.seed, plan.replicas) for v in plan.variants]
    check_names([s for s, _ in built], plan)
    name = built[0][0][0].scenario
    folder = Path(cache_root) / name if cache_root is not None else None
    with Runner(backend, executor, workers, dask_address, folder, quiet) as runner:
        variants = runner.results(built, plan.seed)
    if len(variants) == 2 and variants[0].scenario.merger is not None:   # the buyer's view, paired by replica
        merged, base = variants
        merged.metrics.update(merger_metrics(merged.scenario, merged.finance, base.scenario, base.finance,
                                             [(run.seed, run.replica) for run in merged.runs]))
    with_paths(variants, plan.seed, runner.xp)
    exp = Experiment(name, plan.seed, plan.replicas, runner.backend, variants, time.perf_counter() - t0, folder)
    if with_breakevens:
        add_breakevens(exp, plan)
    return exp


def add_breakevens(exp: Experiment, plan: Setup) -> None:
    """The config's breakevens, found on the experiment's replicas."""
    variants = exp.variants
    if len(variants) == 2 and variants[0].scenario.breakevens:
        exp.breakevens = breakevens(variants[0], variants[1], plan.variants[0].raw, plan.variants[0].where,
                                    plan.seed)
        exp.forget_summary()
