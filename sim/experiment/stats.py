"""Metric summaries for summary.json: mean, 95% CI and unit; paired differences."""
from __future__ import annotations

import math

import numpy as np

from kernels.stats import mean_ci95

from ..metrics import unit_of


def excludes_zero(ci95) -> bool:
    """A difference is significant when its 95% interval lies wholly above or below zero."""
    lo, hi = ci95
    return lo is not None and hi is not None and (lo > 0 or hi < 0)


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
