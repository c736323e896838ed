"""Synthetic job streams, drawn up front on the host from named streams.

Arrivals are a non-homogeneous Poisson process (thinning): the rate is
`arrival_rate_per_h` at the start, grows by `growth_per_year`, and is shaped by
a mean-preserving diurnal cosine and a weekday/weekend factor.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config.schema import Scenario, Workload
from ..config.types import HOURS_PER_YEAR
from ..inputs.traces import load_trace
from ..rng import stream


@dataclass(frozen=True)
class JobStream:
    submit_h: np.ndarray      # sorted
    gpus: np.ndarray          # int64 GPUs touched (1 for a share of one GPU)
    duration_h: np.ndarray
    estimate_h: np.ndarray | None = None   # users' runtime estimates (nan: unknown)
    # for GPU-sharing node types (None: whole GPUs, no CPU or memory asked)
    gpu_milli: np.ndarray | None = None    # int64 thousandths of each GPU: 1000 whole, less to share one
    cpu_milli: np.ndarray | None = None    # int64 thousandths of a core
    memory_mib: np.ndarray | None = None   # int64


def rate_shape(w: Workload, t_h: np.ndarray, start_weekday: int) -> np.ndarray:
    """Arrival rate per hour at times t_h (hours from the scenario start)."""
    hour_of_day = t_h % 24.0
    day = (np.floor(t_h / 24.0).astype(np.int64) + start_weekday) % 7
    diurnal = 1.0 + w.diurnal_amplitude * np.cos(2 * np.pi * (hour_of_day - w.peak_hour) / 24.0)
    # weekend days run at (1 - a); weekdays at (1 + 0.4 a), so the weekly mean is 1
    weekly = np.where(day >= 5, 1.0 - w.weekly_amplitude, 1.0 + 0.4 * w.weekly_amplitude)
    growth = (1.0 + w.growth_per_year) ** (t_h / HOURS_PER_YEAR)
    return w.arrival_rate_per_h * growth * diurnal * weekly


def trace_stream(s: Scenario, w: Workload) -> JobStream:
    """A replayed trace: the same jobs in every replica; jobs outside the horizon are left out."""
    src = w.trace
    trace = load_trace(src.path, src.format, src.skip_bad_rows)
    keep = np.ones(trace.submit_s.size, dtype=bool)
    if src.select is not None:
        keep &= np.isin(trace.tenant, np.asarray(src.select, dtype=object))
    offset_h = s.hours_from_start(src.start or s.start)
    # the origin is the whole trace's first job, not the selection's: selected tenants stay aligned
    first_s = trace.submit_s.min() if trace.submit_s.size else 0.0
    submit = offset_h + (trace.submit_s - first_s) / 3600.0 * src.time_scale
    keep &= (submit >= 0) & (submit < s.horizon_h)
    order = np.argsort(submit[keep], kind="stable")
    pick = lambda column: None if column is None or src.whole_gpus else column[keep][order]
    return JobStream(submit[keep][order], trace.gpus[keep][order].astype(np.int64),
                     (trace.duration_s[keep] / 3600.0)[order], (trace.runtime_estimate_s[keep] / 3600.0)[order],
                     pick(trace.gpu_milli), pick(trace.cpu_milli), pick(trace.memory_mib))


def job_stream(s: Scenario, tenant: str, w: Workload, seed: int, replica: int) -> JobStream:
    if w.trace is not None:
        return trace_stream(s, w)
    t0 = s.hours_from_start(w.start) if w.start else 0.0
    t1 = min(s.hours_from_start(w.end), s.horizon_h) if w.end else s.horizon_h
    t0 = max(t0, 0.0)
    if t1 <= t0:
        empty = np.empty(0)
        return JobStream(empty, empty.astype(np.int64), empty)
    grow_max = max(1.0, (1.0 + w.growth_per_year) ** (t1 / HOURS_PER_YEAR))
    rate_max = w.arrival_rate_per_h * grow_max * (1 + w.diurnal_amplitude) * (1 + 0.4 * w.weekly_amplitude)
    rng = stream(seed, replica, f"arrivals/{tenant}")
    n = rng.poisson(rate_max * (t1 - t0))
    candidates = np.sort(rng.uniform(t0, t1, n))
    keep = rng.uniform(0.0, rate_max, n) < rate_shape(w, candidates, s.start.weekday())
    submit = candidates[keep]
    n = submit.size
    asked = w.gpus.sample(stream(seed, replica, f"gpus/{tenant}"), n)
    duration = w.duration_h.sample(stream(seed, replica, f"durations/{tenant}"), n)
    if not (w.shares_gpus or w.cpu_cores or w.memory_gib):
        return JobStream(submit, asked.astype(np.int64), duration)
    share = asked < 1
    gpus = np.where(share, 1, asked).astype(np.int64)
    milli = np.where(share, np.rint(asked * 1000), 1000).astype(np.int64)

    def amount(dist, name, unit):
        if dist is None:
            return np.zeros(n, np.int64)
        return np.rint(dist.sample(stream(seed, replica, f"{name}/{tenant}"), n) * unit).astype(np.int64)

    return JobStream(submit, gpus, duration, None, milli, amount(w.cpu_cores, "cpu", 1000),
                     amount(w.memory_gib, "memory", 1024))
