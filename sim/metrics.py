"""The metrics catalogue: what every metric of `summary.json` is, in one place.

One row per metric: its name (per-tenant and per-tier variants add `[tenant]` or `[tier]`
to it), unit, a human label, and where it is shown:

- `headline`: the terminal table and the report's answer table;
- `key`: the report's answer sentences and the differences chart;
- `bars`: the side-by-side comparison chart;
- `sensitivity`: the outcomes of a sweep (its tables and tornado chart) and of the report's
  correlation of uncertain inputs;
- `tenant`: the report's by-tenant table.

A view lists its metrics in catalogue order. Every metric a run produces must have a row
(a test checks it), so a new metric is added here once and every view and unit follows.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    label: str
    shown: tuple[str, ...] = ()


CATALOGUE = (
    Metric("gpu_utilization", "fraction", "GPU utilization", ("headline", "key", "bars", "sensitivity", "tenant")),
    Metric("mean_wait_h", "h", "mean wait", ("headline", "key", "bars", "sensitivity", "tenant")),
    Metric("p95_wait_h", "h", "95th percentile wait", ("headline",)),
    Metric("p99_wait_h", "h", "99th percentile wait", ("headline",)),
    Metric("mean_jct_h", "h", "mean job completion time", ("headline", "tenant")),
    Metric("p95_jct_h", "h", "95th percentile job completion time"),
    Metric("mean_bounded_slowdown", "ratio", "mean bounded slowdown", ("headline",)),
    Metric("sla_attainment", "fraction", "SLA attainment", ("headline", "key")),
    Metric("stranded_gpu_hours", "GPU-h", "stranded GPU-hours", ("headline", "bars")),
    Metric("reserved_shortfall_gpu_hours", "GPU-h", "reserved GPU-hours not delivered"),
    Metric("preemptions", "events", "preemptions", ("headline", "tenant")),
    Metric("restarts", "events", "restarts after outages", ("headline", "tenant")),
    Metric("badput_gpu_hours", "GPU-h", "GPU-hours lost to restarts"),
    Metric("goodput_share", "fraction", "goodput share", ("headline", "tenant")),
    Metric("jobs_submitted", "jobs", "jobs submitted", ("headline",)),
    Metric("jobs_completed", "jobs", "jobs completed", ("headline",)),
    Metric("jobs_unfinished", "jobs", "jobs unfinished at the horizon", ("headline",)),
    Metric("jobs_rejected", "jobs", "jobs rejected (can never fit)", ("headline",)),
    Metric("trace_rows_skipped", "rows", "bad trace rows skipped"),
    Metric("energy_it_mwh", "MWh", "IT energy", ("headline",)),
    Metric("energy_facility_mwh", "MWh", "facility energy", ("headline",)),
    Metric("energy_cost_usd", "USD", "energy cost", ("headline", "key", "bars")),
    Metric("carbon_t", "t CO2e", "carbon", ("headline", "key")),
    Metric("revenue_usd", "USD", "revenue", ("headline",)),
    Metric("hosting_fees_usd", "USD", "hosting fees", ("headline",)),
    Metric("sla_credits_usd", "USD", "SLA credits"),
    Metric("ebitda_usd", "USD", "EBITDA", ("headline", "key", "bars")),
    Metric("fcf_usd", "USD", "free cash flow"),
    Metric("npv_usd", "USD", "NPV", ("headline", "key", "bars", "sensitivity")),
    Metric("min_dscr", "ratio", "minimum debt service coverage", ("headline",)),
    Metric("covenant_breach_months", "months", "months in covenant breach"),
    Metric("max_loan_to_collateral", "ratio", "maximum loan to collateral"),
)
METRICS = {m.name: m for m in CATALOGUE}


def base_name(metric: str) -> str:
    """`mean_wait_h[lab]` -> `mean_wait_h`."""
    return metric.split("[")[0]


def metric(name: str) -> Metric | None:
    return METRICS.get(base_name(name))


def unit_of(name: str) -> str:
    m = metric(name)
    return m.unit if m else ""


def label_of(name: str) -> str:
    m = metric(name)
    return m.label if m else name


def shown_in(view: str) -> tuple[str, ...]:
    return tuple(m.name for m in CATALOGUE if view in m.shown)
