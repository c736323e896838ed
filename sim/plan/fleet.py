"""The fleet over its life, decided from the config alone (the same in every replica):
retirement dates, refresh deployments into retired GPUs' MW, and conversions of legacy
loads whose MW join a site and, where the policy says so, fill with GPUs.

Conventions:
- A deployment retires on its `retire` date, else its node type's `economic_life_years`
  after its start; its GPUs leave service then (jobs on them are preempted and requeued,
  reservations lose them, and jobs arriving later that only they could hold are rejected), are
  sold at their resale value and free their MW.
- Refresh (`Company.refresh`): the MW a retired deployment frees get nodes of the roadmap's
  SKU for the retirement day, online one `procurement_lead_time` later, as many as the MW
  hold (node max power); those retire and refresh in turn, until the horizon.
- A conversion's MW join `into_site` in steps: after each conversion month (730 h) its
  share of the load's critical IT (MW / pue_after) is critical IT there. With `use: gpus`, the owner after the merger
  orders nodes of its roadmap's SKU for each step's day, online a lead time later, as many
  as the MW converted so far hold less the nodes already ordered.
Every planned deployment names its owner, so a merger's company buys (and finances) them.
"""
from __future__ import annotations

import datetime as dt
import math

from ..config.checks import power_fit
from ..config.schema import Company, Deployment, Scenario, Site
from ..config.types import HOURS_PER_MONTH, schedule_steps
from ..errors import InvariantError

def roadmap_sku(company: Company, day: dt.date) -> str:
    """The node type the company buys on `day`: the last roadmap step started by then (the
    first step before its start)."""
    steps = sorted(company.roadmap, key=lambda step: step.start)
    chosen = steps[0].node_type
    for step in steps:
        if step.start <= day:
            chosen = step.node_type
    return chosen


def _after(day: dt.date, hours: float) -> dt.date:
    return day + dt.timedelta(days=math.ceil(hours / 24 - 1e-9))


def plan_fleet(s: Scenario) -> Scenario:
    """The scenario with its conversions' MW in their sites and every planned deployment
    (refresh and conversion fills) added after the configured ones; itself when nothing
    changes."""
    sites = {site.name: site for site in s.sites}
    added_mw: dict[str, list[tuple[dt.date, float]]] = {}
    fills: list[Deployment] = []
    for site in s.sites:
        for load in site.legacy_loads:
            conv = s.conversion_of(site, load)
            if conv is None or conv.into_site is None:
                continue
            owner = s.owner_of(site.owner)
            it_mw = load.mw / conv.pue_after
            steps = [(_after(conv.start, (k + 1) * HOURS_PER_MONTH), it_mw * (k + 1) / conv.months)
                     for k in range(conv.months)]
            added_mw.setdefault(conv.into_site, []).append(steps)
            if conv.use == "gpus" and conv.fill == "at_once":
                fills += _fill(s, _company(s, owner), conv.into_site, steps)
    if added_mw:
        sites = {name: _with_mw(site, added_mw.get(name, []), s.start) for name, site in sites.items()}
    deployments = list(s.deployments) + fills
    refreshed = _refresh(s, deployments)
    if not added_mw and not refreshed:
        return s
    out = s.model_copy(update={"sites": [sites[site.name] for site in s.sites],
                               "deployments": deployments + refreshed})
    if problem := power_fit(out):   # the plan keeps every deployment within its site's MW
        raise InvariantError(f"the fleet plan overfills a site: {problem}")
    return out


def _company(s: Scenario, name: str) -> Company:
    return next(c for c in s.companies if c.name == name)


def _nodes_in(s: Scenario, node_type: str, mw: float) -> int:
    return int(math.floor(mw * 1e6 / s.node_type(node_type).node_max_w + 1e-9))


def _fill(s: Scenario, owner: Company, site: str, steps) -> list[Deployment]:
    """Nodes of the roadmap's SKU into converted MW, step by step (whole nodes, the rest of a
    step's MW carried to the next)."""
    out, ordered_mw = [], 0.0
    for day, total_mw in steps:
        sku = roadmap_sku(owner, day)
        nodes = _nodes_in(s, sku, total_mw - ordered_mw)
        if nodes:
            ordered_mw += nodes * s.node_type(sku).node_max_w / 1e6
            out.append(Deployment(site=site, node_type=sku, nodes=nodes, owner=owner.name,
                                  start=_after(day, owner.procurement_lead_time)))
    return out


def _refresh(s: Scenario, deployments: list[Deployment]) -> list[Deployment]:
    """Each retiring deployment of a refreshing owner is followed by nodes of the roadmap's
    SKU in its MW, and those by their own refresh, while they start within the horizon."""
    horizon = s.start + dt.timedelta(hours=s.horizon_h)
    out = []
    todo = list(deployments)
    while todo:
        dep = todo.pop(0)
        retire = s.deployment_retire(dep)
        owner = _company(s, s.owner_of(s.configured_owner(dep)))
        if retire is None or retire >= horizon or not owner.refresh:
            continue
        sku = roadmap_sku(owner, retire)
        mw = dep.nodes * s.node_type(dep.node_type).node_max_w / 1e6
        nodes = _nodes_in(s, sku, mw)
        start = _after(retire, owner.procurement_lead_time)
        if nodes and start < horizon:
            new = Deployment(site=dep.site, node_type=sku, nodes=nodes, owner=owner.name, start=start)
            out.append(new)
            todo.append(new)
    return out


def _with_mw(site: Site, loads: list[list[tuple[dt.date, float]]], start: dt.date) -> Site:
    """The site with each load's converted MW added to its critical IT from each step's day on."""
    if not loads:
        return site
    tables = [schedule_steps(site.critical_it_mw, start), *loads]
    days = sorted({day for table in tables for day, _ in table})
    level = lambda table, day: ([0.0] + [mw for when, mw in sorted(table) if when <= day])[-1]
    return site.model_copy(update={"critical_it_mw": {day: sum(level(t, day) for t in tables) for day in days}})
