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


PATH_PERCENTILES = (5, 50, 95)


def percentile_ci95(samples: np.ndarray, q: float) -> tuple[float, float, float]:
    """The q-th percentile (NumPy's linear method) of iid samples and its distribution-free 95%
    interval between two order statistics: ranks from the binomial count of samples below the
    true percentile (scipy.stats.binom), so the interval holds for any continuous distribution."""
    from scipy.stats import binom
    x = np.sort(samples[np.isfinite(samples)])
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan
    low = int(binom.ppf(0.025, n, q / 100))          # 1-based ranks of the bounds
    high = int(binom.ppf(0.975, n, q / 100)) + 1
    return float(np.percentile(x, q)), float(x[min(max(low, 1), n) - 1]), float(x[min(max(high, 1), n) - 1])


def _cluster_mean(samples: np.ndarray, replica: np.ndarray, bounds) -> tuple:
    """The mean over paths with its interval across replicas: paths of one replica share its
    operations, so the t interval is over the replicas' means of their paths (a cluster-robust
    interval), which holds the engine's spread as well as the market's."""
    clusters = np.array([np.nanmean(samples[replica == r]) if np.isfinite(samples[replica == r]).any() else np.nan
                         for r in np.unique(replica)])
    finite = samples[np.isfinite(samples)]
    _, ci = _stats(clusters, bounds)
    return (_clean(finite.mean()) if finite.size else None), ci


def _distribution(samples: np.ndarray, replica: np.ndarray, name: str) -> dict:
    """A metric over market paths: a probability's share with Wilson's interval, or the mean
    (cluster-robust, `_cluster_mean`) and the 5th, 50th and 95th percentiles with their
    order-statistic intervals (the market's sampling error given the replicas)."""
    if is_probability(name):
        mean, ci = _probability(samples)
        return {"mean": mean, "ci95": ci, "unit": unit_of(name)}
    mean, ci = _cluster_mean(samples, replica, interval_bounds(name))
    return {"mean": mean, "ci95": ci, "unit": unit_of(name), "percentiles": _percentiles(samples)}


def _percentiles(samples: np.ndarray) -> dict:
    out = {}
    for q in PATH_PERCENTILES:
        value, lo, hi = percentile_ci95(samples, q)
        out[f"p{q}"] = {"value": _clean(value), "ci95": [_clean(lo), _clean(hi)]}
    return out


def summarize_paths(metrics: dict[str, np.ndarray], replica: np.ndarray) -> dict:
    """Each path metric's distribution (`_distribution`); replica: each path's engine replica."""
    return {name: _distribution(np.asarray(metrics[name], dtype=np.float64), replica, name) for name in sorted(metrics)}


def paired_paths(variant: dict[str, np.ndarray], baseline: dict[str, np.ndarray], replica: np.ndarray) -> dict:
    """Per-path differences (variant - baseline, same market and replica): their mean with its
    interval, their percentiles, and the share of paths where the variant is ahead (Wilson)."""
    out = {}
    for name in sorted(set(variant) & set(baseline)):
        if is_probability(name):
            continue
        delta = np.asarray(variant[name], dtype=np.float64) - np.asarray(baseline[name], dtype=np.float64)
        finite = delta[np.isfinite(delta)]
        mean, ci = _cluster_mean(delta, replica, interval_bounds(name, difference=True))
        ahead = {"mean": None, "ci95": [None, None]}
        if finite.size:
            lo, hi = proportion_ci95(np.asarray([(finite > 0).sum()]), finite.size)
            ahead = {"mean": float((finite > 0).mean()), "ci95": [_clean(lo[0]), _clean(hi[0])]}
        out[name] = {"delta": mean, "ci95": ci, "percentiles": _percentiles(delta), "share_ahead": ahead}
    return out
