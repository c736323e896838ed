"""The metrics catalogue: what every metric of `summary.json` is, in one place.

One row per metric: its name (per-tenant and per-class variants add `[tenant]` or `[class]`
to it), unit, a human label, the range its values can take, and where it is shown:

- `headline`: the terminal table and the report's answer table;
- `key`: the report's answer sentences and the differences chart;
- `bars`: the side-by-side comparison chart;
- `sensitivity`: the outcomes of a sweep (its tables and tornado chart) and of the report's
  correlation of uncertain inputs;
- `tenant`: the report's by-tenant table.

The range sets the interval: a 95% interval of a metric's mean is Student's t interval
across replicas intersected with the range (`interval_bounds`); a probability (0 or 1 per
replica, `kind="probability"`) has Wilson's score interval of its replica count instead. The true mean lies in the
range, so the intersection never lowers the coverage, and a fraction's interval never leaves
[0, 1] nor a total's [0, inf). A paired difference of two values in [a, b] lies in
[a - b, b - a] (so [-1, 1] for fractions).

A view lists its metrics in catalogue order. Every metric a run produces must have a row (a
test checks it), so a new metric is added here once and every view, unit and interval follows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

REAL = (-math.inf, math.inf)
FRACTION = (0.0, 1.0)
NONNEGATIVE = (0.0, math.inf)


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    label: str
    shown: tuple[str, ...] = ()
    bounds: tuple[float, float] = REAL
    kind: str = "mean"   # "probability": 0 or 1 per replica, its interval Wilson's


CATALOGUE = (
    Metric("gpu_utilization", "fraction", "GPU utilization", ("headline", "key", "bars", "sensitivity", "tenant"),
           bounds=FRACTION),
    Metric("mean_wait_h", "h", "mean wait", ("headline", "key", "bars", "sensitivity", "tenant"), bounds=NONNEGATIVE),
    Metric("p95_wait_h", "h", "95th percentile wait", ("headline",), bounds=NONNEGATIVE),
    Metric("p99_wait_h", "h", "99th percentile wait", ("headline",), bounds=NONNEGATIVE),
    Metric("mean_jct_h", "h", "mean job completion time", ("headline", "tenant"), bounds=NONNEGATIVE),
    Metric("p95_jct_h", "h", "95th percentile job completion time", bounds=NONNEGATIVE),
    Metric("mean_bounded_slowdown", "ratio", "mean bounded slowdown", ("headline",), bounds=(1.0, math.inf)),
    Metric("sla_attainment", "fraction", "SLA attainment", ("headline", "key"), bounds=FRACTION),
    Metric("stranded_gpu_hours", "GPU-h", "stranded GPU-hours", ("headline", "bars"), bounds=NONNEGATIVE),
    Metric("reserved_shortfall_gpu_hours", "GPU-h", "reserved GPU-hours not delivered", bounds=NONNEGATIVE),
    Metric("preemptions", "events", "preemptions", ("headline", "tenant"), bounds=NONNEGATIVE),
    Metric("restarts", "events", "restarts after outages", ("headline", "tenant"), bounds=NONNEGATIVE),
    Metric("badput_gpu_hours", "GPU-h", "GPU-hours lost to restarts", bounds=NONNEGATIVE),
    Metric("goodput_share", "fraction", "goodput share", ("headline", "tenant"), bounds=FRACTION),
    Metric("jobs_submitted", "jobs", "jobs submitted", ("headline",), bounds=NONNEGATIVE),
    Metric("jobs_completed", "jobs", "jobs completed", ("headline",), bounds=NONNEGATIVE),
    Metric("jobs_unfinished", "jobs", "jobs unfinished at the horizon", ("headline",), bounds=NONNEGATIVE),
    Metric("jobs_rejected", "jobs", "jobs rejected (can never fit)", ("headline",), bounds=NONNEGATIVE),
    Metric("trace_rows_skipped", "rows", "bad trace rows skipped", bounds=NONNEGATIVE),
    Metric("energy_it_mwh", "MWh", "IT energy", ("headline",), bounds=NONNEGATIVE),
    Metric("energy_facility_mwh", "MWh", "facility energy", ("headline",), bounds=NONNEGATIVE),
    Metric("energy_cost_usd", "USD", "energy cost", ("headline", "key", "bars", "money")),
    Metric("carbon_t", "t CO2e", "carbon", ("headline", "key"), bounds=NONNEGATIVE),
    Metric("revenue_usd", "USD", "revenue", ("headline", "money"), bounds=NONNEGATIVE),
    Metric("hosting_fees_usd", "USD", "hosting fees", ("headline", "money"), bounds=NONNEGATIVE),
    Metric("sla_credits_usd", "USD", "SLA credits", ("money",), bounds=NONNEGATIVE),
    Metric("lost_contracts", "contracts", "signings and renewals lost (no uncommitted GPUs in time)",
           bounds=NONNEGATIVE),
    Metric("lost_demand_gpu_hours", "GPU-h", "GPU-hours of demand lost", ("headline",), bounds=NONNEGATIVE),
    Metric("lost_demand_revenue_usd", "USD", "revenue of the demand lost", ("headline", "money"), bounds=NONNEGATIVE),
    Metric("ebitda_usd", "USD", "EBITDA", ("headline", "key", "bars", "money")),
    Metric("fcf_usd", "USD", "free cash flow", ("money",)),
    Metric("npv_usd", "USD", "NPV", ("headline", "key", "bars", "sensitivity", "money")),
    Metric("terminal_value_usd", "USD", "terminal value at the horizon", ("money",)),
    Metric("npv_with_terminal_usd", "USD", "NPV with terminal value", ("headline", "key", "sensitivity", "money")),
    Metric("irr", "fraction", "IRR (a year)", ("money",), bounds=(-1.0, math.inf)),
    Metric("payback_years", "years", "payback", ("money",), bounds=NONNEGATIVE),
    Metric("deal_npv_usd", "USD", "the deal's NPV to the buyer, less the price (no terminal value)",
           ("headline", "money")),
    Metric("deal_npv_with_terminal_usd", "USD", "the deal's NPV to the buyer with terminal values, less the price",
           ("headline", "key", "money")),
    Metric("deal_irr", "fraction", "the deal's IRR (a year)", ("headline", "money"), bounds=(-1.0, math.inf)),
    Metric("deal_payback_years", "years", "the deal's payback", ("money",), bounds=NONNEGATIVE),
    Metric("buyer_price_at_close_usd", "USD", "the buyer's share price at close", ("money",), bounds=NONNEGATIVE),
    Metric("offer_value_per_share_usd", "USD", "the offer's value per target share at close",
           ("headline", "key", "money"),
           bounds=NONNEGATIVE),
    Metric("target_standalone_value_per_share_usd", "USD", "the target's standalone value per share",
           ("headline", "key", "money")),
    Metric("buyer_standalone_value_per_share_usd", "USD", "the buyer's standalone value per share",
           ("headline", "money")),
    Metric("buyer_value_per_share_after_usd", "USD", "the buyer's value per share after the deal",
           ("headline", "money")),
    Metric("buyer_accretion", "fraction", "accretion to the buyer's value per share", ("headline", "key", "money"),
           bounds=(-math.inf, math.inf)),
    Metric("target_better_off_accepting", "probability", "probability the target's holders are better off accepting",
           ("headline", "key", "money"), bounds=FRACTION, kind="probability"),
    Metric("min_dscr", "ratio", "minimum debt service coverage", ("headline", "money")),
    Metric("covenant_breach_months", "months", "months in covenant breach", ("money",), bounds=NONNEGATIVE),
    Metric("max_loan_to_collateral", "ratio", "maximum loan to collateral", ("money",), bounds=NONNEGATIVE),
    Metric("breach_probability", "probability", "probability of a covenant breach", ("headline", "key", "money"),
           bounds=FRACTION, kind="probability"),
    Metric("default_probability", "probability", "probability of default",
           ("headline", "key", "money"), bounds=FRACTION,
           kind="probability"),
    Metric("default_loss_usd", "USD", "lenders' loss at default (the mean: expected loss)", ("headline", "money"),
           bounds=NONNEGATIVE),
    Metric("forced_paydown_usd", "USD", "debt paid down to the borrowing base", ("money",), bounds=NONNEGATIVE),
    Metric("cash_swept_usd", "USD", "cash swept to lenders in breach", ("money",), bounds=NONNEGATIVE),
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


def interval_bounds(name: str, difference: bool = False) -> tuple[float, float]:
    """Where a metric's mean (or the paired difference of two of them) can lie."""
    m = metric(name)
    low, high = m.bounds if m else REAL
    return (low - high, high - low) if difference else (low, high)


def is_probability(name: str) -> bool:
    m = metric(name)
    return m is not None and m.kind == "probability"


def shown_in(view: str) -> tuple[str, ...]:
    return tuple(m.name for m in CATALOGUE if view in m.shown)
