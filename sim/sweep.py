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
import yaml

from . import yamlpath
from .config import ConfigError, _Loader
from .experiment import Experiment, Runner, Setup, check_names
from .stats import unit_of

OUTCOMES = ("npv_usd", "gpu_utilization", "mean_wait_h")


def parse_flag(text: str) -> tuple[str, list]:
    """`--sweep KEY=V1,V2,...`: values are read as YAML scalars (numbers, names, durations)."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise ConfigError(f"--sweep: expected KEY=V1,V2,..., got {text!r}")
    try:
        yamlpath.parse(key)
    except yamlpath.PathError as exc:
        raise ConfigError(f"--sweep: {exc}") from None
    try:
        return key, [_scalar(v.strip()) for v in values.split(",")]
    except yaml.YAMLError:
        raise ConfigError(f"--sweep: {key}: cannot read the values {values!r}") from None


def _scalar(text: str):
    """A number if it reads as one (1e6 included, which YAML 1.1 leaves as text), else YAML
    read as config files are (dates stay text for the schema to parse)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return yaml.load(text, Loader=_Loader)


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
        cells = [v.scenarios(plan.seed, plan.replicas) for v in variants]
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


# ---------------------------------------------------------------- effects

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


_LABEL = {"npv_usd": "NPV", "gpu_utilization": "GPU utilization", "mean_wait_h": "mean wait"}


def _axis_scale(metric: str, values) -> tuple[float, str]:
    """Divisor and axis label with the unit, USD shown in k, M or B as the values need."""
    unit = unit_of(metric)
    name = _LABEL.get(metric, metric)
    if unit != "USD":
        return 1.0, f"{name} ({unit})" if unit else name
    top = max([abs(v) for v in values if np.isfinite(v)] or [1.0])
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if top >= div:
            return div, f"{name} (USD {suffix})"
    return 1.0, f"{name} (USD)"


def plot_tornado(sweep: Sweep, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    main = sweep.variants[0]
    metrics = [m for m in OUTCOMES if m in sweep.points[0].summary["variants"][main]["metrics"]]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.8 * len(metrics), 1.6 + 0.6 * len(sweep.inputs)),
                             squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        rows = []
        for name, levels in effects(sweep, metric):
            finite = [(v, m) for v, m in levels if np.isfinite(m)]
            if finite:
                rows.append((name, min(finite, key=lambda t: t[1]), max(finite, key=lambda t: t[1])))
        rows.sort(key=lambda r: r[2][1] - r[1][1])   # widest on top
        means = [p.summary["variants"][main]["metrics"][metric]["mean"] for p in sweep.points]
        means = [np.nan if m is None else m for m in means]
        scale, xlabel = _axis_scale(metric, means)
        centre = np.nanmean(means) / scale if np.isfinite(means).any() else 0.0
        ends = [e for _, lo, hi in rows for e in (lo[1] / scale, hi[1] / scale)] or [centre]
        span = max(ends) - min(ends) or abs(centre) * 0.1 or 1.0
        ax.set_xlim(min(ends) - 0.35 * span, max(ends) + 0.35 * span)
        for y, (name, lo, hi) in enumerate(rows):
            a, b = lo[1] / scale, hi[1] / scale
            if b > a:
                ax.barh(y, b - a, left=a, color="C0", alpha=0.75, height=0.6)
                ax.text(a, y, f"{lo[0]} ", ha="right", va="center", fontsize=8)
                ax.text(b, y, f" {hi[0]}", ha="left", va="center", fontsize=8)
            else:
                ax.plot([a], [y], "|", color="C0", ms=12)
                ax.text(a, y + 0.3, "no effect", ha="center", va="bottom", fontsize=8, color="0.4")
        ax.axvline(centre, color="k", lw=0.8, ls="--")
        ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=8)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.set_xlabel(xlabel)
        ax.set_title(f"{main}: {metric}", fontsize=9)
    fig.suptitle("Effect of each swept input: mean over the other inputs at its lowest and highest outcome "
                 "(labels: the input's value at each end; dashed: mean of all points)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- writing

def write_sweep(sweep: Sweep, out_root: str | Path) -> Path:
    from .results import publish

    def fill(tmp: Path) -> None:
        _write_table(sweep, tmp / "sweep.csv")
        for i, p in enumerate(sweep.points):
            folder = tmp / "points" / f"{i:03d}"
            folder.mkdir(parents=True)
            (folder / "summary.json").write_text(json.dumps({**p.summary, "inputs": p.values}, indent=2) + "\n")
            if p.samples:
                (folder / "samples.json").write_text(json.dumps(p.samples, indent=2) + "\n")
        (tmp / "sweep.json").write_text(json.dumps({
            "scenario": sweep.name, "seed": sweep.seed, "replicas": sweep.replicas, "backend": sweep.backend,
            "inputs": sweep.inputs, "points": [{"folder": f"points/{i:03d}", "inputs": p.values}
                                               for i, p in enumerate(sweep.points)],
            "effects": {m: {name: [{"value": v, "mean": None if not np.isfinite(x) else x} for v, x in levels]
                            for name, levels in effects(sweep, m)} for m in OUTCOMES}}, indent=2) + "\n")
        plot_tornado(sweep, tmp / "tornado.png")
        from .report import sweep_document
        doc = sweep_document(sweep)
        (tmp / "report.md").write_text(doc.markdown())
        (tmp / "report.html").write_text(doc.html(tmp))

    return publish(out_root, sweep.name, fill)


def _write_table(sweep: Sweep, path: Path) -> None:
    """Long format: one row per point, variant (or difference) and metric."""
    import csv
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["point", *sweep.inputs, "variant", "metric", "unit", "mean", "ci95_lo", "ci95_hi"])
        cell = lambda x: "" if x is None else f"{x:.6g}"
        for i, p in enumerate(sweep.points):
            inputs = [p.values[k] for k in sweep.inputs]
            for variant, v in p.summary["variants"].items():
                for metric, m in v["metrics"].items():
                    w.writerow([i, *inputs, variant, metric, m["unit"], cell(m["mean"]), *map(cell, m["ci95"])])
            if "comparison" in p.summary:
                diff = " - ".join(sweep.variants)
                for metric, c in p.summary["comparison"].items():
                    w.writerow([i, *inputs, diff, metric, unit_of(metric), cell(c["delta"]), *map(cell, c["ci95"])])
