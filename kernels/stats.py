"""Across-replica statistics: means, 95% confidence intervals, percentiles."""
from __future__ import annotations

import math

from ._backend import namespace_of

# Two-sided 95% Student-t quantiles t(0.975, df); beyond 30 df interpolate in 1/df.
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
         10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110,
         18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060,
         26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}


def t_quantile_975(df: int) -> float:
    if df in _T975:
        return _T975[df]
    if df > 120:
        lo_df, lo, hi = 120, _T975[120], 1.959964
        return hi + (lo - hi) * (lo_df / df)
    keys = sorted(_T975)
    lo_df = max(k for k in keys if k < df)
    hi_df = min(k for k in keys if k > df)
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
    half = t_quantile_975(n - 1) * xp.std(samples, axis=0, ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half


def percentile(values, q: float):
    """The q-th percentile (linear interpolation) of a 1-d array; nan if empty."""
    xp = namespace_of(values)
    if values.shape[0] == 0:
        return math.nan
    return xp.percentile(values, q)
