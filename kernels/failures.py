"""Node failures in bulk: nodes down per hour from MTBF and repair time, for all
replicas and groups at once (a Monte Carlo alternative to simulating each
failure as an engine event, for capacity questions that need no scheduling).

Each node alternates an up time (mean MTBF) and a repair time (mean repair_h),
starting up when its group comes online. The random draws are made on the host
from named streams and passed in, scaled to unit mean: exponential draws for
exponential times, ones for fixed repair times. Down intervals then go through
the occupancy kernel, so a fraction of an hour counts as that fraction.
"""
from __future__ import annotations

import math

from ._backend import astype, cumsum, namespace_of, on
from .occupancy import hourly_occupancy


def cycles_needed(n_hours: float, mtbf_h: float) -> int:
    """Up/repair cycles to draw per node so that, short of a 1e-12 chance, every node
    sees the horizon: each cycle lasts at least its up time, so the cycles started by
    then are at most 1 + a Poisson count of mean n_hours / mtbf_h."""
    mean = n_hours / mtbf_h
    return int(math.ceil(mean + 8.0 * math.sqrt(mean) + 50.0))


def nodes_down(up_draws, repair_draws, nodes, mtbf_h, repair_h, start_h, n_hours: int):
    """Node-hours down in each hour, i.e. the mean number of nodes down: (R, G, n_hours).

    up_draws, repair_draws: (R, G, N, K) unit-mean draws for up to N nodes per group and
    K cycles per node (`cycles_needed`); nodes: (G,) int64 nodes in each group (node
    slots beyond it are ignored); mtbf_h, repair_h, start_h: (G,) float64.
    """
    xp = namespace_of(up_draws, repair_draws, nodes)
    R, G, N, K = up_draws.shape
    col = (slice(None), None, None)
    up_h = up_draws * mtbf_h[col]
    down_h = repair_draws * repair_h[col]
    back_h = start_h[col] + cumsum(up_h + down_h, axis=3)    # end of each repair
    fail_h = back_h - down_h
    slot = xp.arange(N, dtype=xp.int64, **on(up_draws))
    counted = astype(slot[None, :] < nodes[:, None], xp.float64)                       # (G, N)
    weight = xp.broadcast_to(counted[None, :, :, None], (R, G, N, K))
    cell = xp.broadcast_to(xp.reshape(xp.arange(R * G, dtype=xp.int64, **on(up_draws)), (R, G, 1, 1)),
                           (R, G, N, K))
    flat = lambda a: xp.reshape(a, (-1,))
    down = hourly_occupancy(flat(fail_h), flat(back_h), flat(weight), flat(cell), R * G, n_hours)
    return xp.reshape(down, (R, G, n_hours))


def gpus_available(online_gpus, nodes_down_per_hour, gpus_per_node):
    """Online GPUs less those on nodes that are down: (R, G, H) from online (G, H),
    nodes down (R, G, H) and GPUs per node (G,). The GPU-hours lost are
    sum(online) - sum(available)."""
    return online_gpus - nodes_down_per_hour * astype(gpus_per_node, online_gpus.dtype)[:, None]
