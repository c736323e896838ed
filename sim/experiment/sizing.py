"""Is capacity enough? `python -m sim size` finds the smallest value of one input that meets
a target with 95% confidence:

    python -m sim size configs/examples/tiny.yaml --target 'sla_attainment>=0.99' \\
        --vary 'deployments[0].nodes'

A value meets `metric>=x` when the lower end of the 95% confidence interval of the
metric's mean is at least x (for `<=`, the upper end is at most x). The search starts
at the config's value, halves or doubles until it brackets the answer, then bisects to
whole numbers (or to --step). Every value runs the same replicas with the same seeds
(common random numbers), so the explored curve is smooth and the bisection stable; the
search assumes more of the input never makes the metric worse.

Varying a site's `critical_it_mw` scales the site: its MW tranches, and the node count of
every deployment at the site (rounded down, at least one), by the same factor, so the
fleet grows with the power available to it.
"""
from __future__ import annotations

import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..config import uncertainty, yamlpath
from ..config.variants import Variant, setup
from ..errors import ConfigError
from ..metrics import METRICS, base_name, unit_of
from .cache import ReplicaCache
from .runner import Runner, scenarios_of
from .search import smallest_meeting
from .stats import summarize

_TARGET = re.compile(r"^\s*([A-Za-z_][\w\[\]\.\-]*)\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


SITE_MW = re.compile(r"^(sites\[[^\]]+\])\.critical_it_mw$")


@dataclass(frozen=True)
class Target:
    metric: str
    op: str
    value: float

    @property
    def text(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"

    @property
    def unit(self) -> str:
        return unit_of(self.metric)

    def met(self, stats: dict) -> bool:
        lo, hi = stats["ci95"]
        if lo is None or hi is None:
            return False
        return {">=": lo >= self.value, ">": lo > self.value, "<=": hi <= self.value, "<": hi < self.value}[self.op]


def parse_target(text: str) -> Target:
    m = _TARGET.match(text)
    if not m:
        raise ConfigError(f"--target: expected METRIC>=NUMBER or METRIC<=NUMBER such as "
                          f"'sla_attainment>=0.99', got {text!r}")
    return Target(m[1], m[2], float(m[3]))


@dataclass
class Probe:
    value: float
    stats: dict        # mean, ci95, unit of the target metric
    met: bool
    fleet: str = ""    # for a site's MW: the nodes it then holds


@dataclass
class Sizing:
    name: str
    vary: str
    target: Target
    seed: int
    replicas: int
    limit: float
    answer: float | None
    probes: list[Probe] = field(default_factory=list)
    wall_s: float = 0.0


def _scale_site(raw: dict, site_path: str, mw: float) -> dict:
    site = yamlpath.get(raw, site_path)
    levels = site["critical_it_mw"]
    final = _final_mw(levels)
    if final is None or final <= 0:
        raise ConfigError(f"--vary: {site_path}.critical_it_mw must be a positive number or tranches to scale")
    factor = mw / final
    raw = yamlpath.assign(raw, f"{site_path}.critical_it_mw",
                          {k: v * factor for k, v in levels.items()} if isinstance(levels, dict) else mw)
    for i, dep in enumerate(raw.get("deployments") or []):
        if isinstance(dep, dict) and dep.get("site") == site["name"]:
            if not isinstance(dep.get("nodes"), int):
                raise ConfigError(f"--vary: deployments[{i}].nodes must be a whole number to scale with "
                                  f"{site_path}.critical_it_mw, got {dep.get('nodes')!r}")
            raw = yamlpath.assign(raw, f"deployments[{i}].nodes", max(1, math.floor(dep["nodes"] * factor)))
    return raw


def _final_mw(levels) -> float | None:
    """A site's MW once every tranche is in: the number, or the largest tranche; None when it is
    neither (an uncertain value, say)."""
    values = list(levels.values()) if isinstance(levels, dict) and "dist" not in levels else [levels]
    if not values or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        return None
    return float(max(values))


def start_value(raw: dict, path: str) -> tuple[float, bool]:
    """The config's value at the path, and whether the schema takes whole numbers there."""
    try:
        value = yamlpath.get(raw, path)
    except yamlpath.PathError as exc:
        raise ConfigError(f"--vary: {exc}") from None
    if SITE_MW.match(path):
        value = _final_mw(value) if _final_mw(value) is not None else value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"--vary: {path} holds {value!r}; vary a number")
    return float(value), uncertainty.takes_whole_numbers(uncertainty.types_at(yamlpath.parse(path)))


def with_value(variant: Variant, path: str, value: float, whole: bool) -> tuple[Variant, str]:
    """The variant with the value set, and for a site's MW the nodes the site then holds."""
    site = SITE_MW.match(path)
    raw = _scale_site(variant.raw, site[1], value) if site else \
        yamlpath.assign(variant.raw, path, int(value) if whole else value)
    fleet = ""
    if site:
        name = yamlpath.get(raw, site[1])["name"]
        nodes = sum(d["nodes"] for d in raw.get("deployments") or [] if d.get("site") == name)
        fleet = f"{nodes} nodes"
    return Variant.from_raw(raw, f"{variant.where} ({path}={value:g})"), fleet


def size(config: str | Path, target: Target, vary: str, *, seed: int | None = None, replicas: int | None = None,
         low: float | None = None, high: float | None = None, step: float | None = None, backend: str = "auto",
         workers: int | None = None, executor: str = "local", dask_address: str | None = None,
         cache_root: str | Path | None = None, quiet: bool = True) -> tuple[Sizing, Path | None]:
    t0 = time.perf_counter()
    if base_name(target.metric) not in METRICS:   # before any simulation, so nothing is written
        raise ConfigError(f"--target: unknown metric {target.metric!r} (expected one of {', '.join(sorted(METRICS))})")
    plan = setup(config, seed, replicas, use_baseline=False)
    main = plan.variants[0]
    start, whole = start_value(main.raw, vary)
    if step is None:
        step = 1.0 if whole else max(abs(start), 1.0) / 100
    low = (1.0 if whole else step) if low is None else low
    high = max(start, 1.0) * 1024 if high is None else high
    if not low <= high:
        raise ConfigError(f"--min {low:g} is above --max {high:g}")
    start = min(max(start, low), high)
    scenarios0, _ = scenarios_of(main, plan.seed, 1)
    name = scenarios0[0].scenario
    folder = Path(cache_root) / f"{name}-sizing" if cache_root is not None else None
    probes: dict[float, Probe] = {}

    with Runner(backend, executor, workers, dask_address, folder, quiet=True) as runner:
        def evaluate(value: float) -> bool:
            if value not in probes:
                variant, fleet = with_value(main, vary, value, whole)
                scenarios, samples = scenarios_of(variant, plan.seed, plan.replicas)
                (keys,) = runner.run([(f"{vary}={value:g}", scenarios)], plan.seed)
                metrics = runner.assemble(scenarios, keys, plan.seed, samples).metrics
                if target.metric not in metrics:
                    known = ", ".join(sorted(m for m in metrics if "[" not in m))
                    raise ConfigError(f"--target: unknown metric {target.metric!r} (expected one of {known})")
                stats = summarize({target.metric: metrics[target.metric]})[target.metric]
                probes[value] = Probe(value, stats, target.met(stats), fleet)
                if not quiet:
                    p = probes[value]
                    print(f"{vary} = {value:g}: {target.metric} {_fmt(stats)} "
                          f"{'meets' if p.met else 'misses'} {target.text}", file=sys.stderr, flush=True)
            return probes[value].met

        try:
            answer = smallest_meeting(evaluate, start, whole, low, high, step)
        except ConfigError:   # bad input found mid-search (an unknown metric, a value that does not fit)
            ReplicaCache(folder).clear()
            raise
    result = Sizing(name, vary, target, plan.seed, plan.replicas, high, answer, list(probes.values()),
                    time.perf_counter() - t0)
    return result, folder


def _fmt(stats: dict) -> str:
    lo, hi = stats["ci95"]
    if stats["mean"] is None:
        return "n/a"
    return f"{stats['mean']:.4g}" + ("" if lo is None else f" [{lo:.4g}, {hi:.4g}]")
