"""Cross-reference checks of a validated scenario: unique names, references to sites, node
types and companies, contract and loan dates, and the power fit of deployments into MW."""
from __future__ import annotations

import datetime as dt

from .schema import Scenario
from .types import BYTES_PER_JOB, HOURS_PER_YEAR, MAX_FLEET_GPUS, jobs_per_replica_limit, schedule_steps


# merger and company inputs that sim.plan reads: they change the fleet the engine runs
PLANNED_KEYS = ("roadmap", "refresh", "procurement_lead_time", "convert_legacy_loads", "delivery_delay",
                "merger.into", "merger.members")


def _unique(items, what: str) -> str | None:
    seen = set()
    for i, item in enumerate(items):
        if item.name in seen:
            return f"{what}[{i}].name: duplicate name {item.name!r}"
        seen.add(item.name)
    return None


def _ref(value, names, where: str, what: str) -> str | None:
    if value not in names:
        return f"{where}: unknown {what} {value!r} (expected one of {', '.join(sorted(names))})"
    return None


def _level_at(steps: list[tuple[dt.date, float]], day: dt.date) -> float:
    level = 0.0
    for when, value in steps:
        if when <= day:
            level = value
    return level


def cross_check(s: Scenario) -> str | None:
    """The first cross-reference problem of a validated scenario, or None."""
    problems = cross_problems(s)
    return problems[0] if problems else None


def cross_problems(s: Scenario) -> list[str]:
    """Every cross-reference problem of a validated scenario, in file order (the power fit,
    which needs the references right, only when there is no other)."""
    for items, what in ((s.companies, "companies"), (s.sites, "sites"), (s.node_types, "node_types"),
                        (s.tenants, "tenants")):
        if problem := _unique(items, what):
            return [problem]
    for i, c in enumerate(s.companies):
        if problem := _unique(c.debt, f"companies[{i}].debt"):
            return [problem]
    companies = {c.name for c in s.companies}
    sites = {x.name for x in s.sites}
    node_types = {n.name for n in s.node_types}
    sharing = {n.name for n in s.node_types if n.gpu_sharing}
    checks = []
    for i, site in enumerate(s.sites):
        checks.append(_ref(site.owner, companies, f"sites[{i}].owner", "company"))
    for i, d in enumerate(s.deployments):
        checks.append(_ref(d.site, sites, f"deployments[{i}].site", "site"))
        checks.append(_ref(d.node_type, node_types, f"deployments[{i}].node_type", "node type"))
        if d.owner is not None:
            checks.append(_ref(d.owner, companies, f"deployments[{i}].owner", "company"))
    for i, t in enumerate(s.tenants):
        checks.append(_ref(t.provider, companies, f"tenants[{i}].provider", "company"))
        if t.reservation:
            checks.append(_ref(t.reservation.node_type, node_types, f"tenants[{i}].reservation.node_type", "node type"))
            if t.reservation.node_type in sharing:
                checks.append(f"tenants[{i}].reservation.node_type: {t.reservation.node_type!r} shares GPUs "
                              f"(gpu_sharing: true); reservations hold whole GPUs of a node type without sharing")
            if t.reservation.site is not None:
                checks.append(_ref(t.reservation.site, sites, f"tenants[{i}].reservation.site", "site"))
        if t.workload:
            checks.append(_ref(t.workload.node_type, node_types, f"tenants[{i}].workload.node_type", "node type"))
            w = t.workload
            checks.append(_ref(w.tier, {c.name for c in s.scheduler.classes}, f"tenants[{i}].workload.tier",
                               "priority class (scheduler.classes)"))
            if w.end and w.end <= (w.start or s.start):
                checks.append(f"tenants[{i}].workload.end: {w.end} is not after the workload's start")
            if w.trace is not None:
                continue
            asks = [k for k, given in (("gpus", w.shares_gpus), ("cpu_cores", w.cpu_cores), ("memory_gib", w.memory_gib))
                    if given]
            if asks and w.node_type in node_types and w.node_type not in sharing:
                what = "a share of one GPU" if asks[0] == "gpus" else asks[0]
                checks.append(f"tenants[{i}].workload.{asks[0]}: asks for {what}, but node type {w.node_type!r} does "
                              f"not share GPUs (set gpu_sharing: true on it)")
            window_h = s.horizon_h - max(0.0, s.hours_from_start(w.start or s.start))
            jobs = w.arrival_rate_per_h * max(1.0, (1 + w.growth_per_year) ** (s.horizon_h / HOURS_PER_YEAR)) * window_h
            limit = jobs_per_replica_limit()
            if jobs > limit:
                checks.append(f"tenants[{i}].workload.arrival_rate_per_h: about {jobs:,.0f} jobs per replica "
                              f"(about {jobs * BYTES_PER_JOB / 2**30:,.1f} GiB), more than the {limit:,} this "
                              f"machine's memory holds")
    gpus = 0
    for i, d in enumerate(s.deployments):
        gpus += d.nodes * s.node_type(d.node_type).gpus_per_node if d.node_type in node_types else 0
        if gpus > MAX_FLEET_GPUS:
            checks.append(f"deployments[{i}].nodes: the fleet reaches {gpus:,} GPUs, more than the "
                          f"{MAX_FLEET_GPUS:,} this tool simulates")
            break
    for i, h in enumerate(s.hosting_contracts):
        checks.append(_ref(h.host, companies, f"hosting_contracts[{i}].host", "company"))
        checks.append(_ref(h.client, companies, f"hosting_contracts[{i}].client", "company"))
        checks.append(_ref(h.site, sites, f"hosting_contracts[{i}].site", "site"))
        if h.host == h.client:
            checks.append(f"hosting_contracts[{i}].client: host and client are the same company {h.host!r}")
        if h.contract_mw is not None:
            for day, mw in schedule_steps(h.billable_mw, h.start or s.start):
                if mw > h.contract_mw * (1 + 1e-9):
                    when = f"[{day}]" if isinstance(h.billable_mw, dict) else ""
                    checks.append(f"hosting_contracts[{i}].billable_mw{when}: the ramp reaches {mw:g} MW, beyond "
                                  f"contract_mw {h.contract_mw:g}")
                    break
        if h.renewals_exercised > len(h.renewal_options):
            checks.append(f"hosting_contracts[{i}].renewals_exercised: {h.renewals_exercised} exercised but only "
                          f"{len(h.renewal_options)} renewal_options")
    if s.merger:
        checks.append(_ref(s.merger.into, companies, "merger.into", "company"))
        for j, m in enumerate(s.merger.members):
            checks.append(_ref(m, companies, f"merger.members[{j}]", "company"))
        if len(set(s.merger.members)) != len(s.merger.members):
            checks.append("merger.members: a company is listed twice")
        if s.merger.into not in s.merger.members:
            checks.append(f"merger.into: {s.merger.into!r} must be one of merger.members")
        offer = s.merger.offer
        if offer is not None and (offer.target not in s.merger.members or offer.target == s.merger.into):
            checks.append(f"merger.offer.target: {offer.target!r} must be a member other than the buyer "
                          f"{s.merger.into!r}")
    for i, b in enumerate(s.breakevens):
        if not (b.path.startswith("merger.") or b.path.startswith("companies[")):
            checks.append(f"breakevens[{i}].path: {b.path!r} is not a money input under merger or companies (the "
                          f"engine's records are reused at every value tried)")
        elif any(key in b.path for key in PLANNED_KEYS):
            checks.append(f"breakevens[{i}].path: {b.path!r} changes the fleet's plan (what GPUs the engine runs), "
                          f"not money only")
    checks += _fleet_and_market_problems(s, companies, sites, node_types)
    for i, m in enumerate(s.maintenance):
        checks.append(_ref(m.site, sites, f"maintenance[{i}].site", "site"))
        if m.node_type is not None:
            checks.append(_ref(m.node_type, node_types, f"maintenance[{i}].node_type", "node type"))
    for i, c in enumerate(s.companies):
        for j, loan in enumerate(c.debt):
            if loan.maturity <= (loan.start or s.start):
                checks.append(f"companies[{i}].debt[{j}].maturity: {loan.maturity} is not after the loan's start")
        floating = [f"debt[{j}].rate" for j, loan in enumerate(c.debt) if not isinstance(loan.rate, float)]
        if c.gpu_financing is not None and not isinstance(c.gpu_financing.rate, float):
            floating.append("gpu_financing.rate")
        if floating and c.sofr is None:
            checks.append(f"companies[{i}].{floating[0]}: a floating rate (sofr_plus) needs companies[{i}].sofr")
    problems = [problem for problem in checks if problem]
    if problems:
        return problems
    fit = power_fit(s)
    return [fit] if fit else []


def _fleet_and_market_problems(s: Scenario, companies, sites, node_types) -> list[str | None]:
    """Retirement dates, roadmaps, conversions into sites, market prices and signings."""
    checks = []
    for i, d in enumerate(s.deployments):
        retire = s.deployment_retire(d) if d.node_type in node_types else None
        if retire is not None and retire <= s.deployment_start(d):
            checks.append(f"deployments[{i}].retire: {retire} is not after the deployment's start")
    for i, c in enumerate(s.companies):
        for j, step in enumerate(c.roadmap):
            checks.append(_ref(step.node_type, node_types, f"companies[{i}].roadmap[{j}].node_type", "node type"))
    priced = {p.node_type for p in s.market.prices}
    for i, p in enumerate(s.market.prices):
        checks.append(_ref(p.node_type, node_types, f"market.prices[{i}].node_type", "node type"))
    if len(priced) != len(s.market.prices):
        checks.append("market.prices: a node type is priced twice")
    tenant_names = {t.name for t in s.tenants}
    for i, g in enumerate(s.market.signings):
        where = f"market.signings[{i}]"
        checks.append(_ref(g.provider, companies, f"{where}.provider", "company"))
        checks.append(_ref(g.node_type, node_types, f"{where}.node_type", "node type"))
        if g.node_type not in priced:
            checks.append(f"{where}.node_type: no market.prices entry for {g.node_type!r} (signings pay the market)")
        if g.name in tenant_names:
            checks.append(f"{where}.name: {g.name!r} is already a tenant's name")
        tenant_names.add(g.name)
        if g.end and g.end <= (g.start or s.start):
            checks.append(f"{where}.end: {g.end} is not after the signings' start")
    for i, t in enumerate(s.tenants):
        if t.workload is not None and t.workload.market_premium is not None and t.workload.node_type not in priced:
            checks.append(f"tenants[{i}].workload.market_premium: no market.prices entry for "
                          f"{t.workload.node_type!r} (it prices the jobs)")
        r = t.reservation
        if r is None or r.renewal is None:
            continue
        if r.node_type not in priced:
            checks.append(f"tenants[{i}].reservation.renewal: no market.prices entry for {r.node_type!r} "
                          f"(a renewal pays the market)")
        if f"{t.name}_renewal" in tenant_names:
            checks.append(f"tenants[{i}].reservation.renewal: the renewal's tenant name {t.name}_renewal is taken")
    for name in (s.paths.tenant_default_per_year if s.paths else {}):
        checks.append(_ref(name, tenant_names, f"paths.tenant_default_per_year.{name}", "tenant"))
    roadmaps = {c.name for c in s.companies if c.roadmap}
    for i, site in enumerate(s.sites):
        for j, load in enumerate(site.legacy_loads):
            conv = s.conversion_of(site, load)
            where = ("merger.convert_legacy_loads" if conv is not load.conversion
                     else f"sites[{i}].legacy_loads[{j}].conversion")
            if conv is None or conv.into_site is None:
                continue
            checks.append(_ref(conv.into_site, sites, f"{where}.into_site", "site"))
            owner = s.owner_of(site.owner)
            if conv.use == "gpus" and conv.fill == "at_once" and owner not in roadmaps:
                checks.append(f"{where}.use: gpus needs a roadmap for {owner!r} (companies[].roadmap: the SKU it "
                              f"buys)")
    return checks


def power_fit(s: Scenario) -> str | None:
    """Every deployment's node max power must fit its site's critical-IT MW at every date."""
    for site in s.sites:
        tranches = schedule_steps(site.critical_it_mw, s.start)
        deps = [(i, d) for i, d in enumerate(s.deployments) if d.site == site.name]
        dates = sorted({s.deployment_start(d) for _, d in deps} | {when for when, _ in tranches})
        for day in dates:
            online = [(i, d) for i, d in deps if s.in_service(d, day)]
            if not online:
                continue
            need_mw = sum(d.nodes * s.node_type(d.node_type).node_max_w for _, d in online) / 1e6
            have_mw = _level_at(tranches, day)
            if need_mw > have_mw * (1 + 1e-9):
                i, d = online[-1]
                return (f"deployments[{i}]: nodes at site {site.name!r} need {need_mw:.3f} MW of critical IT "
                        f"on {max(day, s.start)} but the site has {have_mw:g} MW online then "
                        f"(sites[{s.sites.index(site)}].critical_it_mw)")
    return None
