"""Metric summaries for summary.json: mean, 95% CI and unit; paired differences."""
from __future__ import annotations

import math

import numpy as np

from kernels.stats import mean_ci95

UNITS = {
    "gpu_utilization": "fraction", "mean_wait_h": "h", "p95_wait_h": "h", "p99_wait_h": "h",
    "jobs_submitted": "jobs", "jobs_completed": "jobs", "jobs_unfinished": "jobs", "jobs_rejected": "jobs",
    "sla_attainment": "fraction", "stranded_gpu_hours": "GPU-h", "reserved_shortfall_gpu_hours": "GPU-h",
    "energy_it_mwh": "MWh", "energy_facility_mwh": "MWh", "energy_cost_usd": "USD", "carbon_t": "t CO2e",
    "revenue_usd": "USD", "hosting_fees_usd": "USD", "ebitda_usd": "USD", "npv_usd": "USD", "min_dscr": "ratio",
    "mean_jct_h": "h", "p95_jct_h": "h", "mean_bounded_slowdown": "ratio", "preemptions": "events",
    "restarts": "events", "badput_gpu_hours": "GPU-h", "goodput_share": "fraction",
    "sla_credits_usd": "USD", "fcf_usd": "USD", "covenant_breach_months": "months", "max_loan_to_collateral": "ratio",
    "trace_rows_skipped": "rows",
}


def excludes_zero(ci95) -> bool:
    """A difference is significant when its 95% interval lies wholly above or below zero."""
    lo, hi = ci95
    return lo is not None and hi is not None and (lo > 0 or hi < 0)


def unit_of(metric: str) -> str:
    return UNITS.get(metric.split("[")[0], "")


def _clean(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _stats(samples: np.ndarray) -> tuple:
    """Mean and CI of the finite samples (a replica with no jobs has no wait)."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return None, [None, None]
    mean, lo, hi = mean_ci95(finite)
    return _clean(mean), [_clean(lo), _clean(hi)]


def summarize(metrics: dict[str, np.ndarray]) -> dict:
    out = {}
    for name in sorted(metrics):
        mean, ci = _stats(np.asarray(metrics[name], dtype=np.float64))
        out[name] = {"mean": mean, "ci95": ci, "unit": unit_of(name)}
    return out


def paired_comparison(variant: dict[str, np.ndarray], baseline: dict[str, np.ndarray]) -> dict:
    """Per-replica differences (variant - baseline) of the metrics both have."""
    out = {}
    for name in sorted(set(variant) & set(baseline)):
        delta, ci = _stats(np.asarray(variant[name], dtype=np.float64) - np.asarray(baseline[name], dtype=np.float64))
        out[name] = {"delta": delta, "ci95": ci}
    return out
