"""Intervals -> hourly occupancy, exactly: each hour gets the integral of the
step function sum_i w_i * 1[start_i <= t < end_i] over that hour.

Every interval edge is a step of +w (start) or -w (end). A step at time t in
hour i adds w to every later hour (a cumulative sum) and w * (i + 1 - t) to
hour i itself. Splitting an interval at any point leaves the result unchanged.
"""
from __future__ import annotations

from ._backend import namespace_of


def hourly_occupancy(start_h, end_h, weight, cell, n_cells: int, n_hours: int):
    """Array (n_cells, n_hours) of weight-hours in each hour for each cell.

    `cell` is an int64 index per interval (e.g. replica * n_groups + group);
    intervals are clipped to [0, n_hours).
    """
    xp = namespace_of(start_h, end_h, weight)
    s = xp.clip(start_h, 0.0, float(n_hours))
    e = xp.clip(end_h, 0.0, float(n_hours))
    t = xp.concatenate([s, e])
    w = xp.concatenate([weight, -weight]).astype(xp.float64)
    c = xp.concatenate([cell, cell]).astype(xp.int64)
    inside = t < n_hours
    t, w, c = t[inside], w[inside], c[inside]
    i = xp.floor(t).astype(xp.int64)
    after = xp.bincount(c * (n_hours + 1) + i + 1, weights=w, minlength=n_cells * (n_hours + 1))
    within = xp.bincount(c * n_hours + i, weights=w * ((i + 1) - t), minlength=n_cells * n_hours)
    after = xp.cumsum(after.reshape(n_cells, n_hours + 1), axis=1)[:, :n_hours]
    # bincount of nothing is int64: keep the result float64 whatever the input
    return (after + within.reshape(n_cells, n_hours)).astype(xp.float64)


def sum_by_bin(values, bins, n_bins: int):
    """Sum the last axis of `values` into `n_bins` bins (bins: int64 per position, e.g.
    day or month of each hour). Returns shape values.shape[:-1] + (n_bins,)."""
    xp = namespace_of(values)
    lead = values.shape[:-1]
    flat = values.reshape(-1, values.shape[-1])
    rows = flat.shape[0]
    idx = (xp.arange(rows, dtype=xp.int64)[:, None] * n_bins + bins[None, :]).reshape(-1)
    out = xp.bincount(idx, weights=flat.reshape(-1), minlength=rows * n_bins)
    return out.reshape(lead + (n_bins,))
