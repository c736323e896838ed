"""Across-replica statistics: means, 95% confidence intervals, percentiles.
Samples run along axis 0 (one row per replica); every other axis is kept."""
from __future__ import annotations

import math

from ._backend import namespace_of

# Two-sided 95% Student-t quantiles t(0.975, df); beyond 30 df interpolate in 1/df.
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
         10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110,
         18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060,
         26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}
_Z975 = 1.959964


def t_quantile_975(df: int) -> float:
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    if df in _T975:
        return _T975[df]
    if df > 120:
        return _Z975 + (_T975[120] - _Z975) * (120 / df)
    lo_df = max(k for k in _T975 if k < df)
    hi_df = min(k for k in _T975 if k > df)
    frac = (1 / df - 1 / hi_df) / (1 / lo_df - 1 / hi_df)
    return _T975[hi_df] + frac * (_T975[lo_df] - _T975[hi_df])


def mean_ci95(samples):
    """(mean, lo, hi) of the mean of per-replica samples along axis 0 (Student t).
    With one replica the interval is undefined: (mean, nan, nan)."""
    xp = namespace_of(samples)
    n = samples.shape[0]
    mean = xp.mean(samples, axis=0)
    if n < 2:
        nan = mean * math.nan
        return mean, nan, nan
    deviation = samples - mean
    sd = xp.sqrt(xp.sum(deviation * deviation, axis=0) / (n - 1))    # as NumPy's std(ddof=1)
    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def percentile(samples, q: float):
    """The q-th percentile (0..100) along axis 0 with linear interpolation, computed
    as NumPy's default method does; nan where there are no samples."""
    xp = namespace_of(samples)
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be in [0, 100], got {q}")
    n = samples.shape[0]
    if n == 0:
        return xp.sum(samples, axis=0) * math.nan
    ordered = xp.sort(samples, axis=0)
    position = (n - 1) * (q / 100)          # NumPy's virtual index, in its order of operations
    below = min(math.floor(position), n - 1)
    above = min(below + 1, n - 1)
    gamma = position - below
    a, b = ordered[below, ...], ordered[above, ...]
    step = b - a
    return a + step * gamma if gamma < 0.5 else b - step * (1 - gamma)
