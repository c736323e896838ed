"""Contracts, month by month: what tenants pay, what hosts bill, what legacy loads earn.

finance.py assembles these lines into statements; its docstring states the rest of the
conventions. Here:

- Rates per month accrue by the hour: a month is 730 hours (8760 / 12), so partial months
  are prorated exactly.
- Reservations are take-or-pay by default: the contracted GPU-hours are billed whatever the
  tenant uses. SLA: each month, reserved GPU-hours the provider did not deliver (the engine's
  shortfall: capacity late, failed or oversold) beyond (1 - availability_target) of the
  month's contracted GPU-hours are credited at credit_multiple x price, capped at
  credit_cap_share of the month's bill. The defaults (1, 1, 1) credit every undelivered
  GPU-hour at its price: the tenant pays for what it gets.
  Not take-or-pay: the tenant pays for GPU-hours delivered at its utilization profile's mean,
  and gets no credits (it is not billed for what it did not get); lending its idle GPUs
  (`lend_idle`), it pays for the GPU-hours it held in use.
  `contract_value_usd` instead of a price: price = value / contracted GPU-hours of the term.
  Prepayment: prepayment_share x contract value arrives in cash at the contract start (before
  the horizon: already spent), and settles that share of every month's bill.
- On-demand and spot: GPU-hours the tenant's jobs used x price x
  (1 - price_decline_per_year) ^ (years from the scenario start to the month's middle); with
  `market_premium`, x its node type's market price that month in that replica (sim.plan.market)
  x (1 + premium) instead.
- Hosting: fee = billable MW x 1000 x fee per kW-month, times (1 + escalator) ^ (whole years
  since the contract start), for the term plus the exercised renewal options.
  Delivery delay: per replica and site, with `probability`, the host delivers late by an
  exponential delay of mean `mean_delay` (whole hours); every contract date on or after the
  scenario start (commencement, ramp steps) moves by it, and the client's deployments there
  come online that much later in the engine. Earlier dates were already delivered.
  Fit-out the client funds: each billable-MW increase x client_fitout_usd_per_mw, paid on the
  step's configured date, recouped by netting fitout_netting_share of each fee until repaid
  (netting before the horizon counts). Within one company (merged) it is plain capex.
- Legacy loads (e.g. bitcoin mining) are money only, outside the engine and the energy and
  carbon metrics: MW x 8760 h a year at the load's power price, revenue and opex per MW-year.
  A conversion winds the load down linearly over its months while its capex is spent evenly
  (the merger's plan for its members' loads, else the load's own). Leased (`use: lease`):
  the converted critical IT (MW / pue_after) bills lease_usd_per_kw_month from lease_up_months after they are converted
  (the same linear ramp, later), as `revenue_converted_usd`. Filled with GPUs (`use: gpus`):
  they earn nothing here; the GPUs sim.plan.fleet deploys in them earn from tenants.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..config.schema import FloatingRate, HostingContract, Reservation, Scenario
from ..config.types import HOURS_PER_MONTH, HOURS_PER_YEAR, reservation_levels, schedule_steps
from ..metering.accounting import VariantAccount, contracted_gpus_hourly
from ..plan.market import PricePath



@dataclass
class Grid:
    """The monthly books of one variant: hour -> calendar month, replicas, company rows."""
    H: int
    month_edges: np.ndarray         # hour where each month starts, then the horizon
    companies: list[str]            # rows: the owners in this variant
    row: dict[str, int]             # any configured company -> its owner's row

    @property
    def M(self) -> int:
        return self.month_edges.size - 1

    def to_month(self, hourly: np.ndarray) -> np.ndarray:
        """Sum hourly values (..., H) into months (..., M)."""
        return np.add.reduceat(hourly, self.month_edges[:-1], axis=-1)

    def month_of(self, hour: float) -> int:
        return int(np.searchsorted(self.month_edges, hour, side="right")) - 1

    @functools.cached_property
    def hours(self) -> np.ndarray:
        return np.arange(self.H, dtype=np.float64)

    def window(self, start_h: float, end_h: float) -> np.ndarray:
        h = self.hours
        return ((h >= start_h) & (h < end_h)).astype(np.float64)


def rate_value(rate: float | FloatingRate, sofr: float | None) -> float:
    """An annual rate, floating ones at the company's SOFR (config checks it is set)."""
    return rate.sofr_plus + sofr if isinstance(rate, FloatingRate) else float(rate)


def reservation_gpu_hours(s: Scenario, r: Reservation) -> float:
    """Contracted GPU-hours over the whole term, before the horizon too."""
    return float(sum((b - a) * gpus for a, b, gpus in reservation_levels(s, r)))


def reservation_price(s: Scenario, r: Reservation) -> float:
    if r.contract_value_usd is None:
        return r.price_usd_per_gpu_hour
    gpu_h = reservation_gpu_hours(s, r)
    return r.contract_value_usd / gpu_h if gpu_h > 0 else 0.0


def reservation_price_hourly(s: Scenario, r: Reservation, H: int) -> np.ndarray:
    """USD per GPU-hour in each hour: the one price, or the steps of a price by date."""
    if not isinstance(r.price_usd_per_gpu_hour, dict):
        return np.full(H, reservation_price(s, r))
    steps = schedule_steps(r.price_usd_per_gpu_hour, r.start or s.start)   # sorted by date
    starts = np.array([s.hours_from_start(day) for day, _ in steps])
    prices = np.array([0.0] + [price for _, price in steps])
    # the last step started by each hour (none yet: 0)
    return prices[np.searchsorted(starts, np.arange(H, dtype=np.float64), side="right")]


def workload_price(s: Scenario, w, g: Grid, month_starts, draws: list[tuple[int, int]]) -> np.ndarray:
    """USD per GPU-hour of a workload's jobs by replica and month (R, M): its price falling
    price_decline_per_year to each month's middle, or its node type's market path (that
    replica's, constant within a calendar month) x (1 + market_premium)."""
    if w.market_premium is None:
        mid_years = (g.month_edges[:-1] + g.month_edges[1:]) / 2 / HOURS_PER_YEAR
        return np.broadcast_to(w.price_usd_per_gpu_hour * (1 - w.price_decline_per_year) ** mid_years,
                               (len(draws), g.M))
    spec = next(p for p in s.market.prices if p.node_type == w.node_type)
    paths = [PricePath(s, spec, seed, replica) for seed, replica in draws]
    return np.array([[path.on(day) for day in month_starts] for path in paths]) * (1 + w.market_premium)


def tenant_revenue_line(name: str) -> str:
    """The line of revenue from tenant `name` (its renewals with it), kept for tenants that
    market paths may see default (`paths.tenant_default_per_year`)."""
    return f"revenue_of_tenant_usd[{name}]"


def _defaulting(s: Scenario, tenant: str) -> str | None:
    """The tenant whose default would end this one's payments (itself, or the tenant it renews)."""
    names = s.paths.tenant_default_per_year if s.paths else {}
    base = tenant.removesuffix("_renewal")
    return tenant if tenant in names else base if base in names else None


def book_tenants(s: Scenario, acct: VariantAccount, g: Grid, L: dict, draws: list[tuple[int, int]]) -> None:
    """Reserved revenue, SLA credits, prepayments, on-demand and spot revenue. `draws`: each
    replica's (seed, replica), for market prices."""
    hourly = contracted_gpus_hourly(s)                   # GPUs per tenant and hour
    contracted = g.to_month(hourly)                      # GPU-hours per tenant and month
    R = len(draws)
    for name in (s.paths.tenant_default_per_year if s.paths else {}):
        L[tenant_revenue_line(name)] = np.zeros((R, len(g.companies), g.M))
    for t, tenant in enumerate(s.tenants):
        c = g.row[tenant.provider]
        r = tenant.reservation
        revenue = np.zeros((R, g.M))
        if r is not None:
            bill = g.to_month(hourly[t] * reservation_price_hourly(s, r, g.H))
            price = np.divide(bill, contracted[t], out=np.zeros_like(bill), where=contracted[t] > 0)  # month's mean
            short = acct.monthly["shortfall_gpu_h"][:, t]        # (R, M)
            if r.take_or_pay:
                beyond = np.maximum(short - (1 - r.sla.availability_target) * contracted[t], 0.0)
                credits = np.minimum(beyond * r.sla.credit_multiple * price, r.sla.credit_cap_share * bill)
                L["revenue_reserved_usd"][:, c] += bill
                L["sla_credits_usd"][:, c] += credits
                revenue += bill - credits
                if r.prepayment_share:
                    L["prepayments_applied_usd"][:, c] += r.prepayment_share * bill
                    start_h = s.hours_from_start(r.start or s.start)
                    if 0 <= start_h < g.H:
                        L["prepayments_received_usd"][:, c, g.month_of(start_h)] += \
                            r.prepayment_share * reservation_price(s, r) * reservation_gpu_hours(s, r)
            else:
                paid = acct.monthly["reserved_gpu_h"][:, t] * price if r.lend_idle \
                    else (contracted[t] - short) * r.utilization.mean * price   # lend_idle: the GPUs in use
                L["revenue_reserved_usd"][:, c] += paid
                revenue += paid
        w = tenant.workload
        if w is not None:
            price = workload_price(s, w, g, acct.month_starts, draws)
            preemptible = s.scheduler.preemptible[s.scheduler.rank(w.tier)]
            line = "revenue_spot_usd" if preemptible else "revenue_on_demand_usd"
            paid = acct.monthly["jobs_gpu_h"][:, t] * price
            L[line][:, c] += paid
            revenue += paid
        if (defaulting := _defaulting(s, tenant.name)) is not None:
            L[tenant_revenue_line(defaulting)][:, c] += revenue


def contract_term_h(h: HostingContract) -> float:
    return h.term + sum(h.renewal_options[:h.renewals_exercised])


def hosting_fee_hourly(s: Scenario, h: HostingContract, hours: np.ndarray, delay_h: float = 0.0) -> np.ndarray:
    """The fee (USD) accruing in each hour of `hours` (hours from the scenario start)."""
    start = h.start or s.start
    late = lambda day: s.hours_from_start(day) + (delay_h if day >= s.start else 0.0)
    a = late(start)
    mw = np.zeros(hours.size)
    for day, level in schedule_steps(h.billable_mw, start):   # sorted; delays keep the order
        mw[hours >= late(max(day, start))] = level
    years = np.floor(np.maximum(hours - a, 0.0) / HOURS_PER_YEAR)
    live = (hours >= a) & (hours < a + contract_term_h(h))
    return mw * 1000 * h.fee_usd_per_kw_month / HOURS_PER_MONTH * (1 + h.escalator_per_year) ** years * live


def hosting_contract_value_usd(s: Scenario, h: HostingContract, discount_rate: float | None = None) -> float:
    """Total fees over the term and exercised renewals, without delays; with a rate, their
    present value at the contract start, each contract month (730 h) paid at its end."""
    months = int(np.ceil(contract_term_h(h) / HOURS_PER_MONTH - 1e-9))
    hours = s.hours_from_start(h.start or s.start) + np.arange(months * int(HOURS_PER_MONTH), dtype=np.float64)
    monthly = hosting_fee_hourly(s, h, hours).reshape(months, -1).sum(axis=1)
    if discount_rate is None:
        return float(monthly.sum())
    return float((monthly * (1 + discount_rate) ** (-(np.arange(months) + 1) / 12)).sum())


def _fitout_steps(s: Scenario, h: HostingContract) -> list[tuple[float, float]]:
    """(hour, USD) the client pays for the fit-out of each billable-MW increase."""
    start, level, out = h.start or s.start, 0.0, []
    for day, mw in schedule_steps(h.billable_mw, start):
        if mw > level and h.client_fitout_usd_per_mw:
            out.append((s.hours_from_start(max(day, start)), (mw - level) * h.client_fitout_usd_per_mw))
        level = max(level, mw)
    return out


def netted_hourly(fee: np.ndarray, funded: np.ndarray, share: float) -> np.ndarray:
    """Fees netted each hour against a client-funded fit-out: `share` of the fee while any
    funding is unrepaid. Netted-so-far = C + min(0, running min of F - C), with C the
    cumulative share of fees and F the cumulative funding (a queue reflected at zero)."""
    c = np.cumsum(share * fee)
    netted = c + np.minimum(0.0, np.minimum.accumulate(np.cumsum(funded) - c))
    return np.diff(netted, prepend=0.0)


def book_hosting(s: Scenario, g: Grid, L: dict, delays_h: np.ndarray) -> None:
    """Fees (third-party or intercompany), fit-out funding and its netting.
    delays_h: (contracts, replicas) delivery delays."""
    for i, h in enumerate(s.hosting_contracts):
        host, client = g.row[h.host], g.row[h.client]
        within = host == client                                   # merged: intercompany
        kind = "intercompany_fees" if within else "hosting_fees"
        funding = _fitout_steps(s, h)
        for hour, usd in funding:                                 # capex of whoever funds it
            if 0 <= hour < g.H:
                L["fitout_capex_usd"][:, client, g.month_of(hour)] += usd
        first = int(np.floor(min(0.0, s.hours_from_start(h.start or s.start))))
        hours = np.arange(first, g.H, dtype=np.float64)          # from before the horizon: netting
        funded = np.zeros(hours.size)                             # the fit-out the client pays, by hour
        for hour, usd in funding:
            if hour < g.H:
                funded[int(hour) - first] += usd
        for delay in np.unique(delays_h[i]):
            rows = delays_h[i] == delay
            fee = hosting_fee_hourly(s, h, hours, delay)
            monthly = g.to_month(fee[-first:] if first else fee)
            L[f"{kind}_received_usd"][rows, host] += monthly
            L[f"{kind}_paid_usd"][rows, client] += monthly
            if funding and not within:
                netted = g.to_month(netted_hourly(fee, funded, h.fitout_netting_share)[-first if first else 0:])
                L["fitout_recovered_usd"][rows, client] += netted
                L["fitout_netted_usd"][rows, host] += netted


def book_legacy(s: Scenario, g: Grid, L: dict) -> None:
    hours = np.arange(g.H, dtype=np.float64)
    for site in s.sites:
        c = g.row[site.owner]
        for load in site.legacy_loads:
            conv = s.conversion_of(site, load)
            converted = np.zeros(g.H)
            if conv is not None:
                a, n = s.hours_from_start(conv.start), conv.months * HOURS_PER_MONTH
                converted = load.mw * np.clip((hours - a) / n, 0.0, 1.0)
                L["conversion_capex_usd"][:, c] += g.to_month(g.window(a, a + n)) * load.mw * conv.capex_usd_per_mw / n
                if conv.use == "lease":   # each MW bills lease_up_months after it is converted
                    leased = load.mw / conv.pue_after * np.clip((hours - a - conv.lease_up_months * HOURS_PER_MONTH) / n,
                                                                0.0, 1.0)
                    L["revenue_converted_usd"][:, c] += g.to_month(leased) * 1000 * conv.lease_usd_per_kw_month \
                        / HOURS_PER_MONTH
            running = g.to_month(load.mw - converted)               # MW-hours per month
            L["revenue_legacy_usd"][:, c] += running * load.revenue_usd_per_mw_year / HOURS_PER_YEAR
            L["legacy_energy_usd"][:, c] += running * load.power_usd_per_mwh
            L["opex_usd"][:, c] += running * load.opex_usd_per_mw_year / HOURS_PER_YEAR
