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
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from kernels import get_backend

from . import uncertainty, yamlpath
from .accounting import VariantAccount, account
from .cache import ReplicaCache, config_digest, replica_key
from .config import ConfigError, Scenario, _resolve_includes, scenario_from_dict
from .executors import Executor
from .finance import Statements, statements
from .fleet import InvariantError
from .jobstats import job_metrics
from .model import RunResult, simulate
from .stats import paired_comparison, summarize


@dataclass
class VariantResult:
    name: str
    scenario: Scenario                 # replica 0's (all replicas share its structure)
    runs: list[RunResult]
    account: VariantAccount
    finance: Statements
    metrics: dict[str, np.ndarray]     # metric -> (replicas,)
    samples: dict[str, list] = field(default_factory=dict)   # uncertain input -> draw per replica


@dataclass
class Experiment:
    name: str
    seed: int
    replicas: int
    backend: str
    variants: list[VariantResult]      # the config first, then its baseline if any
    wall_s: float
    cache_folder: Path | None = None   # where finished replicas wait until the results are written

    @functools.cached_property
    def summary(self) -> dict:
        """summary.json's content (computed once: results, report and notebook all read it)."""
        out = {"scenario": self.name, "seed": self.seed, "replicas": self.replicas, "backend": self.backend,
               "variants": {v.name: {"metrics": summarize(v.metrics)} for v in self.variants}}
        if len(self.variants) == 2:
            out["comparison"] = paired_comparison(self.variants[0].metrics, self.variants[1].metrics)
        return out


# ---------------------------------------------------------------- configured variants

@dataclass
class Variant:
    """A variant as configured: its raw mapping (includes resolved) and its uncertain inputs."""
    where: str
    raw: dict
    params: list

    @classmethod
    def from_raw(cls, raw: dict, where: str) -> "Variant":
        params = uncertainty.find(raw)
        for p in params:
            if problem := uncertainty.problem(p):
                raise ConfigError(f"{where}: {problem}")
        return cls(where, raw, params)

    def with_values(self, point: dict, label: str) -> "Variant":
        """This variant with the point's values set where this variant has a place for them."""
        raw = self.raw
        for path, value in point.items():
            if settable(raw, path):
                raw = yamlpath.assign(raw, path, value)
        return Variant.from_raw(raw, f"{self.where} ({label})" if label else self.where)

    def scenarios(self, seed: int, replicas: int) -> tuple[list[Scenario], dict[str, list]]:
        """Each replica's validated scenario (one shared object without uncertain inputs), and the draws."""
        if not self.params:
            return [scenario_from_dict(self.raw, self.where)] * replicas, {}
        out, samples = [], {p.path: [] for p in self.params}
        for k in range(replicas):
            raw, values = uncertainty.sample(self.raw, self.params, seed, k)
            try:
                out.append(scenario_from_dict(raw, self.where))
            except ConfigError as exc:
                drawn = sorted((p for p in values if p in str(exc)), key=len)
                hint = f" (drawn for replica {k}; bound {drawn[-1]} with min and max)" \
                    if drawn else ""
                raise ConfigError(f"{exc}{hint}") from None
            for path, value in values.items():
                samples[path].append(value)
        return out, samples


def settable(raw: dict, path: str) -> bool:
    """Whether a variant has a place for a value at `path`: its parent exists, or is missing
    only where the schema would fill a whole section from defaults (such as `scheduler`)."""
    try:
        missing = yamlpath.missing_mappings(raw, path)
    except yamlpath.PathError:
        return False
    for prefix in missing:
        models = [t for t in uncertainty.types_at(prefix) if isinstance(t, type) and issubclass(t, BaseModel)]
        if not any(all(not f.is_required() for f in m.model_fields.values()) for m in models):
            return False
    return bool(missing) or yamlpath.has_parent(raw, path)


@dataclass
class Setup:
    """A command's plan: the config and its baseline, seed, replicas and any sweep."""
    config: Path
    variants: list[Variant]            # the config, then its baseline if any
    seed: int
    replicas: int
    sweep: dict[str, list]             # YAML path -> values (empty: no sweep)


def _config_int(raw: dict, key: str) -> int:
    value = raw.get(key, Scenario.model_fields[key].default)
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if ok else Scenario.model_fields[key].default  # validation reports the bad value


def _skip_bad_trace_rows(raw: dict) -> dict:
    """`--skip-bad-rows`: every trace workload counts its bad rows instead of failing on them."""
    for tenant in raw.get("tenants") or []:
        workload = tenant.get("workload") if isinstance(tenant, dict) else None
        if isinstance(workload, dict) and isinstance(workload.get("trace"), dict):
            workload["trace"]["skip_bad_rows"] = True
    return raw


def setup(config: str | Path, seed: int | None = None, replicas: int | None = None,
          baseline: str | Path | None = None, sweep: dict[str, list] | None = None,
          use_baseline: bool = True, skip_bad_rows: bool = False) -> Setup:
    """Read the config (and its baseline); check uncertain inputs and the sweep. Raises ConfigError."""
    path = Path(config)
    raw = _resolve_includes(path)
    if skip_bad_rows:
        _skip_bad_trace_rows(raw)
    plan = raw.pop("sweep", None)
    variants = [Variant.from_raw(raw, str(path))]
    base = Path(baseline) if baseline is not None else \
        (path.parent / raw["baseline"]).resolve() if isinstance(raw.get("baseline"), str) else None
    if base is not None and use_baseline:
        base_raw = _resolve_includes(base)
        base_raw.pop("sweep", None)  # the config's sweep applies to both
        if skip_bad_rows:
            _skip_bad_trace_rows(base_raw)
        variants.append(Variant.from_raw(base_raw, str(base)))
    return Setup(path, variants, _config_int(raw, "seed") if seed is None else seed,
                 _config_int(raw, "replicas") if replicas is None else replicas,
                 _check_sweep(path, variants, plan, sweep or {}))


def _check_sweep(path: Path, variants: list[Variant], plan, flags: dict) -> dict[str, list]:
    if plan is None:
        plan = {}
    if not isinstance(plan, dict):
        raise ConfigError(f"{path}: sweep: expected a mapping of YAML path to a list of values")
    plan = {**plan, **flags}
    for key, values in plan.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{path}: sweep: {key}: expected a non-empty list of values")
        try:
            yamlpath.parse(str(key))
        except yamlpath.PathError as exc:
            raise ConfigError(f"{path}: sweep: {exc}") from None
        if not any(settable(v.raw, str(key)) for v in variants):
            raise ConfigError(f"{path}: sweep: {key}: no such place in the config")
    return {str(k): v for k, v in plan.items()}


# ---------------------------------------------------------------- progress

class Progress:
    """Replicas done, rate and time left on a terminal; plain lines otherwise; nothing if quiet."""

    def __init__(self, total: int, quiet: bool, reused: int = 0):
        self.total, self.done, self.reused, self.quiet = total, reused, reused, quiet
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()
        if reused and not quiet:
            print(f"{reused}/{total} replicas reused from the cache of an earlier, unfinished run",
                  file=sys.stderr, flush=True)
        if self.tty and not quiet and reused < total:   # something on screen before the first replica ends
            print(f"\r{reused}/{total} replicas, starting\033[K", end="", file=sys.stderr, flush=True)

    def step(self, label: str) -> None:
        self.done += 1
        if self.quiet:
            return
        fresh = self.done - self.reused
        elapsed = max(time.perf_counter() - self.t0, 1e-9)
        left = elapsed / fresh * (self.total - self.done)
        line = f"{label}: {self.done}/{self.total} replicas, {fresh / elapsed:.2f}/s, ~{left:.0f}s left"
        if self.tty:
            print(f"\r{line}\033[K", end="" if self.done < self.total else "\n", file=sys.stderr, flush=True)
        elif self.done == self.total or fresh % max(1, (self.total - self.reused) // 10) == 0:
            print(line, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- running and assembling

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
        """Cache keys of each replica; a replica does not depend on how many there are, so
        `replicas` is left out (a rerun with more replicas reuses the ones done)."""
        digests: dict[int, str] = {}
        for s in scenarios:
            if id(s) not in digests:
                digests[id(s)] = config_digest(s.model_dump(mode="json", exclude={"replicas"}))
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
        for (label, scenarios), ks in zip(groups, keys):
            for k, (s, key) in enumerate(zip(scenarios, ks)):
                self._uses[key] = self._uses.get(key, 0) + 1
                if key not in todo and key not in self._memory and not self.cache.has(key):
                    todo[key] = (label, (s, seed, k))
        self._progress = Progress(sum(map(len, keys)), self.quiet, reused=sum(map(len, keys)) - len(todo))
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
        parts = []
        for idx in groups.values():
            s = scenarios[idx[0]]
            acct = account(s, [runs[k] for k in idx], self.xp)
            parts.append((idx, acct, statements(s, acct, [runs[k] for k in idx])))   # bills follow delays
        acct, fin = _merge(parts, len(runs))
        per_job = [job_metrics(s, run.jobs) for s, run in zip(scenarios, runs)]
        names = sorted(set().union(*per_job)) if per_job else []
        jobs = {name: np.array([m.get(name, np.nan) for m in per_job]) for name in names}
        metrics = {**acct.metrics, **fin.metrics, **jobs}
        _check_energy_floor(scenarios[0], metrics)
        return VariantResult(scenarios[0].scenario, scenarios[0], runs, acct, fin, metrics, samples or {})

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


def _stack(parts, get, n: int) -> dict[str, np.ndarray]:
    """Per-replica arrays of every part, put back in replica order."""
    out = {}
    for name in get(parts[0][1]):
        first = get(parts[0][1])[name]
        whole = np.full((n, *first.shape[1:]), np.nan, dtype=np.result_type(first.dtype, np.float64))
        for idx, obj in parts:
            if name in get(obj):
                whole[idx] = get(obj)[name]
        out[name] = whole
    return out


def _merge(parts, n: int) -> tuple[VariantAccount, Statements]:
    """One account and statements from groups of replicas accounted separately (uncertain
    inputs): per-replica arrays in replica order; replica means weighted by group size."""
    if len(parts) == 1:
        return parts[0][1], parts[0][2]
    weights = [len(idx) / n for idx, _, _ in parts]
    fields = {}
    for f in dataclasses.fields(VariantAccount):
        values = [getattr(acct, f.name) for _, acct, _ in parts]
        if f.name in ("daily", "offered_load"):   # replica means
            keys = dict.fromkeys(k for v in values for k in v)
            fields[f.name] = {k: sum(w * v.get(k, 0.0) for w, v in zip(weights, values)) for k in keys}
        elif isinstance(values[0], dict):
            fields[f.name] = _stack([(idx, acct) for idx, acct, _ in parts], lambda a: getattr(a, f.name), n)
        else:
            fields[f.name] = values[0]
    fin = [(idx, f) for idx, _, f in parts]
    statements_ = Statements(parts[0][2].companies, _stack(fin, lambda s: s.lines, n),
                             _stack(fin, lambda s: s.metrics, n))
    return VariantAccount(**fields), statements_


def _check_energy_floor(s: Scenario, metrics) -> None:
    floor = metrics.pop("idle_floor_it_mwh")
    if (metrics["energy_it_mwh"] < floor * (1 - 1e-9) - 1e-9).any():
        raise InvariantError(f"{s.scenario}: IT energy below the idle floor of the online fleet")


# ---------------------------------------------------------------- entry points

def run_variants(scenarios: list[Scenario], seed: int, replicas: int, backend: str = "auto",
                 workers: int | None = None, quiet: bool = True, executor: str = "local",
                 dask_address: str | None = None) -> tuple[str, list[VariantResult]]:
    """Validated scenarios, all replicas alike (no uncertain inputs); nothing is cached."""
    with Runner(backend, executor, workers, dask_address, None, quiet) as runner:
        return runner.backend, runner.results([([s] * replicas, {}) for s in scenarios], seed)


def check_names(variants: list[list[Scenario]], setup_: Setup) -> None:
    if len(variants) == 2 and variants[1][0].scenario == variants[0][0].scenario:
        raise ConfigError(f"{setup_.config}: baseline: {Path(setup_.variants[1].where).name} has the same "
                          f"scenario name {variants[0][0].scenario!r}")


def run_experiment(config: str | Path, seed: int | None = None, replicas: int | None = None,
                   backend: str = "auto", workers: int | None = None, quiet: bool = True,
                   baseline: str | Path | None = None, executor: str = "local",
                   dask_address: str | None = None, cache_root: str | Path | None = None) -> Experiment:
    """Simulate a config and its baseline (a config with a sweep: see sim.sweep)."""
    plan = setup(config, seed, replicas, baseline)
    if plan.sweep:
        raise ConfigError(f"{config}: sweep: this config sweeps inputs; run it with sim.sweep.run_sweep")
    return run_setup(plan, backend, workers, quiet, executor, dask_address, cache_root)


def run_setup(plan: Setup, backend: str = "auto", workers: int | None = None, quiet: bool = True,
              executor: str = "local", dask_address: str | None = None,
              cache_root: str | Path | None = None) -> Experiment:
    """With `cache_root`, finished replicas are kept in cache_root/<scenario>/ as they complete,
    and running the same plan again after an interruption reuses them."""
    t0 = time.perf_counter()
    built = [v.scenarios(plan.seed, plan.replicas) for v in plan.variants]
    check_names([s for s, _ in built], plan)
    name = built[0][0][0].scenario
    folder = Path(cache_root) / name if cache_root is not None else None
    with Runner(backend, executor, workers, dask_address, folder, quiet) as runner:
        variants = runner.results(built, plan.seed)
    return Experiment(name, plan.seed, plan.replicas, runner.backend, variants, time.perf_counter() - t0, folder)
