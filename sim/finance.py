"""Monthly statements per company: revenue, hosting fees, energy, opex, EBITDA,
capex, depreciation, debt service, DSCR and NPV.

Conventions (stated once, used everywhere):
- Amounts in USD, positive numbers; costs are subtracted where they are used.
- Fees, opex and synergies accrue by the hour (a kW-month is 730 hours), so
  partial months are prorated exactly.
- Reserved revenue is take-or-pay: the contracted GPU-hours are billed whatever
  the tenant uses; reserved GPU-hours the provider failed to deliver are
  credited back (`sla_credits_usd`). On-demand and spot revenue is GPU-hours
  used times price.
- Energy is paid by the GPU owner when the site's hosting contract passes power
  through (or there is none), by the site's owner when power is included.
- Capex falls in the month a deployment starts, if that is within the
  horizon; depreciation is straight-line from the deployment start.
- Loans: `principal_usd` is outstanding at the later of the loan start and the
  scenario start. Amortizing loans pay a level monthly annuity to maturity;
  bullet loans pay interest monthly and principal at maturity. DSCR is
  trailing-twelve-month EBITDA (before one-off integration cost) over interest
  plus scheduled amortization; bullet repayments are assumed refinanced and left
  out of DSCR.
- NPV: monthly unlevered free cash flow (EBITDA - capex) discounted at the
  company's rate to the scenario start, end of month, no terminal value.
- Merged: hosting between merger members is intercompany. It is booked on
  both sides, must net to zero (checked), and is excluded from EBITDA.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .accounting import VariantAccount, reservation_target_intervals
from .config import HOURS_PER_YEAR, Loan, Scenario, schedule_steps
from .fleet import InvariantError

HOURS_PER_MONTH = HOURS_PER_YEAR / 12

LINES = ("revenue_reserved_usd", "sla_credits_usd", "revenue_on_demand_usd", "hosting_fees_received_usd",
         "hosting_fees_paid_usd", "intercompany_fees_received_usd", "intercompany_fees_paid_usd",
         "energy_usd", "site_opex_usd", "opex_usd", "synergies_usd", "integration_cost_usd", "ebitda_usd",
         "capex_usd", "depreciation_usd", "interest_usd", "principal_usd", "fcf_usd", "debt_outstanding_usd",
         "dscr_ttm")


@dataclass
class Statements:
    companies: list[str]
    lines: dict[str, np.ndarray]   # line -> (replicas, companies, months)
    metrics: dict[str, np.ndarray]  # metric -> (replicas,)


def _step_hourly(steps: list[tuple[float, float]], n_hours: int) -> np.ndarray:
    """Hourly level of a step schedule given as (start hour, level) pairs."""
    level = np.zeros(n_hours)
    for start_h, value in sorted(steps):
        level[int(max(0.0, min(start_h, n_hours))):] = value
    return level


def _window(n_hours: int, start_h: float, end_h: float) -> np.ndarray:
    h = np.arange(n_hours, dtype=np.float64)
    return ((h >= start_h) & (h < end_h)).astype(np.float64)


def loan_schedule(principal: float, annual_rate: float, months: int, amortizing: bool):
    """(interest, principal) per month for `months` months."""
    r = annual_rate / 12
    interest, repay = np.zeros(months), np.zeros(months)
    balance = principal
    if amortizing:
        payment = principal / months if r == 0 else principal * r / (1 - (1 + r) ** -months)
        for m in range(months):
            interest[m] = balance * r
            repay[m] = payment - interest[m] if m < months - 1 else balance
            balance -= repay[m]
    else:
        interest[:] = principal * r
        repay[-1] = principal
    return interest, repay


def _months_between(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month)


def statements(s: Scenario, acct: VariantAccount) -> Statements:
    H, M = s.n_hours, len(acct.month_starts)
    R = next(iter(acct.metrics.values())).shape[0]
    months = np.searchsorted([s.hours_from_start(m) for m in acct.month_starts], np.arange(H), side="right") - 1
    to_month = lambda hourly: np.bincount(months, weights=hourly, minlength=M)
    companies = []
    for c in s.companies:
        if s.owner_of(c.name) not in companies:
            companies.append(s.owner_of(c.name))
    C = len(companies)
    ci = {name: companies.index(s.owner_of(name)) for name in (c.name for c in s.companies)}
    L = {line: np.zeros((R, C, M)) for line in LINES}

    # ---- tenant revenue and SLA credits
    for a, b, gpus, t in reservation_target_intervals(s):
        tenant = s.tenants[t]
        c = ci[tenant.provider]
        L["revenue_reserved_usd"][:, c] += to_month(_window(H, a, b) * gpus) * tenant.reservation.price_usd_per_gpu_hour
    for t, tenant in enumerate(s.tenants):
        c = ci[tenant.provider]
        if tenant.reservation:
            L["sla_credits_usd"][:, c] += acct.monthly["shortfall_gpu_h"][:, t] * tenant.reservation.price_usd_per_gpu_hour
        if tenant.workload:
            L["revenue_on_demand_usd"][:, c] += acct.monthly["jobs_gpu_h"][:, t] * tenant.workload.price_usd_per_gpu_hour

    # ---- hosting contracts
    power_included = set()
    for h in s.hosting_contracts:
        start = h.start or s.start
        a = s.hours_from_start(start)
        hours = np.arange(H, dtype=np.float64)
        mw = _step_hourly([(s.hours_from_start(max(d, start)), v) for d, v in schedule_steps(h.billable_mw, start)], H)
        escalation = (1 + h.escalator_per_year) ** np.floor(np.maximum(hours - a, 0) / HOURS_PER_YEAR)
        fee = to_month(mw * 1000 * h.fee_usd_per_kw_month / HOURS_PER_MONTH * escalation * _window(H, a, a + h.term))
        host, client = ci[h.host], ci[h.client]
        kind = "intercompany_fees" if host == client else "hosting_fees"
        L[f"{kind}_received_usd"][:, host] += fee
        L[f"{kind}_paid_usd"][:, client] += fee
        if h.power == "included":
            power_included.add((h.site, h.client))
    if np.abs(L["intercompany_fees_received_usd"].sum(axis=1) - L["intercompany_fees_paid_usd"].sum(axis=1)).max() > 1e-6:
        raise InvariantError("intercompany hosting fees do not net to zero")

    # ---- energy, site opex, company opex, capex, depreciation
    for d, dep in enumerate(s.deployments):
        owner = dep.owner or s.site(dep.site).owner
        payer = s.site(dep.site).owner if (dep.site, owner) in power_included else owner
        L["energy_usd"][:, ci[payer]] += acct.monthly["energy_cost_usd"][:, d]
        nt = s.node_type(dep.node_type)
        capex = dep.nodes * nt.gpus_per_node * nt.capex_usd_per_gpu
        start = s.deployment_start(dep)
        m0 = _months_between(acct.month_starts[0], start)
        if 0 <= m0 < M and start >= s.start:
            L["capex_usd"][:, ci[owner], m0] += capex
        life = int(round(nt.depreciation_years * 12))
        lo, hi = max(m0, 0), min(m0 + life, M)
        if hi > lo:
            L["depreciation_usd"][:, ci[owner], lo:hi] += capex / life
    for site in s.sites:
        it_mw = _step_hourly([(s.hours_from_start(d), v) for d, v in schedule_steps(site.critical_it_mw, s.start)], H)
        L["site_opex_usd"][:, ci[site.owner]] += to_month(it_mw * 1000 * site.opex_usd_per_kw_month / HOURS_PER_MONTH)
    for c in s.companies:
        L["opex_usd"][:, ci[c.name]] += to_month(np.full(H, c.opex_usd_per_year / HOURS_PER_YEAR))

    # ---- merger synergies and integration cost
    if s.merger:
        into = ci[s.merger.into]
        ramp_h = s.merger.synergy_ramp_years * HOURS_PER_YEAR
        share = np.minimum(np.arange(H) / ramp_h, 1.0) if ramp_h > 0 else np.ones(H)
        L["synergies_usd"][:, into] += to_month(share * s.merger.synergy_usd_per_year / HOURS_PER_YEAR)
        L["integration_cost_usd"][:, into, 0] += s.merger.integration_cost_usd

    L["ebitda_usd"] = (L["revenue_reserved_usd"] - L["sla_credits_usd"] + L["revenue_on_demand_usd"]
                       + L["hosting_fees_received_usd"] - L["hosting_fees_paid_usd"] - L["energy_usd"]
                       - L["site_opex_usd"] - L["opex_usd"] + L["synergies_usd"] - L["integration_cost_usd"])

    # ---- debt
    scheduled = np.zeros((C, M))
    for c in s.companies:
        for loan in c.debt:
            _book_loan(s, loan, ci[c.name], acct.month_starts, L, scheduled)
    for dep in s.deployments:
        owner = next(c for c in s.companies if c.name == (dep.owner or s.site(dep.site).owner))
        if owner.gpu_financing is not None:
            _book_gpu_loan(s, dep, owner.gpu_financing, ci[owner.name], acct.month_starts, L, scheduled)
    L["fcf_usd"] = L["ebitda_usd"] - L["capex_usd"] - L["interest_usd"] - L["principal_usd"]

    # ---- DSCR (trailing twelve months) and NPV
    service = L["interest_usd"][0] + scheduled
    kernel = np.ones(12)
    ttm = lambda x: np.apply_along_axis(lambda row: np.convolve(row, kernel)[:M], -1, x)
    ttm_service = ttm(service)
    with np.errstate(divide="ignore", invalid="ignore"):
        adjusted = L["ebitda_usd"] + L["integration_cost_usd"]  # covenants exclude one-off costs
        dscr = np.where(ttm_service > 0, ttm(adjusted) / ttm_service, np.nan)
    L["dscr_ttm"] = dscr
    rates = np.array([next(c.discount_rate for c in s.companies if c.name == name) for name in companies])
    discount = (1 + rates[:, None]) ** (-(np.arange(M)[None, :] + 1) / 12)
    npv = ((L["ebitda_usd"] - L["capex_usd"]) * discount).sum(axis=2)   # (R, C)

    metrics = {
        "revenue_usd": (L["revenue_reserved_usd"] - L["sla_credits_usd"] + L["revenue_on_demand_usd"]).sum(axis=(1, 2)),
        "hosting_fees_usd": L["hosting_fees_paid_usd"].sum(axis=(1, 2)),
        "ebitda_usd": L["ebitda_usd"].sum(axis=(1, 2)),
        "npv_usd": npv.sum(axis=1),
        "min_dscr": _nanmin(dscr.reshape(R, -1)),
    }
    for c, name in enumerate(companies):
        metrics[f"ebitda_usd[{name}]"] = L["ebitda_usd"][:, c].sum(axis=1)
        metrics[f"npv_usd[{name}]"] = npv[:, c]
        metrics[f"min_dscr[{name}]"] = _nanmin(dscr[:, c])
    return Statements(companies, L, metrics)


def _nanmin(a: np.ndarray) -> np.ndarray:
    """Row minimum ignoring nan; nan where a row has no value (no debt)."""
    filled = np.where(np.isnan(a), np.inf, a).min(axis=-1)
    return np.where(np.isinf(filled), np.nan, filled)


def _book_loan(s: Scenario, loan: Loan, c: int, month_starts, L, scheduled) -> None:
    """A listed facility: principal outstanding from max(loan start, scenario start)."""
    first = max(loan.start or s.start, s.start)
    m0 = _months_between(month_starts[0], first)
    n = _months_between(first, loan.maturity)
    if n <= 0:
        return
    _book_schedule(loan.principal_usd, loan.rate, n, loan.amortization == "amortizing", m0, c, L, scheduled)


def _book_gpu_loan(s: Scenario, dep, fin, c: int, month_starts, L, scheduled) -> None:
    """ltv x capex borrowed at the deployment start, amortizing over the term; months before
    the scenario start are already paid."""
    nt = s.node_type(dep.node_type)
    principal = fin.ltv * dep.nodes * nt.gpus_per_node * nt.capex_usd_per_gpu
    n = max(1, int(round(fin.term / (HOURS_PER_YEAR / 12))))
    if principal > 0:
        m0 = _months_between(month_starts[0], s.deployment_start(dep))
        _book_schedule(principal, fin.rate, n, True, m0, c, L, scheduled)


def _book_schedule(principal, rate, n, amortizing, m0, c, L, scheduled) -> None:
    """Book an n-month schedule whose first month is m0 (may be negative) into L."""
    interest, repay = loan_schedule(principal, rate, n, amortizing)
    balance = principal - np.concatenate([[0.0], np.cumsum(repay)[:-1]])
    M = L["interest_usd"].shape[2]
    lo, hi = max(m0, 0), min(m0 + n, M)
    if hi <= lo:
        return
    span = slice(lo - m0, hi - m0)
    L["interest_usd"][:, c, lo:hi] += interest[span]
    L["principal_usd"][:, c, lo:hi] += repay[span]
    L["debt_outstanding_usd"][:, c, lo:hi] += balance[span]
    if amortizing:
        scheduled[c, lo:hi] += repay[span]
