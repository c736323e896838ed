"""Money over many market paths (`paths:`), the second speed of the Monte Carlo.

The engine runs R replicas (operations: GPU-hours delivered, shortfalls, energy, the fleet);
path p (of `paths.count`) takes the monthly lines of replica p mod R and draws its own market
(row p of one stream per input, (seed, "paths/<input>"); the same in every variant, so paths
are paired as replicas are):
- GPU rental prices: revenue priced at the market each month (on-demand and spot) x
  exp(sigma W - sigma^2 t / 2), W a Brownian motion in years stepped monthly (mean 1, so the
  replica's prices stay the expectation); power prices: energy bills x their own such factor;
- SOFR: an arithmetic random walk of `sofr_volatility` a year added to the base of floating
  loans (interest on their balance; principal as scheduled), never below a 0 base;
- tenant defaults: each named tenant defaults in a month with the monthly hazard of its annual
  probability and pays nothing after (its renewals neither); its GPUs stay where they are.
Then each path's EBITDA, free cash flow, debt (the replicas' own kernel, `kernels.debt`),
covenants, default, NPV and terminal value are computed as arrays over (paths, companies,
months) by `kernels.paths` on the run's backend; the draws are made on the host, so NumPy
and CuPy see the same paths.

The approximation: market inputs do not feed back into the engine within a path (a lower
price path does not change who signs or what is built; the replica's own market did that),
and the resale decline stays the replica's. Paths share their replica's operations, so their
spread is the market's given those R operations; the engine replicas' own spread is in the
replica intervals.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernels import to_host
from kernels.paths import path_money

from ..config.schema import MarketPaths, Scenario
from ..rng import stream
from .contracts import tenant_revenue_line
from .debt import debt_terms, loan_schedules
from .finance import Statements, month_grid
from .valuation import discount_factors, owned_mw

KEPT = ("fcf", "npv", "npv_with_terminal", "terminal_value", "dscr_ttm", "covenant_breach", "defaulted",
        "debt_outstanding_usd", "cash_usd")


@dataclass
class Paths:
    companies: list[str]
    replica: np.ndarray            # (P,) the engine replica each path takes its operations from
    arrays: dict[str, np.ndarray]  # KEPT: (P, C, M) or (P, C)


def _rows(seed: int, paths: range, name: str, draw) -> np.ndarray:
    """Path p's draws are row p of one stream's array, so they do not depend on how many
    paths there are (the generator fills rows in order)."""
    return draw(stream(seed, 0, f"paths/{name}"), paths.stop)[paths.start:]


def _brownian(seed: int, paths: range, months: int, name: str) -> np.ndarray:
    """(paths, months) W in years at each month's start (W = 0 in the first month)."""
    steps = _rows(seed, paths, name, lambda rng, n: rng.standard_normal((n, months)))
    return np.concatenate([np.zeros((len(paths), 1)), np.cumsum(steps[:, :-1] * np.sqrt(1 / 12), axis=1)], axis=1)


def _lognormal(seed: int, paths: range, months: int, name: str, sigma: float) -> np.ndarray:
    if sigma == 0:
        return np.ones((len(paths), months))
    t = np.arange(months) / 12
    return np.exp(sigma * _brownian(seed, paths, months, name) - sigma ** 2 * t / 2)


def market_draws(spec: MarketPaths, sofr_floor: float, seed: int, months: int,
                 paths: range | None = None) -> dict[str, np.ndarray]:
    """The market of each path (all `spec.count`, or those in `paths`) on the host: gpu_factor,
    power_factor, sofr_shift (P, M) and alive (P, K, M) for the tenants of
    `spec.tenant_default_per_year` in its order."""
    paths = range(spec.count) if paths is None else paths
    P = len(paths)
    shift = np.zeros((P, months))
    if spec.sofr_volatility > 0:
        shift = np.maximum(spec.sofr_volatility * _brownian(seed, paths, months, "sofr"), -sofr_floor)
    alive = np.ones((P, len(spec.tenant_default_per_year), months))
    for k, (name, annual) in enumerate(spec.tenant_default_per_year.items()):
        if annual == 0:
            continue
        u = _rows(seed, paths, f"default/{name}", lambda rng, n: rng.random(n))
        # the month of default: geometric with the monthly hazard 1 - (1 - annual)^(1/12)
        month = np.floor(np.log1p(-u) / np.log1p(-(1 - (1 - annual) ** (1 / 12)))) if annual < 1 else np.zeros(P)
        alive[:, k] = np.arange(months)[None, :] < month[:, None]
    return {"gpu_factor": _lognormal(seed, paths, months, "gpu_price", spec.gpu_price_volatility),
            "power_factor": _lognormal(seed, paths, months, "power_price", spec.power_price_volatility),
            "sofr_shift": shift, "alive": alive}


def _terminal_terms(s: Scenario, companies: list[str]) -> dict[str, np.ndarray]:
    """`kernels.paths.terminal_value`'s terms per company (sim.money.valuation's methods)."""
    by_name = {c.name: c for c in s.companies}
    terms = {k: np.zeros(len(companies)) for k in ("ebitda_multiple", "growth_factor", "constant", "collateral_share")}
    terms["rate_less_growth"] = np.ones(len(companies))
    for c, name in enumerate(companies):
        tv = by_name[name].terminal_value
        if tv is None:
            continue
        if tv.method == "exit_multiple":
            terms["ebitda_multiple"][c] = tv.ebitda_multiple
        elif tv.method == "gordon":
            terms["growth_factor"][c] = 1 + tv.growth
            terms["rate_less_growth"][c] = by_name[name].discount_rate - tv.growth
        else:
            terms["constant"][c] = tv.usd_per_mw * owned_mw(s, name)
            terms["collateral_share"][c] = 1.0
    return terms


def _base(s: Scenario, fin: Statements) -> dict[str, np.ndarray]:
    L = fin.lines
    names = list(s.paths.tenant_default_per_year)
    R, C, M = L["fcf_usd"].shape
    tenants = np.stack([np.nan_to_num(L[tenant_revenue_line(n)]) for n in names], axis=1) if names \
        else np.zeros((R, 0, C, M))
    return {"ebitda": L["ebitda_usd"] + L["integration_cost_usd"], "fcf": L["fcf_usd"],
            "market_revenue": L["revenue_on_demand_usd"] + L["revenue_spot_usd"],
            "energy": L["energy_usd"] + L["legacy_energy_usd"], "tenants": tenants,
            "collateral": L["collateral_value_usd"]}


def run_paths(scenarios: list[Scenario], accounts, fin: Statements, seed: int, xp) -> Paths:
    """A variant's paths (`scenarios`: each replica's; `accounts`: (replica indices, account)
    of the groups that share a scenario, whose loans differ as their fleets do), computed on
    the namespace `xp`."""
    s0 = scenarios[0]
    spec = s0.paths
    R, C, M = fin.lines["fcf_usd"].shape
    sofr = [c.sofr for c in s0.companies if c.sofr is not None]
    draws = market_draws(spec, min(sofr) if sofr else 0.0, seed, M)
    base = {k: xp.asarray(v) for k, v in _base(s0, fin).items()}
    replica = np.arange(spec.count) % R
    out = {k: None for k in KEPT}
    for idx, acct in accounts:
        s = scenarios[idx[0]]
        g = month_grid(s, acct)
        paths = np.flatnonzero(np.isin(replica, idx))
        terms = debt_terms(s, g, loan_schedules(s, acct.month_starts[0], g))
        debt = {k: ({n: xp.asarray(a) for n, a in v.items()} if isinstance(v, dict) else xp.asarray(v))
                for k, v in terms.items()}
        rates = [next(c.discount_rate for c in s.companies if c.name == name) for name in g.companies]
        got = path_money(base, xp.asarray(replica[paths]), *(xp.asarray(draws[k][paths]) for k in
                                                              ("gpu_factor", "power_factor", "alive", "sofr_shift")),
                         debt, xp.asarray(discount_factors(rates, M)),
                         {k: xp.asarray(v) for k, v in _terminal_terms(s, g.companies).items()})
        got = to_host({k: got[k] for k in KEPT})
        for k, a in got.items():
            if out[k] is None:
                out[k] = np.zeros((spec.count, *a.shape[1:]))
            out[k][paths] = a
    return Paths(fin.companies, replica, out)


def _nanmin(a: np.ndarray, axis: int) -> np.ndarray:
    """min over `axis` ignoring nan; nan where all are nan."""
    low = np.where(np.isnan(a), np.inf, a).min(axis=axis)
    return np.where(np.isinf(low), np.nan, low)


def path_metrics(p: Paths) -> dict[str, np.ndarray]:
    """Per path (P,): NPV without and with terminal value, the lowest DSCR, and whether any
    company was ever in covenant breach or in default, in total and per company."""
    a = p.arrays
    min_dscr = _nanmin(a["dscr_ttm"], axis=2)          # (P, C); nan: no debt service
    per_company = {"npv_usd": a["npv"], "npv_with_terminal_usd": a["npv_with_terminal"], "min_dscr": min_dscr,
                   "breach_probability": a["covenant_breach"].max(axis=2),
                   "default_probability": a["defaulted"][:, :, -1]}
    out = {"npv_usd": a["npv"].sum(axis=1), "npv_with_terminal_usd": a["npv_with_terminal"].sum(axis=1),
           "min_dscr": _nanmin(min_dscr, axis=1),
           "breach_probability": per_company["breach_probability"].max(axis=1),
           "default_probability": per_company["default_probability"].max(axis=1)}
    for c, name in enumerate(p.companies):
        for metric, values in per_company.items():
            out[f"{metric}[{name}]"] = values[:, c]
    return out


def deal_paths(merged_s: Scenario, merged: Paths, base_s: Scenario, base: Paths) -> dict[str, np.ndarray]:
    """The buyer's deal NPV per path, without and with terminal values, as
    `sim.money.valuation.deal_metrics` computes it per replica."""
    deal = merged_s.merger
    mi, bi = merged.companies.index(deal.into), base.companies.index(deal.into)
    flows = merged.arrays["fcf"][:, mi] - base.arrays["fcf"][:, bi]
    members = [base.companies.index(c) for c in deal.members if c != deal.into and c in base.companies]
    paid = deal.price_usd + sum((base.arrays["debt_outstanding_usd"][:, c, 0] for c in members), np.zeros(len(flows)))
    rate = next(c.discount_rate for c in merged_s.companies if c.name == deal.into)
    discount = discount_factors([rate], flows.shape[1])[0]
    with_tv = flows.copy()
    with_tv[:, -1] += merged.arrays["terminal_value"][:, mi] - base.arrays["terminal_value"][:, bi]
    return {"deal_npv_usd": (flows * discount).sum(axis=1) - paid,
            "deal_npv_with_terminal_usd": (with_tv * discount).sum(axis=1) - paid}
