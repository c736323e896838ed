"""Facility energy, cost and carbon, summed per replica, group and bin of hours.

Facility power = IT power (kernels/power.py) x PUE; cost and carbon are
facility energy x the hour's price and grid intensity. An hourly array holds
W averaged over the hour, so W -> Wh is a factor of 1, and MWh = Wh / 1e6.
PUE is constant per group, or hourly (`seasonal_pue` from outdoor temperature).
"""
from __future__ import annotations

from ._backend import concat, is_cupy, launch, namespace_of, on, to_device

QUANTITIES = ("it_mwh", "facility_mwh", "cost_usd", "carbon_kg")


def seasonal_pue(temperature_c, pue_min, pue_per_c: float, free_cooling_below_c: float):
    """Hourly PUE from outdoor temperature: pue_min while free cooling suffices, rising
    by pue_per_c for each degree C above free_cooling_below_c (chillers take over)."""
    xp = namespace_of(temperature_c)
    return pue_min + pue_per_c * xp.clip(temperature_c - free_cooling_below_c, 0.0, None)


def energy_by_bin(online_gpus, busy_curve_gpus, busy_linear_gpus, static_w, curve_w, linear_w,
                  pue, price_usd_per_mwh, carbon_kg_per_mwh, bin_edges_h):
    """Sums of IT energy (MWh), facility energy (MWh), cost (USD) and carbon (kg) over
    each bin of hours [bin_edges_h[b], bin_edges_h[b + 1]): an array (4, R, G, bins).

    online_gpus: (G, H), or (R, G, H) when it differs by replica; busy_*: (R, G, H);
    static_w, curve_w, linear_w: (G,) per GPU (kernels/power.py); pue, price,
    carbon: (G, 1) or (G, H); bin_edges_h: host ints from 0 up to H (e.g. months).
    One pass over the hourly arrays: the GPU runs one fused kernel, NumPy reads
    each (group, bin) block once into a matrix product (below).
    """
    xp = namespace_of(busy_curve_gpus, online_gpus)
    R, G, H = busy_curve_gpus.shape
    n_bins = len(bin_edges_h) - 1
    if R * G * n_bins == 0:
        return xp.zeros((4, R, G, n_bins), dtype=xp.float64, **on(busy_curve_gpus))
    if is_cupy(busy_curve_gpus):
        return _energy_by_bin_cuda(online_gpus, busy_curve_gpus, busy_linear_gpus, static_w, curve_w,
                                   linear_w, pue, price_usd_per_mwh, carbon_kg_per_mwh, bin_edges_h)
    # Energy is linear in the hourly arrays: each quantity is a weighted sum of them, with
    # hourly weights 1, PUE, PUE x price and PUE x carbon. A (group, bin) block of R x L
    # hours times its (L, 4) weights gives all four sums with no temporaries, and the
    # replica-independent online part is summed once. Weights are built one group at a
    # time, small enough to be reused memory rather than freshly mapped pages.
    ones = xp.ones((H,), dtype=xp.float64, **on(busy_curve_gpus))
    per_replica_online = online_gpus.ndim == 3
    edges = [int(e) for e in bin_edges_h]
    curve_sums, linear_sums, online_sums = [], [], []
    for g in range(G):
        pue_h = ones * pue[g, ...]
        weights = xp.stack([ones, pue_h, pue_h * price_usd_per_mwh[g, ...], pue_h * carbon_kg_per_mwh[g, ...]],
                           axis=1) / 1e6                                   # (H, 4)
        for a, b in zip(edges[:-1], edges[1:]):
            w = weights[a:b, :]
            curve_sums.append((busy_curve_gpus[:, g, a:b] @ w).T)           # (4, R)
            linear_sums.append((busy_linear_gpus[:, g, a:b] @ w).T)
            online_sums.append((online_gpus[:, g, a:b] @ w).T if per_replica_online else online_gpus[g, a:b] @ w)
    shape = (4, R, G, n_bins)
    online_shape = shape if per_replica_online else (4, 1, G, n_bins)
    return (xp.reshape(xp.stack(curve_sums, axis=-1), shape) * curve_w[:, None]
            + xp.reshape(xp.stack(linear_sums, axis=-1), shape) * linear_w[:, None]
            + xp.reshape(xp.stack(online_sums, axis=-1), online_shape) * static_w[:, None])


def tenant_energy_by_bin(online_gpus, alloc_gpus, busy_curve_gpus, busy_linear_gpus, static_w, curve_w,
                         linear_w, pue, price_usd_per_mwh, carbon_kg_per_mwh, bin_edges_h):
    """Each tenant's share of `energy_by_bin`: (4, R, T + 1, G, bins), the last row being
    the online GPUs no tenant holds. A tenant's share is the static draw of the GPUs it
    holds plus the dynamic draw of its own work, so the rows sum to the group total.

    online_gpus: (G, H); alloc, busy_*: (R, T, G, H) per tenant.
    """
    xp = namespace_of(alloc_gpus, online_gpus)
    R, T, G, H = alloc_gpus.shape
    per_tenant = (R * T, G, H)
    tenants = energy_by_bin(xp.reshape(alloc_gpus, per_tenant), xp.reshape(busy_curve_gpus, per_tenant),
                            xp.reshape(busy_linear_gpus, per_tenant), static_w, curve_w, linear_w, pue,
                            price_usd_per_mwh, carbon_kg_per_mwh, bin_edges_h)
    unallocated = online_gpus - xp.sum(alloc_gpus, axis=1)                # (R, G, H)
    nobody = energy_by_bin(unallocated, xp.zeros_like(unallocated), xp.zeros_like(unallocated), static_w,
                           curve_w, linear_w, pue, price_usd_per_mwh, carbon_kg_per_mwh, bin_edges_h)
    n_bins = len(bin_edges_h) - 1
    return concat([xp.reshape(tenants, (4, R, T, G, n_bins)), xp.reshape(nobody, (4, R, 1, G, n_bins))], axis=2)


# One thread block per (group, bin, replica); replica varies fastest, so blocks
# that read the same group's hourly series run together and find them in L2.
# Threads stride over the bin's hours (coalesced reads), then the block adds up
# its four sums in shared memory.
_THREADS = 256
_ENERGY_CUDA = r"""
extern "C" __global__ void fleetsim_energy_by_bin(
    const double* online, const double* busy_curve, const double* busy_linear,
    const double* static_w, const double* curve_w, const double* linear_w,
    const double* pue, const double* price, const double* carbon, const long long* edges,
    double* out, const long long R, const long long G, const long long H, const long long n_bins,
    const long long online_replica_stride)
{
    __shared__ double acc[4][256];
    const long long r = blockIdx.x % R;
    const long long bin = (blockIdx.x / R) % n_bins;
    const long long g = blockIdx.x / R / n_bins;
    const double* on = online + r * online_replica_stride + g * H;
    const double* bc = busy_curve + (r * G + g) * H;
    const double* bl = busy_linear + (r * G + g) * H;
    const double* series_pue = pue + g * H;
    const double* series_price = price + g * H;
    const double* series_carbon = carbon + g * H;
    double it_wh = 0.0, facility_wh = 0.0, cost = 0.0, carbon_g = 0.0;
    for (long long h = edges[bin] + threadIdx.x; h < edges[bin + 1]; h += blockDim.x) {
        const double it = on[h] * static_w[g] + bc[h] * curve_w[g] + bl[h] * linear_w[g];
        const double facility = it * series_pue[h];
        it_wh += it;
        facility_wh += facility;
        cost += facility * series_price[h];
        carbon_g += facility * series_carbon[h];
    }
    const int t = threadIdx.x;
    acc[0][t] = it_wh; acc[1][t] = facility_wh; acc[2][t] = cost; acc[3][t] = carbon_g;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
        if (t < stride) {
            for (int q = 0; q < 4; ++q) acc[q][t] += acc[q][t + stride];
        }
        __syncthreads();
    }
    if (t == 0) {
        const long long cell = (r * G + g) * n_bins + bin, plane = R * G * n_bins;
        for (int q = 0; q < 4; ++q) out[q * plane + cell] = acc[q][0] / 1e6;
    }
}
"""


def _energy_by_bin_cuda(online_gpus, busy_curve_gpus, busy_linear_gpus, static_w, curve_w, linear_w,
                        pue, price, carbon, bin_edges_h):
    xp = namespace_of(busy_curve_gpus)
    R, G, H = busy_curve_gpus.shape
    n_bins = len(bin_edges_h) - 1
    dense = lambda a: xp.ascontiguousarray(xp.broadcast_to(xp.asarray(a, dtype=xp.float64), (G, H)))
    contiguous = lambda a: xp.ascontiguousarray(xp.asarray(a, dtype=xp.float64))
    online = contiguous(online_gpus)
    out = xp.empty((4, R, G, n_bins), dtype=xp.float64)
    edges = to_device([int(e) for e in bin_edges_h], busy_curve_gpus).astype(xp.int64)
    launch(_ENERGY_CUDA, "fleetsim_energy_by_bin", R * G * n_bins, _THREADS,
           online, contiguous(busy_curve_gpus), contiguous(busy_linear_gpus), contiguous(static_w),
           contiguous(curve_w), contiguous(linear_w), dense(pue), dense(price), dense(carbon), edges, out,
           R, G, H, n_bins, G * H if online.ndim == 3 else 0)
    return out
