"""Sweeps: the cartesian product of listed input values, each point a whole experiment
(the config and its baseline, every replica), written as OUT/<scenario>/ with a table
of every point and a tornado chart of each input's effect on NPV, utilization and wait.

    sweep:                                   # in the config, or --sweep KEY=V1,V2,...
      sites[0].pue: [1.2, 1.3, 1.4]
      scheduler.policy: [fifo, priority]

A value is set in every variant that has a place for it (a merger-only input changes
only the merged variant). Replica k of every point uses the same random streams, so
the points differ only by their inputs (common random numbers). An input's effect is
its main effect: the metric averaged over the points at each of its values.
"""
from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config.variants import Setup
from ..metrics import shown_in
from .runner import Experiment, Runner, check_names, scenarios_of

OUTCOMES = shown_in("sensitivity")


def points(sweep: dict[str, list]) -> list[dict]:
    keys = list(sweep)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(sweep[k] for k in keys))]


def label(point: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items())


@dataclass
class SweepPoint:
    values: dict                         # input -> value
    summary: dict                        # as summary.json
    samples: dict                        # variant -> uncertain input -> draws


@dataclass
class Sweep:
    name: str
    seed: int
    replicas: int
    backend: str
    inputs: list[str]
    variants: list[str]
    points: list[SweepPoint]
    wall_s: float
    cache_folder: Path | None = None


def run_sweep(plan: Setup, backend: str = "auto", workers: int | None = None, quiet: bool = True,
              executor: str = "local", dask_address: str | None = None,
              cache_root: str | Path | None = None) -> Sweep:
    """Every point's replicas go to the executor together; points are then assembled one by
    one and only their summaries kept, so memory does not grow with the number of points."""
    t0 = time.perf_counter()
    grid = points(plan.sweep)
    built = []
    for i, point in enumerate(grid):
        variants = [v.with_values(point, f"sweep point {label(point)}") for v in plan.variants]
        cells = [scenarios_of(v, plan.seed, plan.replicas) for v in variants]
        check_names([s for s, _ in cells], plan)
        built.append(cells)
    name = built[0][0][0][0].scenario
    folder = Path(cache_root) / name if cache_root is not None else None
    n = len(built[0])
    groups = [cell for cells in built for cell in cells]
    labels = [f"point {i // n + 1}/{len(grid)} {s[0].scenario}" for i, (s, _) in enumerate(groups)]
    out: list[SweepPoint | None] = [None] * len(grid)
    partial: dict[int, dict] = {}
    with Runner(backend, executor, workers, dask_address, folder, quiet, keep_in_memory=False) as runner:
        for i, variant in runner.results_as_ready(groups, plan.seed, labels):
            point = partial.setdefault(i // n, {})
            point[i % n] = variant
            if len(point) == n:   # summarize the point and let its runs go
                variants = [point[k] for k in range(n)]
                exp = Experiment(name, plan.seed, plan.replicas, runner.backend, variants, 0.0)
                out[i // n] = SweepPoint(grid[i // n], exp.summary,
                                         {v.name: v.samples for v in variants if v.samples})
                del partial[i // n]
    names = list(out[0].summary["variants"])
    return Sweep(name, plan.seed, plan.replicas, runner.backend, list(plan.sweep), names, out,
                 time.perf_counter() - t0, folder)


def _key(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def effects(sweep: Sweep, metric: str, variant: str | None = None) -> list[tuple[str, list[tuple[object, float]]]]:
    """Each input's main effect on a metric of a variant (default: the config's): the mean over
    the points at each of its values, in the order listed."""
    variant = variant or sweep.variants[0]
    out = []
    for name in sweep.inputs:
        levels: dict[str, tuple[object, list[float]]] = {}
        for p in sweep.points:
            m = p.summary["variants"][variant]["metrics"].get(metric)
            mean = np.nan if not m or m["mean"] is None else m["mean"]
            levels.setdefault(_key(p.values[name]), (p.values[name], []))[1].append(mean)
        out.append((name, [(value, float(np.nanmean(v)) if np.isfinite(v).any() else np.nan)
                           for value, v in levels.values()]))
    return out
