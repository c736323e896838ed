"""Power from utilization, per GPU group and hour.

GPU power: P = P_idle + (P_max - P_idle) * f(u), f a named curve; an allocated
GPU at u = 0 and an unallocated online GPU both draw P_idle (idle is not off).
A node adds a base draw and a dynamic part linear in its GPUs' utilization,
both spread over its GPUs here. So the IT power of a group in one hour is

    online * static_w + busy_curve * curve_w + busy_linear * linear_w

with busy_curve = sum of GPUs x f(u) and busy_linear = sum of GPUs x u over
what runs in that hour: linear in the busy sums, so energy totals can be
summed in any order and split among tenants exactly.
"""
from __future__ import annotations

import math

from ._backend import astype, elementwise_kernel, is_cupy, namespace_of, on

POWER_CURVES = ("linear", "sqrt", "square", "cubic")   # f(u) = u, sqrt(u), u^2, u^3


def power_curve(u, curve: str):
    """f(u) for u clipped to [0, 1]."""
    xp = namespace_of(u)
    u = xp.clip(u, 0.0, 1.0)
    if curve == "linear":
        return u
    if curve == "sqrt":
        return xp.sqrt(u)
    if curve == "square":
        return u * u
    if curve == "cubic":
        return u * u * u
    raise ValueError(f"unknown power curve {curve!r}; expected one of {', '.join(POWER_CURVES)}")


def per_gpu_coefficients(gpu_idle_w, gpu_max_w, node_base_w, node_dynamic_w, gpus_per_node):
    """(static_w, curve_w, linear_w) per GPU of each group, from node-type parameters (arrays (G,))."""
    return (gpu_idle_w + node_base_w / gpus_per_node, gpu_max_w - gpu_idle_w, node_dynamic_w / gpus_per_node)


def it_power_w(online_gpus, busy_curve_gpus, busy_linear_gpus, static_w, curve_w, linear_w):
    """IT power (W) per group and hour: online (..., G, H), busy sums (..., G, H), coefficients (G,)."""
    return (online_gpus * static_w[:, None] + busy_curve_gpus * curve_w[:, None]
            + busy_linear_gpus * linear_w[:, None])


def utilization_profile(noise, mean: float, diurnal_amplitude: float, weekly_amplitude: float,
                        peak_hour: float, start_weekday: int, noise_sd: float):
    """Hourly utilization of reserved GPUs, (replicas, hours) like `noise` (standard normal
    draws made on the host): mean x mean-preserving diurnal cosine x weekday/weekend
    factor, plus noise_sd x noise, clipped to [0, 1]. Hour 0 is midnight of a day
    whose weekday (Monday = 0) is start_weekday."""
    xp = namespace_of(noise)
    h = xp.arange(noise.shape[-1], dtype=xp.float64, **on(noise))
    diurnal = 1.0 + diurnal_amplitude * xp.cos(2 * math.pi * ((h % 24.0) - peak_hour) / 24.0)
    day = (astype(xp.floor(h / 24.0), xp.int64) + start_weekday) % 7
    weekend, weekday = xp.full_like(h, 1.0 - weekly_amplitude), xp.full_like(h, 1.0 + 0.4 * weekly_amplitude)
    weekly = xp.where(day >= 5, weekend, weekday)
    return xp.clip(mean * diurnal * weekly + noise_sd * noise, 0.0, 1.0)


# The same profile, curve and sums in one pass on the GPU: no (replicas, hours)
# temporaries for the profile, the curve or the products.
_RESERVED_IN = ("float64 occupancy, float64 noise, float64 mean, float64 diurnal_amplitude, "
                "float64 weekly_amplitude, float64 peak_hour, int64 start_weekday, float64 noise_sd, "
                "int64 curve, int64 n_hours")
_RESERVED_OUT = "float64 alloc, float64 busy_curve, float64 busy_linear"
_RESERVED_BODY = """
const long long h = i % n_hours;
const double diurnal = 1.0 + diurnal_amplitude * cos(2 * 3.141592653589793 * ((double)(h % 24) - peak_hour) / 24.0);
const long long day = (h / 24 + start_weekday) % 7;
const double weekly = day >= 5 ? 1.0 - weekly_amplitude : 1.0 + 0.4 * weekly_amplitude;
const double u = fmin(fmax(mean * diurnal * weekly + noise_sd * noise, 0.0), 1.0);
const double f = curve == 0 ? u : curve == 1 ? sqrt(u) : curve == 2 ? u * u : u * u * u;
alloc += occupancy;
busy_curve += occupancy * f;
busy_linear += occupancy * u;
"""


def reserved_utilization(noise, profile: dict, start_weekday: int):
    """A reservation's hourly utilization to pass to `add_reserved_load` for each group its
    GPUs are in (computed once per reservation), or None on CuPy, whose fused kernel makes it
    in place."""
    return None if is_cupy(noise) else utilization_profile(noise, start_weekday=start_weekday, **profile)


def add_reserved_load(alloc_gpus, busy_curve_gpus, busy_linear_gpus, group: int, occupancy, noise,
                      profile: dict, start_weekday: int, curve: str, u=None) -> None:
    """Add a reservation's GPUs in one group to the hourly sums, in place.

    alloc/busy arrays: (R, G, H); occupancy: reserved GPUs (R, H) in group `group`;
    noise: (R, H) standard normal draws of its utilization profile; profile: the
    keyword arguments of `utilization_profile` other than noise and start_weekday;
    u: `reserved_utilization` of it, when already made (NumPy).
    """
    if is_cupy(alloc_gpus):
        kernel = elementwise_kernel(_RESERVED_IN, _RESERVED_OUT, _RESERVED_BODY, "fleetsim_reserved_load")
        kernel(occupancy, noise, float(profile["mean"]), float(profile["diurnal_amplitude"]),
               float(profile["weekly_amplitude"]), float(profile["peak_hour"]), int(start_weekday),
               float(profile["noise_sd"]), POWER_CURVES.index(curve), noise.shape[-1],
               alloc_gpus[:, group, :], busy_curve_gpus[:, group, :], busy_linear_gpus[:, group, :])
        return
    if u is None:
        u = utilization_profile(noise, start_weekday=start_weekday, **profile)
    alloc_gpus[:, group, :] += occupancy
    busy_curve_gpus[:, group, :] += occupancy * power_curve(u, curve)
    busy_linear_gpus[:, group, :] += occupancy * u
