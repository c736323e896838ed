"""The report's "Fleet and demand" section: where the variants differ operationally, in
words and numbers: MW that became GPUs, GPUs bought, retired and sold, converted MW leased,
the demand each could not serve (lost signings and renewals) and the time to power."""
from __future__ import annotations

import datetime as dt

import numpy as np

from ..config.types import schedule_steps
from ..engine.delays import delay_spec, site_delay_h
from ..experiment.runner import Experiment
from ..experiment.stats import mean_ci95
from .tables import fmt_value


def _mw_filled(s, day: dt.date) -> tuple[float, float]:
    """(MW of critical IT online, MW of node max power in service) on `day`, every site."""
    online = sum(([0.0] + [mw for when, mw in schedule_steps(site.critical_it_mw, s.start) if when <= day])[-1]
                 for site in s.sites)
    used = sum(d.nodes * s.node_type(d.node_type).node_max_w for d in s.deployments if s.in_service(d, day)) / 1e6
    return online, used


def _fleet_numbers(s) -> tuple[int, int, list[tuple[float, float]], list[dt.date]]:
    """GPUs bought and retired within the horizon, and (MW online, MW in use) every 30 days."""
    end = s.start + dt.timedelta(hours=s.horizon_h)
    gpus = lambda d: d.nodes * s.node_type(d.node_type).gpus_per_node
    bought = sum(gpus(d) for d in s.deployments if s.start <= s.deployment_start(d) < end)
    retired = sum(gpus(d) for d in s.deployments if (r := s.deployment_retire(d)) is not None and s.start <= r < end)
    days = [s.start + dt.timedelta(days=k) for k in range(0, int(s.horizon_h // 24), 30)]
    return bought, retired, [_mw_filled(s, day) for day in days], days


def _fleet_line(v) -> str:
    """The replica mean: each replica's plan may buy other GPUs."""
    each = {id(x): x for x in v.scenarios or [v.scenario]}
    numbers = {key: _fleet_numbers(x) for key, x in each.items()}
    per_replica = [numbers[id(x)] for x in v.scenarios or [v.scenario]]
    bought = np.mean([n[0] for n in per_replica])
    retired = np.mean([n[1] for n in per_replica])
    filled = np.mean([n[2] for n in per_replica], axis=0)      # (days, 2)
    days = per_replica[0][3]
    if not len(days):
        return f"{v.name}: no GPUs."
    peak = int(np.argmax(filled[:, 1]))
    online, used = filled[peak]
    proceeds = v.finance.lines["resale_proceeds_usd"].sum(axis=(1, 2))
    text = (f"{v.name}: {bought:,.0f} GPUs bought within the horizon, {retired:,.0f} retired and sold "
            f"(USD {fmt_value(float(np.mean(proceeds)), 'USD')} of resale proceeds; replica means); at most "
            f"{used:,.0f} MW of GPUs in {online:,.0f} MW of critical IT online (on {days[peak]:%Y-%m})")
    leased = v.finance.lines["revenue_converted_usd"].sum(axis=(1, 2))
    if leased.any():
        text += f"; converted MW leased to third parties for USD {fmt_value(float(np.mean(leased)), 'USD')}"
    return text + "."


def _lost_line(v) -> str | None:
    m = v.metrics
    if "lost_demand_gpu_hours" not in m:
        return None
    gpu_h, lo, hi = mean_ci95(m["lost_demand_gpu_hours"])
    revenue = float(np.mean(m["lost_demand_revenue_usd"]))
    by = sorted(((float(np.mean(values)), key[len("lost_demand_revenue_usd["):-1])
                 for key, values in m.items() if key.startswith("lost_demand_revenue_usd[")), reverse=True)
    top = ", ".join(f"{name} USD {fmt_value(value, 'USD')}" for value, name in by[:3] if value > 0)
    interval = f" [{fmt_value(max(float(lo), 0.0))}, {fmt_value(float(hi))}]" if np.isfinite(lo) else ""
    return (f"{v.name}: {np.mean(m['lost_contracts']):,.1f} contracts lost (signings and renewals its uncommitted "
            f"GPUs could not cover in time), {fmt_value(gpu_h)}{interval} GPU-hours worth USD "
            f"{fmt_value(revenue, 'USD')} at the prices they were offered" + (f"; most in {top}" if top else "")
            + " (capacity outside the model may serve some of it).")


def _time_to_power_line(v) -> str | None:
    """How late the hosts delivered the sites with a delivery-delay risk, over the replicas."""
    s = v.scenario
    sites = [site.name for site in s.sites if delay_spec(s, site.name) is not None]
    if not sites:
        return None
    delays = np.array([[site_delay_h(s, run.seed, run.replica, name) / 24 for name in sites] for run in v.runs])
    late = delays > 0
    mean = float(delays[late].mean()) if late.any() else 0.0
    return (f"{v.name}: time to power: {late.sum()} of {late.size} site deliveries late (sites x replicas), "
            f"{mean:.0f} days late on average when late; {float(delays.sum(axis=1).mean()):.0f} site-days late "
            f"per replica.")


def fleet_and_demand_notes(exp: Experiment) -> list[str]:
    out = []
    for v in exp.variants:
        out.append(_fleet_line(v))
        for line in (_lost_line(v), _time_to_power_line(v)):
            if line is not None:
                out.append(line)
    if len(exp.variants) == 2:
        a, b = exp.variants
        for metric, what in (("lost_demand_gpu_hours", "GPU-hours of demand lost"),
                             ("lost_demand_revenue_usd", "USD of revenue lost")):
            if metric in a.metrics and metric in b.metrics:
                mean, lo, hi = mean_ci95(a.metrics[metric] - b.metrics[metric])
                out.append(f"{a.name} - {b.name}: {fmt_value(mean)} [{fmt_value(float(lo))}, {fmt_value(float(hi))}] "
                           f"{what} (paired replicas).")
        for v in exp.variants:
            merger = v.scenario.merger
            conv = merger.convert_legacy_loads if merger else None
            if conv is not None and conv.use == "gpus":
                other = b if v is a else a
                out.append(f"Where owning the sites differs: {v.name} fills the converted MW of "
                           f"{conv.into_site} with its own GPUs, while {other.name}'s site owner "
                           + _own_plan(other.scenario, conv.into_site) + ".")
    return out


def _own_plan(s, site: str) -> str:
    for x in s.sites:
        for load in x.legacy_loads:
            conv = s.conversion_of(x, load)
            if conv is not None and conv.into_site == site:
                return ("leases them to third parties at USD "
                        f"{conv.lease_usd_per_kw_month:g} per kW-month after {conv.lease_up_months} months"
                        if conv.use == "lease" else "fills them with its own GPUs as well")
    return "does not convert them"
