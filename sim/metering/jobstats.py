"""Per-replica job metrics: counts, waits, completion time, bounded slowdown,
preemptions, restarts, badput and goodput; waits by priority class; by tenant, where
several tenants run jobs."""
from __future__ import annotations

import numpy as np

from ..config.schema import Scenario
from ..engine.records import JobTable
from ..inputs.traces import load_trace

SLOWDOWN_FLOOR_H = 10 / 60   # bounded slowdown: jobs shorter than 10 min count as 10 min


def censored_wait_h(jobs: dict[str, np.ndarray], horizon_h: float) -> np.ndarray:
    """Wait before first start of every job; jobs never started count their wait so far
    (censored at the horizon)."""
    return np.where(np.isnan(jobs["start_h"]), horizon_h, jobs["start_h"]) - jobs["submit_h"]


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else float("nan")


def _per_job(jobs: dict[str, np.ndarray], mine: np.ndarray, done: np.ndarray, jct: np.ndarray,
             floor: np.ndarray, suffix: str = "") -> dict[str, float]:
    """Completion time, slowdown, preemptions, restarts and goodput of the jobs in `mine`."""
    useful, lost = jobs["attained_gpu_h"][mine].sum(), jobs["badput_gpu_h"][mine].sum()
    finished = mine[done]
    return {
        f"mean_jct_h{suffix}": _mean(jct[finished]),
        f"mean_bounded_slowdown{suffix}": _mean(np.maximum(1.0, jct[finished] / floor[finished])),
        f"preemptions{suffix}": float(jobs["preemptions"][mine].sum()),
        f"restarts{suffix}": float(jobs["restarts"][mine].sum()),
        f"goodput_share{suffix}": float(useful / (useful + lost)) if useful + lost > 0 else float("nan"),
    }


def job_metrics(s: Scenario, jobs: dict[str, np.ndarray]) -> dict[str, float]:
    """Metrics of the jobs submitted after the scenario's `warmup` (all of them without one),
    so a steady-state study does not count the empty start."""
    if s.warmup_h > 0:
        after = jobs["submit_h"] >= s.warmup_h
        jobs = {key: column[after] for key, column in jobs.items()}
    state = jobs["state"]
    done = state == JobTable.COMPLETED
    live = state != JobTable.REJECTED
    jct = (jobs["end_h"] - jobs["submit_h"])[done]
    floor = np.maximum(jobs["duration_h"][done], SLOWDOWN_FLOOR_H)
    wait = censored_wait_h(jobs, s.horizon_h)
    everyone = np.ones(state.size, dtype=bool)
    waits = wait[live]   # jobs still queued count with their wait so far
    out = {
        "jobs_submitted": float(state.size),
        "jobs_completed": float(done.sum()),
        "jobs_unfinished": float(((state == JobTable.RUNNING) | (state == JobTable.QUEUED)).sum()),
        "jobs_rejected": float((~live).sum()),
        "mean_wait_h": _mean(waits),
        "p95_wait_h": float(np.percentile(waits, 95)) if waits.size else float("nan"),
        "p99_wait_h": float(np.percentile(waits, 99)) if waits.size else float("nan"),
        **_per_job(jobs, everyone, done, jct, floor),
        "p95_jct_h": float(np.percentile(jct, 95)) if jct.size else float("nan"),
        "badput_gpu_hours": float(jobs["badput_gpu_h"].sum()),
    }
    traces = [t.workload.trace for t in s.tenants if t.workload is not None and t.workload.trace is not None]
    if traces:
        out["trace_rows_skipped"] = float(sum(load_trace(t.path, t.format, t.skip_bad_rows).rows_skipped
                                              for t in traces))
    tiers = sorted(set(jobs["tier"][live].tolist()))
    if len(tiers) > 1:
        for tier in tiers:
            mine = live & (jobs["tier"] == tier)
            name = s.scheduler.class_name(tier)
            out[f"mean_wait_h[{name}]"] = _mean(wait[mine])
            out[f"p95_wait_h[{name}]"] = float(np.percentile(wait[mine], 95))
    tenants = sorted(set(jobs["tenant"][live].tolist()))
    if len(tenants) > 1:
        for t in tenants:
            name, mine = s.tenants[t].name, jobs["tenant"] == t
            out[f"mean_wait_h[{name}]"] = _mean(wait[live & mine])
            out.update(_per_job(jobs, mine, done, jct, floor, f"[{name}]"))
    return out
