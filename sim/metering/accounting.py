"""From engine records to hourly arrays, per-replica metrics and monthly totals.

All replicas of a variant go through the kernels as one batch (cells are
replica x deployment), on whichever backend was chosen; results come back to
the host in one transfer, at the end. NumPy here only prepares host inputs
(config, engine records, random draws) and reads the results.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np

from kernels import to_host
from kernels.energy import energy_by_bin, seasonal_pue
from kernels.occupancy import hourly_occupancy, sum_by_bin
from kernels.power import (
    add_reserved_load,
    it_power_w,
    per_gpu_coefficients,
    power_curve,
    reserved_utilization,
)

from ..config.schema import Scenario, SeasonalPue, UtilizationProfile
from ..config.types import reservation_levels
from ..engine.records import JobTable, RunResult
from ..inputs.series import scenario_hours_of_year, typical_year
from ..rng import stream
from .jobstats import censored_wait_h


@dataclass
class VariantAccount:
    metrics: dict[str, np.ndarray]        # name -> (replicas,)
    daily: dict[str, np.ndarray]          # name -> (sites, days), replica mean
    monthly: dict[str, np.ndarray]        # name -> (replicas, groups, months): sites or tenants
    month_starts: list[dt.date]
    offered_load: dict[str, float]        # node type -> demand / capacity GPU-hours (replica mean)
    # name -> (replicas, deployments, months), for the books of replicas that share one scenario
    # (replicas with other plans have other deployments: a merged account has none)
    by_deployment: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def month_index(start: dt.date, n_hours: int) -> tuple[np.ndarray, list[dt.date]]:
    """Calendar-month number of each hour from the start, and each month's first day."""
    days = -(-n_hours // 24)
    index, firsts = [], []
    for d in range(days):
        day = start + dt.timedelta(days=d)
        key = dt.date(day.year, day.month, 1)
        if not firsts or firsts[-1] != key:
            firsts.append(key)
        index.append(len(firsts) - 1)
    return np.repeat(np.asarray(index, dtype=np.int64), 24)[:n_hours], firsts


def hourly_site_inputs(s: Scenario, n_hours: int) -> tuple[np.ndarray, np.ndarray]:
    """Energy price (USD/MWh) and carbon intensity (kg/MWh) per site and hour."""
    hours = np.arange(n_hours, dtype=np.float64)
    hour_of_year = scenario_hours_of_year(s.start, n_hours)
    weekday = (np.floor(hours / 24).astype(np.int64) + s.start.weekday()) % 7
    price = np.empty((len(s.sites), n_hours))
    carbon = np.empty((len(s.sites), n_hours))
    for i, site in enumerate(s.sites):
        p = site.energy_price
        if p.flat_usd_per_mwh is not None:
            price[i] = p.flat_usd_per_mwh
        elif p.time_of_use is not None:
            tou = p.time_of_use
            hod = hours % 24
            peak = (hod >= tou.peak_start_hour) & (hod < tou.peak_end_hour)
            if tou.weekdays_only:
                peak &= weekday < 5
            price[i] = np.where(peak, tou.peak_usd_per_mwh, tou.offpeak_usd_per_mwh)
        else:
            price[i] = typical_year(p.series.path, p.series.column, p.series.timestamp_column,
                                    timezone=p.series.timezone)[hour_of_year]
        c = site.carbon
        if c.flat_kg_per_mwh is not None:
            carbon[i] = c.flat_kg_per_mwh
        else:
            carbon[i] = typical_year(c.series.path, c.series.column, c.series.timestamp_column,
                                     timezone=c.series.timezone)[hour_of_year]
    return price, carbon


def hourly_pue(s: Scenario, n_hours: int) -> np.ndarray:
    """PUE per site: (sites, 1) when every site's is constant, else (sites, hours)."""
    if not any(isinstance(site.pue, SeasonalPue) for site in s.sites):
        return np.array([[site.pue] for site in s.sites], dtype=np.float64)
    hour_of_year = scenario_hours_of_year(s.start, n_hours)
    out = np.empty((len(s.sites), n_hours))
    for i, site in enumerate(s.sites):
        p = site.pue
        if isinstance(p, SeasonalPue):
            t = p.temperature_series
            temperature = typical_year(t.path, t.column, t.timestamp_column, allow_negative=True,
                                       timezone=t.timezone)[hour_of_year]
            out[i] = seasonal_pue(temperature, p.min, p.per_c_above, p.free_cooling_below_c)
        else:
            out[i] = p
    return out


def reservation_target_intervals(s: Scenario):
    """(start_h, end_h, gpus, tenant) of every contracted reservation level, within the horizon."""
    rows = []
    for t_idx, tenant in enumerate(s.tenants):
        if tenant.reservation is not None:
            for a, b, gpus in reservation_levels(s, tenant.reservation):
                a, b = max(a, 0.0), min(b, s.horizon_h)
                if b > a and gpus > 0:
                    rows.append((a, b, float(gpus), t_idx))
    return rows


def contracted_gpus_hourly(s: Scenario) -> np.ndarray:
    """(tenants, hours): the GPUs each tenant's reservation contracts for in each hour; the one
    source of contracted GPU-hours for billing and for the capacity report. Levels start and end
    on whole hours here (a level from 2.5 h counts from hour 3, as `hours >= a` does)."""
    T, H = max(len(s.tenants), 1), s.n_hours
    steps = np.zeros((T, H + 1))
    for a, b, gpus, t in reservation_target_intervals(s):   # +gpus from ceil(a), -gpus from ceil(b)
        steps[t, min(int(np.ceil(a)), H)] += gpus
        steps[t, min(int(np.ceil(b)), H)] -= gpus
    return np.cumsum(steps, axis=1)[:, :H]


def _sla(s: Scenario, jobs, contracted_gpu_h: float, shortfall_gpu_h: float) -> float:
    """GPU-hour weighted SLA attainment: reserved GPU-hours delivered plus GPU-hours of jobs
    that started within their tenant's max_wait_h, over everything with an SLA. Queued jobs
    still inside their target are not yet decided and are left out."""
    targets = np.array([t.workload.max_wait_h if t.workload and t.workload.max_wait_h else np.nan
                        for t in s.tenants] or [np.nan])
    target = targets[jobs["tenant"]] if jobs["tenant"].size else np.empty(0)
    live = (jobs["state"] != JobTable.REJECTED) & ~np.isnan(target)
    wait = censored_wait_h(jobs, s.horizon_h)
    queued = jobs["state"] == JobTable.QUEUED
    decided = live & ~(queued & (wait <= target))
    work = jobs["gpu_share"] * jobs["duration_h"]
    met = (work * (decided & (wait <= target))).sum()
    total = (work * decided).sum()
    units = contracted_gpu_h + total
    if units == 0:
        return float("nan")
    return float((contracted_gpu_h - shortfall_gpu_h + met) / units)


def month_edges(months: np.ndarray) -> list[int]:
    """Hour offsets where each calendar month starts, and the horizon: bin edges."""
    return [0, *(np.flatnonzero(np.diff(months)) + 1).tolist(), int(months.size)]


def account(s: Scenario, runs: list[RunResult], xp) -> VariantAccount:
    R, D, S = len(runs), len(s.deployments), len(s.sites)
    H = s.n_hours
    dev = xp.asarray
    node = [s.node_type(d.node_type) for d in s.deployments]
    site_of = np.array([s.sites.index(s.site(d.site)) for d in s.deployments], dtype=np.int64)

    # ---- online capacity (same in every replica): from the start to retirement
    dep_start = np.array([max(0.0, s.hours_from_start(s.deployment_start(d))) for d in s.deployments])
    dep_end = np.array([min(float(H), max(s.retire_h(d), 0.0)) for d in s.deployments])
    dep_start = np.minimum(dep_start, dep_end)
    dep_gpus = np.array([d.nodes * n.gpus_per_node for d, n in zip(s.deployments, node)], dtype=np.float64)
    online = hourly_occupancy(dev(dep_start), dev(dep_end), dev(dep_gpus),
                              dev(np.arange(D, dtype=np.int64)), max(D, 1), H)[:D]
    # ...less what each replica had down (failed, in maintenance, or not yet delivered): those
    # GPUs are powered off. Per replica only when some replica had any.
    d_rep = np.concatenate([np.full(r.intervals["down_start_h"].size, k) for k, r in enumerate(runs)])
    if d_rep.size:
        d_dep = np.concatenate([r.intervals["down_deployment"] for r in runs])
        down = hourly_occupancy(dev(np.concatenate([r.intervals["down_start_h"] for r in runs])),
                                dev(np.concatenate([r.intervals["down_end_h"] for r in runs])),
                                dev(np.concatenate([r.intervals["down_gpus"] for r in runs])),
                                dev(d_rep * D + d_dep), R * D, H)
        online = online[None, :, :] - xp.reshape(down, (R, D, H))
    online_mean = xp.mean(online, axis=0) if online.ndim == 3 else online   # (D, H)
    online_rdh = online if online.ndim == 3 else online[None, :, :]         # (R or 1, D, H)

    # ---- job allocations, per (replica, deployment): GPUs, GPUs x f(u), GPUs x u in one pass
    def cat(key, dtype=np.float64):
        return dev(np.concatenate([r.intervals[key] for r in runs]).astype(dtype)) if runs else dev(np.empty(0))
    rep = np.concatenate([np.full(r.intervals["job_start_h"].size, k) for k, r in enumerate(runs)])
    dep = np.concatenate([r.intervals["job_deployment"] for r in runs])
    j_gpus, j_busy, j_util = cat("job_gpus"), cat("job_busy_gpus"), cat("job_util")
    curve_of = np.array([n.power_curve for n in node])
    f_util = xp.zeros_like(j_util)
    for curve in sorted(set(curve_of)):
        f_util = xp.where(dev(curve_of[dep] == curve), power_curve(j_util, curve), f_util)
    n_cells = max(R * D, 1)
    weights = xp.stack([j_gpus, j_busy * f_util, j_busy * j_util])
    occ = hourly_occupancy(cat("job_start_h"), cat("job_end_h"), weights, dev(rep * D + dep), n_cells, H)
    alloc, busy_curve, busy_lin = (occ[k, :R * D].reshape(R, D, H) for k in range(3))

    # ---- reservations: occupancy per (replica, tenant, deployment), utilization per tenant profile
    r_rep = np.concatenate([np.full(r.intervals["reserved_start_h"].size, k) for k, r in enumerate(runs)])
    r_dep = np.concatenate([r.intervals["reserved_deployment"] for r in runs])
    r_prof = np.concatenate([r.intervals["reserved_profile"] for r in runs])
    pairs, pair_of = np.unique(r_prof * max(D, 1) + r_dep, return_inverse=True)
    if pairs.size:
        P = pairs.size
        occ_pairs = hourly_occupancy(cat("reserved_start_h"), cat("reserved_end_h"), cat("reserved_gpus"),
                                     dev(r_rep * P + pair_of), R * P, H).reshape(R, P, H)
        noise, profiles, used = {}, {}, {}
        for p_idx, pair in enumerate(pairs.tolist()):
            tenant, d = divmod(pair, max(D, 1))
            if tenant not in noise:  # drawn on the host from the tenant's named stream, uploaded once
                name = s.tenants[tenant].name
                noise[tenant] = dev(np.stack([stream(run.seed, run.replica, f"util/{name}").standard_normal(H)
                                              for run in runs]))
                reservation = s.tenants[tenant].reservation
                prof = reservation.utilization
                if reservation.lend_idle:   # the engine held only the GPUs in use: they run at full load
                    prof = UtilizationProfile(mean=1.0)
                profiles[tenant] = prof.model_dump()
                used[tenant] = reserved_utilization(noise[tenant], profiles[tenant], s.start.weekday())  # once a tenant
            add_reserved_load(alloc, busy_curve, busy_lin, d, occ_pairs[:, p_idx, :], noise[tenant], profiles[tenant],
                              s.start.weekday(), node[d].power_curve, used[tenant])

    # ---- energy, cost and carbon per replica, deployment and month, in one pass
    par = lambda values: dev(np.asarray(values, dtype=np.float64))
    static_w, curve_w, linear_w = per_gpu_coefficients(
        par([n.gpu_idle_w for n in node]), par([n.gpu_max_w for n in node]), par([n.node_base_w for n in node]),
        par([n.node_dynamic_w for n in node]), par([n.gpus_per_node for n in node]))
    price, carbon = hourly_site_inputs(s, H)
    price, carbon = dev(price[site_of]), dev(carbon[site_of])
    pue = dev(hourly_pue(s, H)[site_of])
    months, month_starts = month_index(s.start, H)
    energy = energy_by_bin(online, busy_curve, busy_lin, static_w, curve_w, linear_w, pue, price, carbon,
                           month_edges(months))
    it_mwh, fac_mwh, cost_usd, carbon_kg = (energy[k] for k in range(4))       # (R, D, months)

    # ---- daily per-site series of the replica mean (everything is linear in the hourly sums)
    day_of_hour = np.arange(H, dtype=np.int64) // 24
    n_days = int(day_of_hour[-1]) + 1
    to_site = np.zeros((S, D))
    to_site[site_of, np.arange(D)] = 1.0
    to_site, days = dev(to_site), dev(day_of_hour)
    daily_sum = lambda hourly_d: sum_by_bin(to_site @ hourly_d, days, n_days)  # (D, H) -> (S, days)
    it_w = it_power_w(online_mean, xp.mean(busy_curve, axis=0), xp.mean(busy_lin, axis=0), static_w, curve_w,
                      linear_w)
    fac_w = it_w * pue

    # ---- everything the host needs, in one transfer
    n_months = len(month_starts)
    host = to_host({
        "online_gpu_h": xp.sum(online_rdh, axis=(1, 2)),                # per replica (or all alike)
        "online_gpu_h_by_deployment": xp.sum(online_mean, axis=1),
        "alloc_gpu_h": xp.sum(alloc, axis=(1, 2)),
        "energy_it_mwh": xp.sum(it_mwh, axis=(1, 2)),
        "energy_facility_mwh": xp.sum(fac_mwh, axis=(1, 2)),
        "energy_cost_usd": xp.sum(cost_usd, axis=(1, 2)),
        "carbon_kg": xp.sum(carbon_kg, axis=(1, 2)),
        "idle_floor_wh": xp.sum(online_rdh * static_w[:, None], axis=(1, 2)),   # every online GPU idle
        "gpus_online": daily_sum(online_mean),
        "gpus_allocated": daily_sum(xp.mean(alloc, axis=0)),
        "it_power_w": daily_sum(it_w),
        "facility_power_w": daily_sum(fac_w),
        "energy_cost_usd_daily": daily_sum(fac_w * price) / 1e6,
        "carbon_kg_daily": daily_sum(fac_w * carbon) / 1e6,
        "monthly_energy_cost_usd": cost_usd,
        "monthly_facility_mwh": fac_mwh,
        "jobs_gpu_h": _tenant_monthly(s, runs, months, n_months, xp, "job", "tenant", "busy_gpus"),
        "reserved_gpu_h": _tenant_monthly(s, runs, months, n_months, xp, "reserved", "profile", "gpus"),
        "shortfall_gpu_h": _tenant_monthly(s, runs, months, n_months, xp, "shortfall", "profile", "gpus"),
    })

    # ---- per-replica totals
    metrics = {}
    online_gpu_h = host["online_gpu_h"]
    with np.errstate(invalid="ignore", divide="ignore"):
        metrics["gpu_utilization"] = np.where(online_gpu_h > 0, host["alloc_gpu_h"] / online_gpu_h, np.nan)
    if len(s.tenants) > 1:
        metrics.update(_tenant_utilization(s, runs, np.broadcast_to(online_gpu_h, (R,))))
    metrics["energy_it_mwh"] = host["energy_it_mwh"]
    metrics["energy_facility_mwh"] = host["energy_facility_mwh"]
    metrics["energy_cost_usd"] = host["energy_cost_usd"]
    metrics["carbon_t"] = host["carbon_kg"] / 1e3
    metrics["idle_floor_it_mwh"] = np.broadcast_to(host["idle_floor_wh"] / 1e6, (R,)).copy()

    targets = reservation_target_intervals(s)
    contracted_gpu_h = sum((min(b, H) - a) * g for a, b, g, _ in targets)
    for name in ("sla_attainment", "stranded_gpu_hours", "reserved_shortfall_gpu_hours"):
        metrics[name] = np.empty(R)
    for k, run in enumerate(runs):
        shortfall = float(((run.intervals["shortfall_end_h"] - run.intervals["shortfall_start_h"])
                           * run.intervals["shortfall_gpus"]).sum())
        metrics["sla_attainment"][k] = _sla(s, run.jobs, contracted_gpu_h, shortfall)
        metrics["stranded_gpu_hours"][k] = run.stranded_gpu_h
        metrics["reserved_shortfall_gpu_hours"][k] = shortfall

    # ---- demand against capacity, by node type (replica mean)
    offered = {}
    # jobs' work within the horizon, by the node type their tenant's workload asks for
    work_by_type: dict[str, float] = {}
    wl_type = np.array([t.workload.node_type if t.workload else "" for t in s.tenants] or [""], dtype=object)
    for run in runs:
        work = np.minimum(run.jobs["duration_h"], s.horizon_h - run.jobs["submit_h"]) * run.jobs["gpu_share"]
        types = wl_type[run.jobs["tenant"]]
        for name in set(types.tolist()):
            work_by_type[name] = work_by_type.get(name, 0.0) + float(work[types == name].sum()) / R
    for nt in s.node_types:
        cap = float(sum(host["online_gpu_h_by_deployment"][d] for d in range(D) if node[d].name == nt.name))
        demand = sum((min(b, H) - a) * g for a, b, g, t in targets if s.tenants[t].reservation.node_type == nt.name)
        demand += work_by_type.get(nt.name, 0.0)
        if cap or demand:
            offered[nt.name] = demand / cap if cap else float("inf")

    # ---- daily means per site (the last day may be short) and monthly totals
    hours_per_day = np.bincount(day_of_hour, minlength=n_days).astype(np.float64)
    daily = {
        "gpus_online": host["gpus_online"] / hours_per_day,
        "gpus_allocated": host["gpus_allocated"] / hours_per_day,
        "it_power_mw": host["it_power_w"] / hours_per_day / 1e6,
        "facility_power_mw": host["facility_power_w"] / hours_per_day / 1e6,
        "energy_cost_usd": host["energy_cost_usd_daily"],
        "carbon_t": host["carbon_kg_daily"] / 1e3,
    }
    by_site = lambda x: np.stack([x[:, site_of == i].sum(axis=1) for i in range(S)], axis=1)   # (R, D, M) -> (R, S, M)
    monthly = {
        "energy_cost_usd": by_site(host["monthly_energy_cost_usd"]),
        "facility_mwh": by_site(host["monthly_facility_mwh"]),
        "jobs_gpu_h": host["jobs_gpu_h"],
        "reserved_gpu_h": host["reserved_gpu_h"],
        "shortfall_gpu_h": host["shortfall_gpu_h"],
    }
    return VariantAccount(metrics, daily, monthly, month_starts, offered,
                          {"energy_cost_usd": host["monthly_energy_cost_usd"]})


def _tenant_utilization(s, runs, online_gpu_h) -> dict[str, np.ndarray]:
    """Each tenant's share of the online GPU-hours: the GPUs its jobs and its reservation held
    (they add up to `gpu_utilization`)."""
    T = len(s.tenants)
    held = np.zeros((len(runs), T))
    for k, run in enumerate(runs):
        iv = run.intervals
        for kind, tenant_key in (("job", "tenant"), ("reserved", "profile")):
            gpu_h = (iv[f"{kind}_end_h"] - iv[f"{kind}_start_h"]) * iv[f"{kind}_gpus"]
            held[k] += np.bincount(iv[f"{kind}_{tenant_key}"], weights=gpu_h, minlength=T)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(online_gpu_h[:, None] > 0, held / online_gpu_h[:, None], np.nan)
    return {f"gpu_utilization[{t.name}]": share[:, i] for i, t in enumerate(s.tenants)}


def _tenant_monthly(s, runs, months, n_months, xp, kind: str, tenant_key: str, gpus_key: str):
    """GPU-hours of one kind of interval per tenant and month: (replicas, tenants, months).
    Jobs count only while running (a preempted job's wait is not used GPU-hours)."""
    T, H = max(len(s.tenants), 1), s.n_hours
    dev = xp.asarray
    cat = lambda key: np.concatenate([r.intervals[f"{kind}_{key}"] for r in runs])
    cells = np.concatenate([k * T + r.intervals[f"{kind}_{tenant_key}"] for k, r in enumerate(runs)])
    occ = hourly_occupancy(dev(cat("start_h")), dev(cat("end_h")), dev(cat(gpus_key).astype(np.float64)),
                           dev(cells), len(runs) * T, H)
    return sum_by_bin(occ.reshape(len(runs), T, H), dev(months), n_months)
