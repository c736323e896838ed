"""Adaptive replicas: run replicas in batches until every precision target is met or the
replica cap is reached (`--precision npv_usd=0.05 --max-replicas 64`).

A target bounds the half-width of a metric's 95% interval: the paired difference's when the
run has a baseline (the question asked is the difference), else the variant's mean. A plain
number is relative (half-width / |value|: 0.05 is +-5%); a number with the metric's unit is
absolute (`npv_usd=250e6USD`, `mean_wait_h=0.01h`). Replica k draws from the same streams
whatever the batch (seed, k, name), so a batch adds replicas without changing the earlier ones
and a rerun gives the same bytes; with the replica cache, earlier replicas are not simulated
again. The next batch is sized from the half-width's 1/sqrt(replicas) law, between 2 more
replicas and 4 times as many.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

from ..config.variants import Setup
from ..errors import ConfigError
from ..metrics import metric, unit_of

DEFAULT_MAX_REPLICAS = 100
_PRECISION = re.compile(r"^\s*([A-Za-z_][\w\[\]]*)\s*=\s*([0-9.eE+-]+)\s*([A-Za-z][\w ]*)?\s*$")


@dataclass(frozen=True)
class PrecisionTarget:
    metric: str
    half_width: float
    relative: bool

    def text(self) -> str:
        return f"{self.metric}: +-{self.half_width:.3g} relative" if self.relative else \
            f"{self.metric}: +-{self.half_width:.6g} {unit_of(self.metric)}"


def parse_precision(text: str) -> PrecisionTarget:
    """METRIC=RELATIVE or METRIC=ABSOLUTE UNIT; ConfigError (one line) otherwise."""
    m = _PRECISION.match(text)
    if not m:
        raise ConfigError(f"--precision: expected METRIC=RELATIVE (0.05 is +-5%) or METRIC=NUMBER UNIT such as "
                          f"'npv_usd=0.05' or 'npv_usd=250e6USD', got {text!r}")
    name, number, unit = m[1], m[2], m[3]
    if metric(name) is None:
        raise ConfigError(f"--precision: unknown metric {name!r} (see sim/metrics.py)")
    try:
        value = float(number)
    except ValueError:
        raise ConfigError(f"--precision: {text!r}: {number!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"--precision: {text!r}: the half-width must be a positive number")
    if unit is not None and unit.strip().lower() != unit_of(name).lower():
        raise ConfigError(f"--precision: {text!r}: {name} is in {unit_of(name)!r}, not {unit.strip()!r}")
    return PrecisionTarget(name, value, relative=unit is None)


def achieved(exp, target: PrecisionTarget) -> float | None:
    """The target's measure now: the interval's half-width (relative: over |value|); None
    where there is no interval yet (one replica, or the metric not computed)."""
    summary = exp.summary
    row = summary.get("comparison", {}).get(target.metric) if len(exp.variants) == 2 else None
    if row is None:
        row = summary["variants"][exp.variants[0].name]["metrics"].get(target.metric)
    if row is None:
        return None
    middle = row.get("delta", row.get("mean"))
    lo, hi = row["ci95"]
    if middle is None or lo is None or hi is None:
        return None
    half = (hi - lo) / 2
    if not target.relative:
        return half
    return 0.0 if half == 0 else (half / abs(middle) if middle != 0 else math.inf)


def next_replicas(replicas: int, shortfall: float, cap: int) -> int:
    """Replicas for the next batch: as many as the 1/sqrt(R) law asks for (shortfall: the
    achieved measure over its target), at least 2 more, at most 4 times as many, within the cap."""
    wanted = math.ceil(replicas * shortfall ** 2) if math.isfinite(shortfall) else 4 * replicas
    return min(cap, max(replicas + 2, min(4 * replicas, wanted)))


def run_to_precision(plan: Setup, targets: list[PrecisionTarget], max_replicas: int, run, finish):
    """run(plan) -> Experiment for a batch; finish(exp, plan) adds what only the last batch
    needs (breakevens). Returns the last batch's experiment with `precision` set."""
    if plan.sweep:
        raise ConfigError("--precision: not with a sweep (each sweep point would stop at its own replica count)")
    if max_replicas < plan.replicas:
        raise ConfigError(f"--max-replicas: {max_replicas} is below the {plan.replicas} replicas to start with")
    replicas = plan.replicas
    while True:
        batch = dataclasses.replace(plan, replicas=replicas)
        exp = run(batch)
        measures = [achieved(exp, t) for t in targets]
        met = [m is not None and m <= t.half_width for m, t in zip(measures, targets)]
        if all(met) or replicas >= max_replicas:
            break
        shortfall = max((m / t.half_width if m is not None else math.inf)
                        for m, t, ok in zip(measures, targets, met) if not ok)
        replicas = next_replicas(replicas, shortfall, max_replicas)
    finish(exp, batch)
    exp.precision = {
        "replicas": replicas, "max_replicas": max_replicas,
        "stopped": "every target met" if all(met) else "max_replicas reached before every target was met",
        "targets": [{"metric": t.metric, "half_width": t.half_width, "relative": t.relative, "achieved": m,
                     "met": ok} for t, m, ok in zip(targets, measures, met)]}
    exp.forget_summary()
    return exp


def describe(precision: dict) -> str:
    """One line: the replicas run, why they stopped, and each target against what it reached."""
    parts = []
    for t in precision["targets"]:
        unit = "" if t["relative"] else f" {unit_of(t['metric'])}"
        reached = "no interval" if t["achieved"] is None else f"+-{t['achieved']:.3g}{unit}"
        parts.append(f"{t['metric']} {reached} (target +-{t['half_width']:.3g}{unit}, "
                     f"{'met' if t['met'] else 'not met'})")
    return f"replicas: {precision['replicas']}, {precision['stopped']}: {'; '.join(parts)}"
