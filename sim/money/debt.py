"""Debt with consequences: every loan's schedule, then month by month what lenders do.

Conventions (with those of `sim.money.finance`):
- Each loan has a schedule (interest, principal, balance at each month's start, money
  borrowed), linear in its principal. A prepayment of a share of a loan scales its whole
  remaining schedule by the rest (exact for annuities and bullets alike); prepayments go to
  loans pro rata to their balances.
- Cash: a company starts with `cash_usd` and adds its cash to equity each month. Outside a
  covenant breach a shortfall is covered by its owners (an equity injection; cash stays at 0).
- Borrowing base (`covenants.advance_rate`): at each month's end GPU-secured debt may be at most
  the advance rate x the GPUs' resale value; the excess is paid down at once, from cash, on the
  GPU-secured loans.
- A breach (`covenants`: DSCR below `min_dscr`, loan-to-collateral above
  `max_loan_to_collateral`) with `on_breach: sweep` sends all cash to the lenders (pro rata
  over every loan) while it lasts; in breach owners inject nothing, so a month whose cash goes
  below zero is a default. `on_breach: flag` (the default) only records the breach.
- After a default the books run on as scheduled (no restructuring is modelled); the loss given
  default is the debt outstanding then less the GPUs' resale value, at least 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config.schema import Scenario
from .contracts import HOURS_PER_MONTH, Grid, rate_value


@dataclass
class LoanSchedule:
    company: int                 # row
    interest: np.ndarray         # (M,) per unit of scale
    principal: np.ndarray
    balance: np.ndarray          # at each month's start
    borrowed: np.ndarray         # cash in
    secured: bool
    amortizing: bool


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


def months_between(a, b) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month)


def _on_grid(g: Grid, c: int, principal: float, rate: float, n: int, amortizing: bool, m0: int,
             borrowed: bool, secured: bool) -> LoanSchedule | None:
    """An n-month schedule whose first month is m0 (may be negative), on the month grid."""
    interest, repay = loan_schedule(principal, rate, n, amortizing)
    balance = principal - np.concatenate([[0.0], np.cumsum(repay)[:-1]])   # at each month's start
    lo, hi = max(m0, 0), min(m0 + n, g.M)
    out = LoanSchedule(c, np.zeros(g.M), np.zeros(g.M), np.zeros(g.M), np.zeros(g.M), secured, amortizing)
    if borrowed and 0 <= m0 < g.M:
        out.borrowed[m0] = principal
    if hi > lo:
        span = slice(lo - m0, hi - m0)
        out.interest[lo:hi], out.principal[lo:hi], out.balance[lo:hi] = interest[span], repay[span], balance[span]
    return out


def loan_schedules(s: Scenario, month0, g: Grid) -> list[LoanSchedule]:
    """Every company's loans and each deployment's GPU financing, as scheduled."""
    loans = []
    for c in s.companies:
        for loan in c.debt:
            first = max(loan.start or s.start, s.start)
            n = months_between(first, loan.maturity)
            if n > 0:
                loans.append(_on_grid(g, g.row[c.name], loan.principal_usd, rate_value(loan.rate, c.sofr), n,
                                      loan.amortization == "amortizing", months_between(month0, first),
                                      borrowed=loan.start is not None and loan.start >= s.start,
                                      secured=loan.gpu_collateral))
    company = {c.name: c for c in s.companies}
    for dep in s.deployments:
        owner = company[s.configured_owner(dep)]
        fin = owner.gpu_financing
        if fin is None:
            continue
        nt = s.node_type(dep.node_type)
        principal = fin.ltv * dep.nodes * nt.gpus_per_node * nt.capex_usd_per_gpu
        start = s.deployment_start(dep)
        if principal > 0:   # months before the scenario start are already paid
            loans.append(_on_grid(g, g.row[owner.name], principal, rate_value(fin.rate, owner.sofr),
                                  max(1, int(round(fin.term / HOURS_PER_MONTH))), True,
                                  months_between(month0, start), borrowed=start >= s.start, secured=True))
    return loans


def _ttm_at(x: np.ndarray, m: int) -> np.ndarray:
    return x[..., max(0, m - 11):m + 1].sum(axis=-1)


def run_debt(s: Scenario, g: Grid, L: dict, loans: list[LoanSchedule]) -> None:
    """Book every loan month by month with the lenders' consequences (module conventions) into
    the lines."""
    R, C, M = L["fcf_usd"].shape
    owners = [next(c for c in s.companies if c.name == name) for name in g.companies]
    advance = np.array([o.covenants.advance_rate if o.covenants.advance_rate is not None else np.inf for o in owners])
    limited = np.isfinite(advance)
    advance_or_0 = np.where(limited, advance, 0.0)
    sweeps = np.array([o.covenants.on_breach == "sweep" for o in owners])
    min_dscr = np.array([o.covenants.min_dscr or -np.inf for o in owners])
    max_ltc = np.array([o.covenants.max_loan_to_collateral or np.inf for o in owners])
    scale = np.ones((len(loans), R))
    rows = np.array([loan.company for loan in loans], dtype=np.int64)
    secured = np.array([loan.secured for loan in loans], dtype=bool)
    amortizing = np.array([loan.amortizing for loan in loans], dtype=bool)
    schedule = {k: np.array([getattr(loan, k) for loan in loans]).reshape(len(loans), M)
                for k in ("interest", "principal", "balance", "borrowed")}
    member = (rows[:, None] == np.arange(C)[None, :]).astype(np.float64)   # (loans, C): whose loan
    per_company = lambda x: x.T @ member   # (loans, R) -> (R, C)
    scheduled = np.zeros((R, C, M))
    cash = np.broadcast_to(np.array([o.cash_usd for o in owners]), (R, C)).copy()
    defaulted = np.zeros((R, C), dtype=bool)
    ebitda = L["ebitda_usd"] + L["integration_cost_usd"]
    for m in range(M):
        interest = scale * schedule["interest"][:, m, None]                    # (loans, R)
        repaid = scale * schedule["principal"][:, m, None]
        balance = scale * schedule["balance"][:, m, None]
        L["interest_usd"][:, :, m] = per_company(interest)
        L["principal_usd"][:, :, m] = per_company(repaid)
        L["borrowing_usd"][:, :, m] = per_company(np.broadcast_to(schedule["borrowed"][:, m, None], scale.shape))
        L["debt_outstanding_usd"][:, :, m] = per_company(balance)
        L["gpu_secured_debt_usd"][:, :, m] = per_company(balance * secured[:, None])
        scheduled[:, :, m] = per_company(repaid * amortizing[:, None])
        cash += L["fcf_usd"][:, :, m] + L["borrowing_usd"][:, :, m] - L["interest_usd"][:, :, m] \
            - L["principal_usd"][:, :, m]
        end = balance - repaid                                                  # each loan after this month
        # the borrowing base: GPU-secured debt above advance rate x resale value is paid down now
        secured_end = per_company(end * secured[:, None])
        base = np.where(limited, advance_or_0 * L["collateral_value_usd"][:, :, m], np.inf)
        excess = np.maximum(0.0, secured_end - base)
        share = np.divide(excess, secured_end, out=np.zeros_like(excess), where=secured_end > 0)
        scale *= 1 - np.where(secured[:, None], share.T[rows], 0.0)
        L["forced_paydown_usd"][:, :, m] = excess
        cash -= excess
        # covenants on this month's figures (DSCR trailing twelve months)
        service = _ttm_at(L["interest_usd"][:, :, :m + 1] + scheduled[:, :, :m + 1], m)
        with np.errstate(divide="ignore", invalid="ignore"):
            dscr = np.where(service > 0, _ttm_at(ebitda[:, :, :m + 1], m) / service, np.nan)
            ltc = np.where((L["gpu_secured_debt_usd"][:, :, m] > 0) & (L["collateral_value_usd"][:, :, m] > 0),
                           L["gpu_secured_debt_usd"][:, :, m] / L["collateral_value_usd"][:, :, m], np.nan)
        L["dscr_ttm"][:, :, m], L["loan_to_collateral"][:, :, m] = dscr, ltc
        breach = (dscr < min_dscr) | (ltc > max_ltc)
        L["covenant_breach"][:, :, m] = breach
        # in breach with a sweep, lenders take the cash; owners inject nothing, so running out is default
        sweeping = breach & sweeps
        outstanding = per_company(scale * (schedule["balance"][:, m, None] - schedule["principal"][:, m, None]))
        swept = np.where(sweeping, np.clip(cash, 0.0, outstanding), 0.0)
        share = np.divide(swept, outstanding, out=np.zeros_like(swept), where=outstanding > 0)
        scale *= 1 - share.T[rows]
        cash -= swept
        L["cash_swept_usd"][:, :, m] = swept
        newly = sweeping & (cash < 0) & ~defaulted
        L["loss_given_default_usd"][:, :, m] = np.where(
            newly, np.maximum(0.0, outstanding - swept - L["collateral_value_usd"][:, :, m]), 0.0)
        defaulted |= newly
        L["defaulted"][:, :, m] = defaulted
        cash = np.where(sweeping, cash, np.maximum(cash, 0.0))   # outside a sweep, owners cover a shortfall
        L["cash_usd"][:, :, m] = cash
