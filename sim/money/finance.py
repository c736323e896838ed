"""Monthly statements per company and variant: revenue by kind, SLA credits, hosting fees,
energy, opex, EBITDA, depreciation, capex, free cash flow, debt service, DSCR,
loan-to-collateral, covenant breaches and NPV.

Conventions (sim/money/contracts.py states those of tenant and hosting contracts and legacy loads):
- Amounts in USD, positive numbers; costs are subtracted where they are used. Months are the
  calendar months of the horizon; rates per month or year accrue by the hour.
- GPU energy is paid by the GPUs' owner when the site's hosting contract passes power through
  (or there is none), by the site's owner when power is included. Site opex: the site's owner,
  per kW-month of its critical IT online. Company opex: a fixed amount a year, plus a rate per
  MW of critical IT (node max power) of the GPUs it owns once they are online.
- EBITDA = revenue (reserved - SLA credits + on-demand + spot + legacy + converted) + hosting
  fees received - hosting fees paid - energy - legacy energy - site opex - opex + synergies
  - integration cost.
- Capex falls in the month a deployment starts, if that is within the horizon (earlier GPUs are
  sunk); depreciation is straight-line over the node type's life, monthly from the month the
  deployment starts, sunk GPUs included. Resale (collateral) value: capex x (1 -
  gpu_resale_decline_per_year of the owner) ^ (age in years at the month's end).
- Retirement (sim.plan.fleet): in the month a deployment retires its GPUs are sold at their
  resale value (capex x (1 - decline) ^ (whole months of age / 12), `resale_proceeds_usd`, in
  free cash flow), depreciation stops and the gain or loss against book value (capex less the
  depreciation booked) is `retirement_gain_usd` (not cash, not in EBITDA); from then on they
  are no collateral (a borrowing base then calls their loans) and pay no opex per MW.
- Finance keeps the configured dates; only hosting billing follows delivery delays (the engine
  brings late GPUs online late, so the reservations they miss show as SLA credits).
- Free cash flow (unlevered) = EBITDA + prepayments received - prepayments applied - capex
  (GPUs, fit-out, conversion, sites: `site_capex_usd`, a site's `capex_usd` by date, which
  plans fill with exercised expansions) + resale proceeds + fit-out recovered by netting (client) - fit-out netted (host).
  Cash to equity = free cash flow + borrowing - interest - principal.
- Loans: `principal_usd` is outstanding at the later of the loan start and the scenario start
  (borrowed then when a start inside the horizon is given). Amortizing loans pay a level monthly
  annuity to maturity; bullet loans pay interest monthly and principal at maturity. Floating
  rates are the company's `sofr` plus the spread, flat over the horizon. GPU financing: ltv x
  capex borrowed at each deployment's start, amortizing over its term, secured on those GPUs.
- DSCR: trailing-twelve-month EBITDA (before one-off integration cost) over interest plus
  scheduled amortization; bullet repayments are assumed refinanced and left out.
  Loan-to-collateral: GPU-secured debt (GPU financing, loans marked gpu_collateral) over the
  resale value of the company's GPUs. A month is in breach when DSCR < min_dscr or
  loan-to-collateral > max_loan_to_collateral. What lenders then do (borrowing base, cash
  sweep, default) is in sim/money/debt.py.
- NPV: monthly free cash flow discounted at the company's rate to the scenario start, end of
  month, no terminal value; npv_with_terminal_usd adds the terminal value, IRR and payback
  follow (conventions in sim/money/valuation.py).
- Merged: the members become one row (`into`: its discount rate and covenants). Hosting between
  members is intercompany: booked on both sides, checked to net to zero, left out of EBITDA; a
  fit-out within one company is its own capex, without netting.
- Metrics: revenue_usd is revenue from outside the modelled companies (tenants, legacy loads,
  converted capacity); revenue_usd[company] adds the hosting fees it receives. hosting_fees_usd:
  fees paid between companies that are not merged. min_dscr, max_loan_to_collateral and
  covenant_breach_months cover every company, and each one in [brackets].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config.schema import Scenario
from ..config.types import HOURS_PER_YEAR, schedule_steps
from ..engine.delays import contract_delays_h
from ..errors import InvariantError
from ..metering.accounting import VariantAccount
from .contracts import (
    HOURS_PER_MONTH,
    Grid,
    book_hosting,
    book_legacy,
    book_tenants,
)
from .debt import loan_schedules, months_between, run_debt
from .valuation import company_values, discount_factors, irr, payback_years

__all__ = ["HOURS_PER_MONTH", "LINES", "Statements", "contract_lines", "lines_before_debt", "month_grid", "statements",
           "statements_after_debt"]

REVENUE = ("revenue_reserved_usd", "revenue_on_demand_usd", "revenue_spot_usd", "revenue_legacy_usd",
           "revenue_converted_usd")
LINES = (*REVENUE[:1], "sla_credits_usd", *REVENUE[1:], "hosting_fees_received_usd", "hosting_fees_paid_usd",
         "intercompany_fees_received_usd", "intercompany_fees_paid_usd", "energy_usd", "legacy_energy_usd",
         "site_opex_usd", "opex_usd", "synergies_usd", "integration_cost_usd", "ebitda_usd", "depreciation_usd",
         "capex_usd", "resale_proceeds_usd", "retirement_gain_usd", "fitout_capex_usd", "conversion_capex_usd",
         "site_capex_usd", "fitout_recovered_usd", "fitout_netted_usd",
         "prepayments_received_usd", "prepayments_applied_usd", "fcf_usd", "borrowing_usd", "interest_usd",
         "principal_usd", "cash_to_equity_usd", "debt_outstanding_usd", "gpu_secured_debt_usd",
         "collateral_value_usd", "loan_to_collateral", "dscr_ttm", "covenant_breach", "forced_paydown_usd",
         "cash_swept_usd", "cash_usd", "defaulted", "loss_given_default_usd")


@dataclass
class Statements:
    companies: list[str]
    lines: dict[str, np.ndarray]   # line -> (replicas, companies, months)
    metrics: dict[str, np.ndarray]  # metric -> (replicas,)


def month_grid(s: Scenario, acct: VariantAccount) -> Grid:
    companies = list(dict.fromkeys(s.owner_of(c.name) for c in s.companies))
    row = {c.name: companies.index(s.owner_of(c.name)) for c in s.companies}
    edges = [max(0, int(s.hours_from_start(m))) for m in acct.month_starts] + [s.n_hours]
    return Grid(s.n_hours, np.asarray(edges, dtype=np.int64), companies, row)


def contract_lines(s: Scenario, acct: VariantAccount, runs=None) -> dict[str, np.ndarray]:
    """The lines of tenants, hosting contracts and legacy loads: they read no company's money
    terms (rates, opex, debt) nor the merger's price, so a breakeven over those reuses them."""
    R = next(iter(acct.metrics.values())).shape[0]
    g = month_grid(s, acct)
    L = {line: np.zeros((R, len(g.companies), g.M)) for line in LINES}
    draws = None if runs is None else [(run.seed, run.replica) for run in runs]
    book_tenants(s, acct, g, L, draws or [(s.seed, k) for k in range(R)])
    book_hosting(s, g, L, contract_delays_h(s, draws, R))
    if np.abs(L["intercompany_fees_received_usd"].sum(axis=1) - L["intercompany_fees_paid_usd"].sum(axis=1)).max() \
            > 1e-6:
        raise InvariantError("intercompany hosting fees do not net to zero")
    book_legacy(s, g, L)
    return L


def statements(s: Scenario, acct: VariantAccount, runs=None, contracts: dict | None = None) -> Statements:
    """A variant's monthly statements. `runs` (the replicas' RunResults) gives the delivery
    delays their engine used; without it hosting is billed on the configured dates.
    `contracts`: `contract_lines` already made for these replicas (copied, not changed)."""
    g, L = lines_before_debt(s, acct, runs, contracts)
    run_debt(s, g, L, loan_schedules(s, acct.month_starts[0], g))
    return statements_after_debt(s, g, L)


def lines_before_debt(s: Scenario, acct: VariantAccount, runs=None, contracts: dict | None = None) -> tuple:
    """(month grid, lines through free cash flow): every line but the debt's."""
    H = s.n_hours
    g = month_grid(s, acct)
    L = {k: v.copy() for k, v in (contracts if contracts is not None else contract_lines(s, acct, runs)).items()}
    _book_fleet(s, acct, g, L)
    _book_sites_and_companies(s, g, L)
    if s.merger:
        into = g.row[s.merger.into]
        ramp_h = s.merger.synergy_ramp_years * HOURS_PER_YEAR
        share = np.minimum(np.arange(H) / ramp_h, 1.0) if ramp_h > 0 else np.ones(H)
        L["synergies_usd"][:, into] += g.to_month(share * s.merger.synergy_usd_per_year / HOURS_PER_YEAR)
        L["integration_cost_usd"][:, into, 0] += s.merger.integration_cost_usd

    L["ebitda_usd"] = (sum(L[k] for k in REVENUE) - L["sla_credits_usd"] + L["hosting_fees_received_usd"]
                       - L["hosting_fees_paid_usd"] - L["energy_usd"] - L["legacy_energy_usd"] - L["site_opex_usd"]
                       - L["opex_usd"] + L["synergies_usd"] - L["integration_cost_usd"])
    L["fcf_usd"] = (L["ebitda_usd"] + L["prepayments_received_usd"] - L["prepayments_applied_usd"] - L["capex_usd"]
                    + L["resale_proceeds_usd"] - L["fitout_capex_usd"] - L["conversion_capex_usd"] - L["site_capex_usd"] + L["fitout_recovered_usd"]
                    - L["fitout_netted_usd"])
    return g, L


def statements_after_debt(s: Scenario, g: Grid, L: dict) -> Statements:
    """The statements from lines with the debt's booked: cash to equity and the metrics."""
    L["cash_to_equity_usd"] = L["fcf_usd"] + L["borrowing_usd"] - L["interest_usd"] - L["principal_usd"]
    return Statements(g.companies, L, _metrics(s, g, L))


def _book_fleet(s: Scenario, acct: VariantAccount, g: Grid, L: dict) -> None:
    """GPU energy, capex, depreciation, resale value and opex per MW, per deployment."""
    company = {c.name: c for c in s.companies}
    power_included = {(h.site, h.client) for h in s.hosting_contracts if h.power == "included"}
    months = np.arange(g.M)
    for d, dep in enumerate(s.deployments):
        owner = s.configured_owner(dep)                          # as configured: its terms apply
        c = g.row[owner]
        payer = s.site(dep.site).owner if (dep.site, owner) in power_included else owner
        L["energy_usd"][:, g.row[payer]] += acct.by_deployment["energy_cost_usd"][:, d]
        nt = s.node_type(dep.node_type)
        capex = dep.nodes * nt.gpus_per_node * nt.capex_usd_per_gpu
        start = s.deployment_start(dep)
        m0 = months_between(acct.month_starts[0], start)
        if start >= s.start and m0 < g.M:
            L["capex_usd"][:, c, m0] += capex
        retire = s.deployment_retire(dep)
        m_retire = months_between(acct.month_starts[0], retire) if retire is not None else g.M + 10 ** 6
        life = int(round(nt.depreciation_years * 12))
        lo, hi = max(m0, 0), min(m0 + life, m_retire, g.M)
        if hi > lo:
            L["depreciation_usd"][:, c, lo:hi] += capex / life
        age_years = (months - m0 + 1) / 12
        decline = company[owner].gpu_resale_decline_per_year
        L["collateral_value_usd"][:, c] += np.where((months >= m0) & (months < m_retire),
                                                    capex * (1 - decline) ** np.maximum(age_years, 0), 0)
        if 0 <= m_retire < g.M:   # sold at resale value; the gain or loss against book value
            proceeds = capex * (1 - decline) ** ((m_retire - m0) / 12)
            book = capex - capex / life * min(life, m_retire - m0)
            L["resale_proceeds_usd"][:, c, m_retire] += proceeds
            L["retirement_gain_usd"][:, c, m_retire] += proceeds - book
        mw = dep.nodes * nt.node_max_w / 1e6
        in_service = g.window(s.hours_from_start(start), s.retire_h(dep))
        L["opex_usd"][:, c] += g.to_month(in_service) * mw * company[owner].opex_usd_per_mw_year / HOURS_PER_YEAR


def _book_sites_and_companies(s: Scenario, g: Grid, L: dict) -> None:
    hours = np.arange(g.H, dtype=np.float64)
    for site in s.sites:
        it_mw = np.zeros(g.H)
        for day, level in schedule_steps(site.critical_it_mw, s.start):   # sorted by date
            it_mw[hours >= s.hours_from_start(day)] = level
        L["site_opex_usd"][:, g.row[site.owner]] += g.to_month(it_mw) * 1000 * site.opex_usd_per_kw_month \
            / HOURS_PER_MONTH
        for day, usd in site.capex_usd.items():   # build capex (exercised expansions), within the horizon
            if 0 <= s.hours_from_start(day) < g.H:
                L["site_capex_usd"][:, g.row[site.owner], g.month_of(s.hours_from_start(day))] += usd
    for c in s.companies:
        L["opex_usd"][:, g.row[c.name]] += g.to_month(np.full(g.H, c.opex_usd_per_year / HOURS_PER_YEAR))


# ---------------------------------------------------------------- ratios, NPV, metrics

def _metrics(s: Scenario, g: Grid, L: dict) -> dict[str, np.ndarray]:
    company = {c.name: c for c in s.companies}
    owners = [company[name] for name in g.companies]
    discount = discount_factors([o.discount_rate for o in owners], g.M)
    npv = (L["fcf_usd"] * discount).sum(axis=2)                        # (R, C)
    values = company_values(s, g.companies, L)
    whole = L["fcf_usd"].sum(axis=1)                                   # every company's flows, (R, M)
    whole_tv = whole.copy()
    whole_tv[:, -1] += values["terminal_value_usd"].sum(axis=1)
    external = sum(L[k] for k in REVENUE) - L["sla_credits_usd"]        # (R, C, M)
    per_company = {
        "revenue_usd": (external + L["hosting_fees_received_usd"]).sum(axis=2),
        "ebitda_usd": L["ebitda_usd"].sum(axis=2),
        "fcf_usd": L["fcf_usd"].sum(axis=2),
        "npv_usd": npv,
        **values,
        "min_dscr": _nan_reduce(np.min, L["dscr_ttm"]),
        "max_loan_to_collateral": _nan_reduce(np.max, L["loan_to_collateral"]),
        "covenant_breach_months": L["covenant_breach"].sum(axis=2),
        "breach_probability": L["covenant_breach"].max(axis=2),
        "default_probability": L["defaulted"][:, :, -1],
        "default_loss_usd": L["loss_given_default_usd"].sum(axis=2),
        "forced_paydown_usd": L["forced_paydown_usd"].sum(axis=2),
        "cash_swept_usd": L["cash_swept_usd"].sum(axis=2),
    }
    metrics = {
        "revenue_usd": external.sum(axis=(1, 2)),
        "sla_credits_usd": L["sla_credits_usd"].sum(axis=(1, 2)),
        "hosting_fees_usd": L["hosting_fees_paid_usd"].sum(axis=(1, 2)),
        "ebitda_usd": per_company["ebitda_usd"].sum(axis=1),
        "fcf_usd": per_company["fcf_usd"].sum(axis=1),
        "npv_usd": npv.sum(axis=1),
        "terminal_value_usd": values["terminal_value_usd"].sum(axis=1),
        "npv_with_terminal_usd": values["npv_with_terminal_usd"].sum(axis=1),
        "irr": irr(whole_tv),
        "payback_years": payback_years(whole),
        "min_dscr": _nan_reduce(np.min, per_company["min_dscr"]),
        "max_loan_to_collateral": _nan_reduce(np.max, per_company["max_loan_to_collateral"]),
        "covenant_breach_months": per_company["covenant_breach_months"].sum(axis=1),
        "breach_probability": per_company["breach_probability"].max(axis=1),
        "default_probability": per_company["default_probability"].max(axis=1),
        "default_loss_usd": per_company["default_loss_usd"].sum(axis=1),
        "forced_paydown_usd": per_company["forced_paydown_usd"].sum(axis=1),
        "cash_swept_usd": per_company["cash_swept_usd"].sum(axis=1),
    }
    for c, name in enumerate(g.companies):
        for metric, values in per_company.items():
            metrics[f"{metric}[{name}]"] = values[:, c]
    return metrics


def _nan_reduce(reduce, a: np.ndarray) -> np.ndarray:
    """min or max over the last axis ignoring nan; nan where a row has no value (no debt)."""
    fill = np.inf if reduce is np.min else -np.inf
    out = reduce(np.where(np.isnan(a), fill, a), axis=-1)
    return np.where(np.isinf(out), np.nan, out)
