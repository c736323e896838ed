"""Demand beyond the backlog, per replica: renewals of expiring reservations and new
signings, served from the provider's uncommitted GPUs or lost.

The ledger: for each (owner after any merger, node type), GPUs in service each day (planned
deployments on their configured dates, less retired ones) less the GPUs every reservation
commits that day; a day counts at its lowest hour. Renewals and signings are taken in time
order, each committing what it is granted, so an earlier one is served first.
- A renewal (Reservation.renewal), drawn with its probability on the tenant's own stream
  ("renewal/<tenant>"), renews the last level from the day the term ends, for its term, at
  the market price that day less its discount: as many GPUs as stay uncommitted over the
  whole renewal term (within the horizon); the rest is lost.
- A signing asks for its GPUs over its term from the first day after it is signed; it waits
  up to `patience` for a day from which uncommitted GPUs cover it over its whole term
  (within the horizon). With `build: true` its provider otherwise buys the GPUs it lacks (whole
  nodes of the SKU), online one `procurement_lead_time` after the signing if that is within
  its patience, into the first site (config order) it owns or rents under a hosting contract
  whose free MW hold them until they retire; where none does, it first exercises the first
  expansion option of a site it owns that adds enough MW in time (the nodes then come online
  when both the MW and the GPUs are there). Otherwise it is lost whole.
Served signings of one segment add up to one tenant whose reservation steps at every start
and end, priced at the GPU-weighted mean of the prices of the contracts running (so the bill
is each contract's GPUs x its price).
A lost contract is counted once, when it would have started: its GPUs x the hours of its
term within the horizon, and the revenue those would have paid.
Engine delivery delays and outages do not enter the ledger (they show as SLA shortfalls).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ..config.checks import power_fit
from ..config.schema import Deployment, Renewal, Reservation, Scenario, Signings, Tenant
from ..config.types import HOURS_PER_YEAR, reservation_levels, schedule_steps
from ..errors import InvariantError
from ..rng import stream
from .market import price_paths


@dataclass(frozen=True)
class Lost:
    """Demand not served: `gpus` GPUs from `start_h` for `gpu_h / gpus` hours within the
    horizon, at `price` USD per GPU-hour."""
    tenant: str
    start_h: float
    gpus: int
    gpu_h: float
    price: float

    @property
    def revenue_usd(self) -> float:
        return self.gpu_h * self.price


class Ledger:
    """Uncommitted GPUs per (owner, node type) and day, and MW of critical IT free per site
    and day (less the node max power of the deployments in service)."""

    def __init__(self, s: Scenario):
        self.s = s
        self.days = int(np.ceil(s.horizon_h / 24))
        hours = np.arange(self.days * 24, dtype=np.float64)
        online: dict[tuple[str, str], np.ndarray] = {}
        used_mw = {site.name: np.zeros(hours.size) for site in s.sites}
        for dep in s.deployments:
            key = (s.deployment_owner(dep), dep.node_type)
            window = (hours >= s.hours_from_start(s.deployment_start(dep))) & (hours < s.retire_h(dep))
            nt = s.node_type(dep.node_type)
            online.setdefault(key, np.zeros(hours.size))
            online[key] += window * dep.nodes * nt.gpus_per_node
            used_mw[dep.site] += window * dep.nodes * nt.node_max_w / 1e6
        for t in s.tenants:
            if t.reservation is not None:
                key = (s.owner_of(t.provider), t.reservation.node_type)
                online.setdefault(key, np.zeros(hours.size))
                for a, b, gpus in reservation_levels(s, t.reservation):
                    online[key] -= ((hours >= a) & (hours < b)) * gpus
        daily_min = lambda hourly: hourly.reshape(self.days, 24).min(axis=1)
        self.free = {key: daily_min(hourly) for key, hourly in online.items()}
        self.mw_free = {}
        for site in s.sites:
            it_mw = np.zeros(hours.size)
            for day, level in schedule_steps(site.critical_it_mw, s.start):
                it_mw[hours >= s.hours_from_start(day)] = level
            self.mw_free[site.name] = daily_min(it_mw - used_mw[site.name])
        self.built: list[Deployment] = []
        self.exercised: dict[tuple[str, int], tuple[int, int]] = {}   # (site, option) -> (ordered, online day)

    def day_of(self, h: float) -> int:
        return int(np.ceil(h / 24 - 1e-9))

    def available(self, key, start_day: int, term_days: int) -> float:
        free = self.free.get(key)
        if free is None or start_day >= self.days:
            return 0.0
        return float(free[start_day:start_day + term_days].min())

    def commit(self, key, start_day: int, term_days: int, gpus: int) -> None:
        self.free[key][start_day:start_day + term_days] -= gpus

    def build(self, owner: str, node_type: str, nodes: int, day: int) -> bool:
        """Nodes online from `day` at the first site `owner` may fill (its own, or one it
        rents under a hosting contract) whose free MW hold them until they retire; False when
        none does."""
        s = self.s
        nt = s.node_type(node_type)
        mw = nodes * nt.node_max_w / 1e6
        for site in s.sites:
            rents = any(h.site == site.name and s.owner_of(h.client) == owner for h in s.hosting_contracts)
            if s.owner_of(site.owner) != owner and not rents:
                continue
            dep = Deployment(site=site.name, node_type=node_type, nodes=nodes, owner=owner,
                             start=s.start + dt.timedelta(days=day))
            end = min(self.days, self.day_of(min(s.retire_h(dep), self.days * 24.0)))
            if self.mw_free[site.name][day:end].min() + 1e-9 < mw:
                continue
            self.mw_free[site.name][day:end] -= mw
            self.free.setdefault((owner, node_type), np.zeros(self.days))[day:end] += nodes * nt.gpus_per_node
            self.built.append(dep)
            return True
        return False

    def expand(self, owner: str, mw: float, ordered: int, last: int) -> int | None:
        """Exercise the first option (sites in config order) of a site `owner` owns that adds
        at least `mw` by day `last` when ordered on day `ordered`; the day its MW are online."""
        s = self.s
        for site in s.sites:
            if s.owner_of(site.owner) != owner:
                continue
            for i, option in enumerate(site.expansions):
                earliest = max(ordered, (option.earliest - s.start).days if option.earliest else 0)
                online = earliest + int(np.ceil(option.lead_time / 24 - 1e-9))
                if (site.name, i) in self.exercised or option.mw + 1e-9 < mw or online > last:
                    continue
                self.exercised[site.name, i] = (earliest, online)
                self.mw_free[site.name][online:] += option.mw
                return online
        return None

    def sites_with_expansions(self) -> list:
        """The sites with each exercised option's MW in their critical IT from the day it is
        online and its capex on the day it is exercised; the option itself gone."""
        s, out = self.s, []
        for site in s.sites:
            done = {i: days for (name, i), days in self.exercised.items() if name == site.name}
            if not done:
                out.append(site)
                continue
            steps = schedule_steps(site.critical_it_mw, s.start)
            days = sorted({day for day, _ in steps} | {s.start + dt.timedelta(days=on) for _, on in done.values()})
            level = lambda day: ([0.0] + [mw for when, mw in steps if when <= day])[-1] + sum(
                site.expansions[i].mw for i, (_, on) in done.items() if s.start + dt.timedelta(days=on) <= day)
            capex = dict(site.capex_usd)
            for i, (exercised, _) in done.items():
                when = s.start + dt.timedelta(days=exercised)
                capex[when] = capex.get(when, 0.0) + site.expansions[i].mw * site.expansions[i].capex_usd_per_mw
            out.append(site.model_copy(update={
                "critical_it_mw": {day: level(day) for day in days}, "capex_usd": capex,
                "expansions": [x for i, x in enumerate(site.expansions) if i not in done]}))
        return out


def _term_days(term_h: float) -> int:
    return max(1, int(round(term_h / 24)))


def _lost(s: Scenario, name: str, start_day: int, term_days: int, gpus: int, price: float) -> Lost:
    hours = max(0.0, min((start_day + term_days) * 24.0, s.horizon_h) - start_day * 24.0)
    return Lost(name, start_day * 24.0, gpus, gpus * hours, price)


def signing_times_h(s: Scenario, g: Signings, rng: np.random.Generator) -> np.ndarray:
    """Signing hours: a Poisson process at per_year x (1 + growth) ^ years, by thinning."""
    a = max(0.0, s.hours_from_start(g.start or s.start))
    b = min(s.horizon_h, s.hours_from_start(g.end) if g.end else s.horizon_h)
    if b <= a:
        return np.empty(0)
    years = lambda h: h / HOURS_PER_YEAR
    peak = g.per_year * max(1.0, (1 + g.growth_per_year) ** years(b)) / HOURS_PER_YEAR
    n = rng.poisson(peak * (b - a))
    t = np.sort(rng.uniform(a, b, n))
    keep = rng.random(n) < g.per_year * (1 + g.growth_per_year) ** years(t) / HOURS_PER_YEAR / peak
    return t[keep]


@dataclass
class _Served:
    start_day: int
    term_days: int
    gpus: int
    price: float


def _segment_tenant(s: Scenario, g: Signings, served: list[_Served]) -> Tenant:
    """One tenant for a segment's served signings: levels and GPU-weighted prices by day."""
    edges = sorted({0} | {c.start_day for c in served} | {c.start_day + c.term_days for c in served})
    gpus, prices = {}, {}
    for day in edges:
        running = [c for c in served if c.start_day <= day < c.start_day + c.term_days]
        level = sum(c.gpus for c in running)
        date = s.start + dt.timedelta(days=day)
        gpus[date] = float(level)
        prices[date] = sum(c.gpus * c.price for c in running) / level if level else 0.0
    reservation = Reservation(node_type=g.node_type, gpus=gpus, start=s.start, price_usd_per_gpu_hour=prices,
                              take_or_pay=g.take_or_pay, sla=g.sla, utilization=g.utilization)
    return Tenant(name=g.name, provider=g.provider, reservation=reservation)


def _renewal_tenant(s: Scenario, t: Tenant, day: int, term_days: int, gpus: int, price: float) -> Tenant:
    r = t.reservation
    reservation = Reservation(node_type=r.node_type, site=r.site, gpus=float(gpus),
                              start=s.start + dt.timedelta(days=day), term=term_days * 24.0,
                              price_usd_per_gpu_hour=price, take_or_pay=r.take_or_pay, sla=r.sla,
                              utilization=r.utilization, lend_idle=r.lend_idle)
    return Tenant(name=f"{t.name}_renewal", provider=t.provider, fair_share_weight=t.fair_share_weight,
                  reservation=reservation)


def _built_for(s: Scenario, ledger: Ledger, key, day: int, last: int, gpus: int, term_days: int) -> int | None:
    """The day a signing starts on GPUs its provider buys for it, or None (no MW free for
    them, or they would come after its patience)."""
    owner, node_type = key
    company = next(c for c in s.companies if c.name == owner)
    online = day + int(np.ceil(company.procurement_lead_time / 24 - 1e-9))
    if online > last:
        return None
    nt = s.node_type(node_type)
    nodes = int(np.ceil((gpus - max(0.0, ledger.available(key, online, term_days))) / nt.gpus_per_node))
    if not ledger.build(owner, node_type, nodes, online):
        expanded = ledger.expand(owner, nodes * nt.node_max_w / 1e6, day, last)   # no free MW: add some
        if expanded is None:
            return None
        online = max(online, expanded)
        if not ledger.build(owner, node_type, nodes, online):
            return None
    if ledger.available(key, online, term_days) < gpus:
        return None   # (a build whose GPUs retire within the term stays: the MW are spent)
    return online


def plan_demand(s: Scenario, seed: int, replica: int) -> tuple[Scenario, list[Lost]]:
    """The scenario with this replica's renewal and signing tenants added, and the demand
    lost; itself and nothing lost when the config has neither."""
    renewing = [t for t in s.tenants if t.reservation is not None and t.reservation.renewal is not None]
    if not renewing and not s.market.signings:
        return s, []
    paths = price_paths(s, seed, replica)
    ledger = Ledger(s)
    events = []   # (hour, order, kind, payload)
    for t in renewing:
        r: Reservation = t.reservation
        levels = reservation_levels(s, r)
        end_h = levels[-1][1] if levels else 0.0
        renews = stream(seed, replica, f"renewal/{t.name}").random() < r.renewal.probability
        events.append((end_h, len(events), "renewal", (t, renews, levels[-1][2] if levels else 0)))
    for g in s.market.signings:
        rng = stream(seed, replica, f"signings/{g.name}")
        times = signing_times_h(s, g, rng)
        sizes = np.maximum(1, np.rint(g.gpus.sample(rng, times.size))).astype(np.int64)
        for h, gpus in zip(times.tolist(), sizes.tolist()):
            events.append((h, len(events), "signing", (g, gpus)))
    events.sort(key=lambda e: (e[0], e[1]))
    lost: list[Lost] = []
    served: dict[str, list[_Served]] = {g.name: [] for g in s.market.signings}
    renewals: dict[str, Tenant] = {}
    for hour, _, kind, payload in events:
        day = ledger.day_of(hour)
        date = s.start + dt.timedelta(days=day)
        if kind == "renewal":
            t, renews, want = payload
            renewal: Renewal = t.reservation.renewal
            term_days = _term_days(renewal.term)
            key = (s.owner_of(t.provider), t.reservation.node_type)
            price = paths[t.reservation.node_type].on(date) * (1 - renewal.discount)
            granted = 0
            if renews and day < ledger.days and want > 0:
                granted = int(min(want, max(0.0, ledger.available(key, day, term_days))))
                ledger.commit(key, day, term_days, granted)
                if want > granted:
                    lost.append(_lost(s, t.name, day, term_days, want - granted, price))
            renewals[t.name] = _renewal_tenant(s, t, day, term_days, granted, price)
            continue
        g, gpus = payload
        key = (s.owner_of(g.provider), g.node_type)
        term_days = _term_days(g.term)
        last = min(ledger.days - 1, day + int(np.floor(g.patience / 24)))
        start = next((d for d in range(day, last + 1) if ledger.available(key, d, term_days) >= gpus), None)
        if start is None and g.build:   # buy the GPUs it lacks, online one lead time later
            start = _built_for(s, ledger, key, day, last, gpus, term_days)
        if start is None:
            lost.append(_lost(s, g.name, day, term_days, gpus, paths[g.node_type].on(date) * (1 - g.discount)))
            continue
        price = paths[g.node_type].on(s.start + dt.timedelta(days=start)) * (1 - g.discount)
        ledger.commit(key, start, term_days, gpus)
        served[g.name].append(_Served(start, term_days, gpus, price))
    tenants = list(s.tenants)
    tenants += [renewals[t.name] for t in renewing]
    tenants += [_segment_tenant(s, g, served[g.name]) for g in s.market.signings]
    out = s.model_copy(update={"tenants": tenants, "deployments": list(s.deployments) + ledger.built,
                               "sites": ledger.sites_with_expansions()})
    if ledger.built and (problem := power_fit(out)):
        raise InvariantError(f"the signings' build-out overfills a site: {problem}")
    return out, lost


def demand_metrics(s: Scenario) -> dict[str, float]:
    """One replica's lost demand (its planned scenario's), in total and per tenant; nothing
    when the config draws no demand."""
    has_renewals = any(t.reservation is not None and t.reservation.renewal is not None for t in s.tenants)
    if not s.market.signings and not has_renewals:
        return {}
    lost = s._lost_demand
    out = {"lost_contracts": float(len(lost)), "lost_demand_gpu_hours": sum(x.gpu_h for x in lost),
           "lost_demand_revenue_usd": sum(x.revenue_usd for x in lost)}
    names = [g.name for g in s.market.signings] + [t.name for t in s.tenants
                                                   if t.reservation is not None and t.reservation.renewal is not None]
    for name in names:
        mine = [x for x in lost if x.tenant == name]
        out[f"lost_demand_gpu_hours[{name}]"] = sum(x.gpu_h for x in mine)
        out[f"lost_demand_revenue_usd[{name}]"] = sum(x.revenue_usd for x in mine)
    return out


def lost_by_month(s: Scenario, month_edges_h: np.ndarray) -> list[tuple[str, int, int, float, float]]:
    """(tenant, month, contracts, GPU-hours, revenue USD) of this replica's lost demand: each
    lost contract counts once, in the month it would have started, and its GPU-hours in the
    months its term would have run (within the horizon), at its price."""
    out: dict[tuple[str, int], list[float]] = {}
    starts, ends = month_edges_h[:-1], month_edges_h[1:]
    for x in s._lost_demand:
        hours = x.gpu_h / x.gpus if x.gpus else 0.0
        overlap = np.clip(np.minimum(ends, x.start_h + hours) - np.maximum(starts, x.start_h), 0.0, None)
        first = int(np.searchsorted(month_edges_h, x.start_h, side="right")) - 1
        for m in sorted(set(np.flatnonzero(overlap).tolist()) | {first}):
            row = out.setdefault((x.tenant, m), [0, 0.0, 0.0])
            row[0] += m == first
            row[1] += x.gpus * overlap[m]
            row[2] += x.gpus * overlap[m] * x.price
    return [(tenant, m, int(c), gpu_h, usd) for (tenant, m), (c, gpu_h, usd) in sorted(out.items())]
