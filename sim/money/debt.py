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

from ..config.schema import FloatingRate, Scenario
from kernels.debt import run_debt as kernel_debt

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
    floating: bool = False       # a rate over SOFR (market paths move its base)


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
             borrowed: bool, secured: bool, floating: bool) -> LoanSchedule | None:
    """An n-month schedule whose first month is m0 (may be negative), on the month grid."""
    interest, repay = loan_schedule(principal, rate, n, amortizing)
    balance = principal - np.concatenate([[0.0], np.cumsum(repay)[:-1]])   # at each month's start
    lo, hi = max(m0, 0), min(m0 + n, g.M)
    out = LoanSchedule(c, np.zeros(g.M), np.zeros(g.M), np.zeros(g.M), np.zeros(g.M), secured, amortizing, floating)
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
                                      secured=loan.gpu_collateral, floating=isinstance(loan.rate, FloatingRate)))
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
                                  months_between(month0, start), borrowed=start >= s.start, secured=True,
                                  floating=isinstance(fin.rate, FloatingRate)))
    return loans


DEBT_SCHEDULES = ("interest", "principal", "amortized", "balance", "borrowed")


def debt_terms(s: Scenario, g: Grid, loans: list[LoanSchedule]) -> dict:
    """The debt kernel's terms (`kernels.debt.run_debt`) for these companies and loans, as
    NumPy arrays: a company's loans that lenders treat alike (secured or not, floating or not)
    share every paydown, so each such class goes in as one loan with its schedules summed, at
    most four per company ((C, 4, M), zeros where a company has fewer)."""
    owners = [next(c for c in s.companies if c.name == name) for name in g.companies]
    kinds = [(secured, floating) for secured in (False, True) for floating in (False, True)]
    C, K = len(g.companies), len(kinds)
    schedule = {k: np.zeros((C, K, g.M)) for k in DEBT_SCHEDULES}
    for loan in loans:   # in their order, so every class's sums are made the same way each time
        k = kinds.index((loan.secured, loan.floating))
        for name in ("interest", "principal", "balance", "borrowed"):
            schedule[name][loan.company, k] += getattr(loan, name)
        if loan.amortizing:
            schedule["amortized"][loan.company, k] += loan.principal
    return {
        "schedule": schedule,
        "secured": np.array([[secured for secured, _ in kinds]] * C, dtype=bool).reshape(C, K),
        "floating": np.array([[floating for _, floating in kinds]] * C, dtype=bool).reshape(C, K),
        "cash0": np.array([o.cash_usd for o in owners], dtype=np.float64),
        "advance": np.array([o.covenants.advance_rate if o.covenants.advance_rate is not None else np.inf
                             for o in owners], dtype=np.float64),
        "sweeps": np.array([o.covenants.on_breach == "sweep" for o in owners], dtype=bool),
        "min_dscr": np.array([o.covenants.min_dscr or -np.inf for o in owners], dtype=np.float64),
        "max_ltc": np.array([o.covenants.max_loan_to_collateral or np.inf for o in owners], dtype=np.float64),
    }


def run_debt(s: Scenario, g: Grid, L: dict, loans: list[LoanSchedule]) -> None:
    """Book every loan month by month with the lenders' consequences (module conventions) into
    the lines."""
    L.update(kernel_debt(L["fcf_usd"], L["ebitda_usd"] + L["integration_cost_usd"], L["collateral_value_usd"],
                         **debt_terms(s, g, loans)))
