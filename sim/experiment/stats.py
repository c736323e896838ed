"""Metric summaries for summary.json: mean, 95% CI and unit; paired differences.

A 95% interval is Student's t across replicas, intersected with the range the metric's
catalogue row gives (`sim.metrics.interval_bounds`): a fraction's never leaves [0, 1], a
total's never goes below 0, and the coverage is what t gives (the true mean is in the range).
"""
from __future__ import annotations

import math

import numpy as np

from kernels.stats import mean_ci95

from ..metrics import interval_bounds, is_probability, unit_of


def excludes_zero(ci95) -> bool:
    """A difference is significant when its 95% interval lies wholly above or below zero."""
    lo, hi = ci95
    return lo is not None and hi is not None and (lo > 0 or hi < 0)


def _clean(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _stats(samples: np.ndarray, bounds: tuple[float, float]) -> tuple:
    """Mean and CI of the finite samples (a replica with no jobs has no wait), the CI kept
    within `bounds`."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return None, [None, None]
    mean, lo, hi = mean_ci95(finite)
    low, high = bounds
    return _clean(mean), [_clean(max(lo, low)), _clean(min(hi, high))]


def proportion_ci95(successes: np.ndarray, trials: int) -> tuple[np.ndarray, np.ndarray]:
    """95% Wilson score intervals of probabilities estimated as successes / trials across
    replicas (scipy.stats); inside [0, 1] by construction, and honest for few replicas
    (2 of 4 replicas short is 15% to 85%, not 50%)."""
    from scipy.stats import binomtest
    k = np.asarray(successes, dtype=np.int64)
    bounds = [binomtest(int(x), trials).proportion_ci(0.95, method="wilson") for x in k.ravel().tolist()]
    lo = np.array([b.low for b in bounds], dtype=np.float64).reshape(k.shape)
    hi = np.array([b.high for b in bounds], dtype=np.float64).reshape(k.shape)
    return lo, hi


def rank_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation with ties at their average rank (scipy.stats.spearmanr) of
    the replicas where both are finite; nan with fewer than 3 of them or a constant input."""
    from scipy.stats import spearmanr
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3 or np.ptp(x[keep]) == 0 or np.ptp(y[keep]) == 0:
        return float("nan")
    return float(spearmanr(x[keep], y[keep]).statistic)


def summarize(metrics: dict[str, np.ndarray]) -> dict:
    out = {}
    for name in sorted(metrics):
        samples = np.asarray(metrics[name], dtype=np.float64)
        if is_probability(name):
            mean, ci = _probability(samples)
        else:
            mean, ci = _stats(samples, interval_bounds(name))
        out[name] = {"mean": mean, "ci95": ci, "unit": unit_of(name)}
    return out


def _probability(samples: np.ndarray) -> tuple:
    """Share of the replicas where an event happened (values 0 or 1), with Wilson's interval."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return None, [None, None]
    lo, hi = proportion_ci95(np.asarray([finite.sum()]), finite.size)
    return _clean(finite.mean()), [_clean(lo[0]), _clean(hi[0])]


def paired_comparison(variant: dict[str, np.ndarray], baseline: dict[str, np.ndarray]) -> dict:
    """Per-replica differences (variant - baseline) of the metrics both have."""
    out = {}
    for name in sorted(set(variant) & set(baseline)):
        delta, ci = _stats(np.asarray(variant[name], dtype=np.float64) - np.asarray(baseline[name], dtype=np.float64),
                           interval_bounds(name, difference=True))
        out[name] = {"delta": delta, "ci95": ci}
    return out
