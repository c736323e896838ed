"""Intervals -> hourly occupancy, exactly: each hour gets the integral of the
step function sum_i w_i * 1[start_i <= t < end_i] over that hour.

Every interval edge is a step of +w (start) or -w (end). A step at time t in
hour i adds w to every later hour (a cumulative sum) and w * (i + 1 - t) to
hour i itself. Splitting an interval at any point leaves the result unchanged.
"""
from __future__ import annotations

import math

from ._backend import astype, concat, cumsum, namespace_of, on, scatter_add


def hourly_occupancy(start_h, end_h, weight, cell, n_cells: int, n_hours: int):
    """Weight-hours in each hour for each cell: (n_cells, n_hours).

    `cell` is an int64 index per interval (e.g. replica * n_groups + group);
    intervals are clipped to [0, n_hours). `weight` may be (K, intervals): then
    the result is (K, n_cells, n_hours), one per row, sharing the index work.
    """
    xp = namespace_of(start_h, end_h, weight, cell)
    t = concat([xp.clip(start_h, 0.0, float(n_hours)), xp.clip(end_h, 0.0, float(n_hours))])
    c = astype(concat([cell, cell]), xp.int64)
    # An edge at the horizon (t = n_hours) lands in hour n_hours - 1 with a within-hour
    # fraction of 0, and its step in the extra column n_hours that is cut off below:
    # it changes nothing, and no shape depends on the data.
    i = xp.clip(astype(xp.floor(t), xp.int64), 0, n_hours - 1)
    within_fraction = astype(i + 1, xp.float64) - t
    after_index = c * (n_hours + 1) + i + 1
    within_index = c * n_hours + i
    rows = [weight] if weight.ndim == 1 else [weight[k, ...] for k in range(weight.shape[0])]
    out = xp.empty((len(rows), n_cells, n_hours), dtype=xp.float64, **on(t))
    for k, w in enumerate(rows):
        w = astype(concat([w, -w]), xp.float64)
        after = scatter_add(after_index, w, n_cells * (n_hours + 1))
        within = scatter_add(within_index, w * within_fraction, n_cells * n_hours)
        out[k, ...] = cumsum(xp.reshape(after, (n_cells, n_hours + 1)), axis=1)[:, :n_hours]
        out[k, ...] += xp.reshape(within, (n_cells, n_hours))
    return out[0, ...] if weight.ndim == 1 else out


def sum_by_bin(values, bins, n_bins: int):
    """Sum the last axis of `values` into `n_bins` bins (bins: int64 per position, e.g.
    day or month of each hour). Returns shape values.shape[:-1] + (n_bins,)."""
    xp = namespace_of(values, bins)
    lead = tuple(values.shape[:-1])
    rows = math.prod(lead)
    row = xp.arange(rows, dtype=xp.int64, **on(values))
    index = xp.reshape(row[:, None] * n_bins + bins[None, :], (-1,))
    out = scatter_add(index, astype(xp.reshape(values, (-1,)), xp.float64), rows * n_bins)
    return xp.reshape(out, lead + (n_bins,))
