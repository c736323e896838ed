"""What flips the answer: for each `breakevens:` entry of a config with a baseline, the value of
one money input at which the paired difference of a metric (merged minus standalone NPV, by
default) changes sign.

Every probe keeps the replicas' plans, engine and meter records (the input is under `merger`
or `companies`, and not one the plan reads) and recomputes only the statements, so the same random
demand is priced at each value (common random numbers); the bisection is the sizing search's
(`sim.experiment.search`), to 1/1000 of the range. The difference is taken to move one
way across the range; `value` is None when it keeps its sign over all of it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import yamlpath
from ..config.variants import Variant
from ..money.offer import merger_metrics
from .groups import books
from .search import smallest_meeting


@dataclass(frozen=True)
class Breakeven:
    path: str
    metric: str
    low: float
    high: float
    configured: float               # the config's value
    difference: float               # the mean paired difference at it
    value: float | None             # where the difference changes sign; None: not within [low, high]
    rises: bool                     # the difference grows with the input


def _difference(merged, base, variant: Variant, metric: str, seed: int, contracts: dict) -> float:
    """`merged`, `base`: the variants' results (sim.experiment.runner.VariantResult)."""
    changed, _ = variant.scenarios(seed, len(merged.runs))
    # the replicas' plans stand (config checks refuse paths the plan reads): swap the money in
    swapped: dict[tuple[int, int], object] = {}
    scenarios = []
    for p, c in zip(merged.scenarios, changed):
        if (id(p), id(c)) not in swapped:
            swapped[id(p), id(c)] = p.model_copy(update={"companies": c.companies, "merger": c.merger})
        scenarios.append(swapped[id(p), id(c)])
    s = scenarios[0]
    fin = books(scenarios, merged.groups, merged.runs, contracts)
    values = dict(fin.metrics)
    if s.merger is not None:
        values.update(merger_metrics(s, fin, base.scenario, base.finance, [(r.seed, r.replica) for r in merged.runs]))
    paired = values[metric] - base.metrics[metric] if metric in base.metrics else values[metric]
    return float(np.nanmean(paired))


def breakevens(merged, base, raw: dict, where: str, seed: int) -> list[Breakeven]:
    """Every `breakevens:` entry of the merged variant (`raw`: its config as written)."""
    contracts: dict = {}   # the contract lines, the same at every probe
    return [_breakeven(spec, merged, base, raw, where, seed, contracts) for spec in merged.scenario.breakevens]


def _breakeven(spec, merged, base, raw: dict, where: str, seed: int, contracts: dict) -> Breakeven:
    configured = float(yamlpath.get(merged.scenario.model_dump(mode="json"), spec.path))   # defaults included
    probes: dict[float, float] = {}

    def difference(value: float) -> float:
        if value not in probes:
            variant = Variant.from_raw(yamlpath.assign(raw, spec.path, value), f"{where} ({spec.path}={value:g})")
            probes[value] = _difference(merged, base, variant, spec.metric, seed, contracts)
        return probes[value]

    at_low, at_high = difference(spec.low), difference(spec.high)
    rises = at_high > at_low
    value = None
    if (at_low > 0) != (at_high > 0):
        start = min(max(configured, spec.low), spec.high)
        value = smallest_meeting(lambda v: (difference(v) > 0) == rises, start, False, spec.low, spec.high,
                                 (spec.high - spec.low) / 1000)
    return Breakeven(spec.path, spec.metric, spec.low, spec.high, configured, difference(configured), value, rises)
