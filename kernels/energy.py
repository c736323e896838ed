"""Power, energy, cost and carbon on an hourly grid.

GPU power: P = P_idle + (P_max - P_idle) * f(u), f from a named curve; an
allocated GPU at u = 0 and an unallocated online GPU both draw P_idle (idle is
not off). Node power adds a base draw per online node and a dynamic part
linear in the node's mean utilization. Facility power = IT power * PUE.
An hourly bin holds W averaged over the hour, so W -> Wh is a factor of 1.
"""
from __future__ import annotations

from ._backend import namespace_of

POWER_CURVES = ("linear", "sqrt", "square", "cubic")


def power_curve(u, curve: str):
    """f(u) for u in [0, 1]."""
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
    raise ValueError(f"unknown power curve {curve!r}")


def utilization_profile(n_hours: int, mean: float, diurnal_amplitude: float, weekly_amplitude: float,
                        peak_hour: float, start_weekday: int, noise_sd: float, noise, xp):
    """Hourly utilization (replicas, n_hours) of reserved GPUs: mean x mean-preserving
    diurnal cosine x weekday/weekend factor, plus noise_sd x `noise` (standard normal
    draws made on the host), clipped to [0, 1]."""
    h = xp.arange(n_hours, dtype=xp.float64)
    diurnal = 1.0 + diurnal_amplitude * xp.cos(2 * xp.pi * ((h % 24.0) - peak_hour) / 24.0)
    day = (xp.floor(h / 24.0).astype(xp.int64) + start_weekday) % 7
    weekly = xp.where(day >= 5, 1.0 - weekly_amplitude, 1.0 + 0.4 * weekly_amplitude)
    return xp.clip(mean * diurnal * weekly + noise_sd * noise, 0.0, 1.0)


def it_power_w(online_gpus, busy_curve_gpus, busy_linear_gpus, gpu_idle_w, gpu_max_w,
               node_base_w_per_gpu, node_dynamic_w_per_gpu):
    """IT power per group and hour.

    online_gpus: (G, H); busy_*: (R, G, H) sums of GPUs x f(u) and GPUs x u;
    parameters: (G,) per group (a deployment).
    """
    col = (slice(None), None)
    return (online_gpus * (gpu_idle_w + node_base_w_per_gpu)[col]
            + busy_curve_gpus * (gpu_max_w - gpu_idle_w)[col]
            + busy_linear_gpus * node_dynamic_w_per_gpu[col])


def facility_energy(it_power_site_w, pue, price_usd_per_mwh, carbon_kg_per_mwh):
    """Per site and hour: facility energy (MWh), cost (USD) and carbon (kg).
    it_power_site_w: (R, S, H); pue: (S, 1) or (S, H); price and carbon: (S, H)."""
    facility_mwh = it_power_site_w * pue / 1e6
    return facility_mwh, facility_mwh * price_usd_per_mwh, facility_mwh * carbon_kg_per_mwh
