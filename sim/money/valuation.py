"""What the companies and the deal are worth: terminal value at the horizon, NPV with it, IRR
and payback, and the buyer's view of a merger against its standalone baseline.

Conventions (with those of `sim.money.finance`):
- Terminal value is each company's worth at the end of the last month (`terminal_value` of
  the company; a merged company uses `into`'s): an exit multiple of the last 12 months' EBITDA
  (before one-off integration cost), Gordon growth on the last 12 months' free cash flow
  (FCF x (1 + g) / (r - g)), or a price per MW of the critical IT (and converted legacy load)
  of the sites it owns at the horizon plus the resale value of the GPUs it owns then (a
  powered shell is priced without its GPUs; the two earnings-based methods value them through
  the cash they make). It is discounted with the last month's factor.
- IRR: the annual rate at which the NPV of monthly flows (end of month) is zero, found by
  Brent's method (scipy.optimize.brentq: a bracketing root finder that always converges where
  NPV changes sign) in [-99%, +1000%] a year; nan where NPV does not change sign there (flows
  that never turn negative have no rate of return). numpy-financial's `irr` takes the roots of
  a degree-M polynomial, which is slower and may pick a complex or spurious root.
- Payback: years from the scenario start until cumulative flows (without terminal value) are back
  at zero or above after having been negative (0 when they never go negative; nan when they do
  not recover within the horizon), at monthly resolution.
- The deal (buyer's view): the buyer's free cash flow merged minus its own standalone free cash
  flow, paired by replica, less the price and the members' debt it assumes at the start; with
  terminal values, the merged company's minus the buyer's standalone one at the horizon.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from ..config.schema import Scenario
from ..config.types import schedule_steps
from .contracts import HOURS_PER_MONTH

IRR_BRACKET = (-0.99, 10.0)


def discount_factors(rates: np.ndarray, months: int) -> np.ndarray:
    """(companies, months): end-of-month discounting at each company's annual rate."""
    return (1 + np.asarray(rates, np.float64)[:, None]) ** (-(np.arange(months)[None, :] + 1) / 12)


def owned_mw(s: Scenario, company: str) -> float:
    """MW of critical IT at the horizon of the sites `company` owns, with the critical IT of
    converted legacy loads that join no site."""
    end_h = s.horizon_h
    mw = 0.0
    for site in s.sites:
        if s.owner_of(site.owner) != company:
            continue
        steps = [level for day, level in schedule_steps(site.critical_it_mw, s.start)
                 if s.hours_from_start(day) <= end_h]
        mw += steps[-1] if steps else 0.0
        for load in site.legacy_loads:
            conv = s.conversion_of(site, load)
            if conv is not None and conv.into_site is None:   # else they are in that site's critical IT
                start_h = s.hours_from_start(conv.start)
                mw += load.mw / conv.pue_after * min(max((end_h - start_h) / (conv.months * HOURS_PER_MONTH), 0.0), 1.0)
    return mw


def terminal_values(s: Scenario, companies: list[str], lines: dict[str, np.ndarray]) -> np.ndarray:
    """(replicas, companies) terminal value at the horizon, undiscounted; 0 without a method."""
    by_name = {c.name: c for c in s.companies}
    R = lines["fcf_usd"].shape[0]
    out = np.zeros((R, len(companies)))
    last = slice(-12, None)
    for c, name in enumerate(companies):
        company = by_name[name]
        tv = company.terminal_value
        if tv is None:
            continue
        if tv.method == "exit_multiple":
            trailing = (lines["ebitda_usd"][:, c, last] + lines["integration_cost_usd"][:, c, last]).sum(axis=1)
            out[:, c] = tv.ebitda_multiple * trailing
        elif tv.method == "gordon":
            fcf = lines["fcf_usd"][:, c, last].sum(axis=1)
            out[:, c] = fcf * (1 + tv.growth) / (company.discount_rate - tv.growth)
        else:
            # the powered sites, and the GPUs in them at their resale value (a separate asset)
            out[:, c] = tv.usd_per_mw * owned_mw(s, name) + lines["collateral_value_usd"][:, c, -1]
    return out


def irr(flows: np.ndarray, first_month: int = 1) -> np.ndarray:
    """Annual IRR of monthly flows (..., months), the first at the end of month `first_month`
    (0: at the start); see the module's conventions."""
    flows = np.asarray(flows, np.float64)
    years = (np.arange(flows.shape[-1]) + first_month) / 12
    out = np.full(flows.shape[:-1], np.nan)
    lo, hi = IRR_BRACKET
    for idx in np.ndindex(out.shape):
        f = flows[idx]
        scale = np.abs(f).max()
        if not scale > 0:
            continue
        npv = lambda rate, f=f / scale: float((f * (1 + rate) ** -years).sum())
        a, b = npv(lo), npv(hi)
        if math.isfinite(a) and math.isfinite(b) and a * b < 0:
            out[idx] = brentq(npv, lo, hi, xtol=1e-12, rtol=1e-12)
    return out


def payback_years(flows: np.ndarray, first_month: int = 1) -> np.ndarray:
    """Years until cumulative monthly flows (..., months, the first at the end of month
    `first_month`) recover; see the module's conventions."""
    cumulative = np.cumsum(np.asarray(flows, np.float64), axis=-1)
    negative = cumulative < 0
    out = np.zeros(cumulative.shape[:-1])
    for idx in np.ndindex(out.shape):
        below = np.flatnonzero(negative[idx])
        if below.size == 0:
            continue
        if below[-1] == cumulative.shape[-1] - 1:
            out[idx] = np.nan
        else:
            out[idx] = (below[-1] + 1 + first_month) / 12   # the end of the month after the last one below zero
    return out


def _with_terminal(s: Scenario, companies: list[str], lines: dict[str, np.ndarray]):
    """Terminal values (replicas, companies), free cash flow with them in the last month, and
    its NPV at each company's rate."""
    by_name = {c.name: c for c in s.companies}
    discount = discount_factors([by_name[n].discount_rate for n in companies], lines["fcf_usd"].shape[2])
    tv = terminal_values(s, companies, lines)
    with_tv = lines["fcf_usd"].copy()
    with_tv[:, :, -1] += tv
    return tv, with_tv, (with_tv * discount).sum(axis=2)


def npv_with_terminal(s: Scenario, companies: list[str], lines: dict[str, np.ndarray]) -> np.ndarray:
    """(replicas, companies) NPV of free cash flow with the terminal value."""
    return _with_terminal(s, companies, lines)[2]


def company_values(s: Scenario, companies: list[str], lines: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per company (replicas, companies): terminal value, NPV with it, IRR and payback of free
    cash flow with the terminal value in the last month."""
    tv, with_tv, npv = _with_terminal(s, companies, lines)
    return {"terminal_value_usd": tv, "npv_with_terminal_usd": npv, "irr": irr(with_tv),
            "payback_years": payback_years(lines["fcf_usd"])}


def deal_metrics(merged_s: Scenario, merged, base_s: Scenario, base) -> dict[str, np.ndarray]:
    """The buyer's view of a merger, per replica, from both variants' statements (`merged`,
    `base`: companies and lines): deal NPV without and with terminal values (at the buyer's
    discount rate), the IRR of the deal's flows with terminal values, and their payback without
    (a terminal value is not cash the buyer gets back)."""
    deal = merged_s.merger
    into = deal.into
    mi, bi = merged.companies.index(into), base.companies.index(into)
    flows = merged.lines["fcf_usd"][:, mi] - base.lines["fcf_usd"][:, bi]          # (R, M)
    members = [base.companies.index(c) for c in deal.members if c != into and c in base.companies]
    assumed = sum(base.lines["debt_outstanding_usd"][:, c, 0] for c in members) if members else 0.0
    paid = deal.price_usd + assumed
    rate = next(c.discount_rate for c in merged_s.companies if c.name == into)
    discount = discount_factors([rate], flows.shape[1])[0]
    tv_merged = terminal_values(merged_s, merged.companies, merged.lines)[:, mi]
    tv_base = terminal_values(base_s, base.companies, base.lines)[:, bi]
    with_tv = flows.copy()
    with_tv[:, -1] += tv_merged - tv_base
    price = -np.broadcast_to(paid, (flows.shape[0],))[:, None]   # paid at the start
    return {"deal_npv_usd": (flows * discount).sum(axis=1) - paid,
            "deal_npv_with_terminal_usd": (with_tv * discount).sum(axis=1) - paid,
            "deal_irr": irr(np.concatenate([price, with_tv], axis=1), first_month=0),
            "deal_payback_years": payback_years(np.concatenate([price, flows], axis=1), first_month=0)}
