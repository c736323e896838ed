"""Debt month by month over many rows at once (replicas, or market paths): interest and
principal as scheduled, the borrowing base, covenant tests, a cash sweep in breach and
default when cash runs out. The conventions are `sim.money.debt`'s; this is their array
math, written to the array-API standard so NumPy, CuPy and array-api-strict run it alike.

Every loan's schedule is linear in its principal, so one scale per (loan, row) carries every
prepayment: a paydown of a share of a loan scales its remaining schedule by the rest. Lenders'
paydowns fall pro rata on a company's secured loans (the borrowing base) or on all its loans
(a sweep), so the loans of one company that are alike (secured or not, floating or not) keep
one scale: the kernel carries each such class as one loan, its schedules summed
(`sim.money.debt.debt_terms`), which keeps the arrays (rows, companies, classes) small however
many deployments are financed.
"""
from __future__ import annotations

import math

from ._backend import astype, concat, namespace_of, on

LINES = ("interest_usd", "principal_usd", "borrowing_usd", "debt_outstanding_usd", "gpu_secured_debt_usd",
         "forced_paydown_usd", "dscr_ttm", "loan_to_collateral", "covenant_breach", "cash_swept_usd",
         "loss_given_default_usd", "defaulted", "cash_usd")


def _ratio(num, den, keep):
    """num / den where `keep`, else 0 (no division by zero anywhere)."""
    xp = namespace_of(num, den)
    return xp.where(keep, num / xp.where(keep, den, 1.0), 0.0)


def _trailing_12(x):
    """Sums of each month and the 11 before it (as many as there are) along the last axis,
    added oldest first."""
    xp = namespace_of(x)
    M = x.shape[-1]
    padded = concat([xp.zeros((*x.shape[:-1], 11), dtype=x.dtype, **on(x)), x], axis=-1)
    total = padded[..., 0:M]
    for k in range(1, 12):
        total = total + padded[..., k:k + M]
    return total


def run_debt(fcf, ebitda, collateral, schedule: dict, secured, cash0, advance, sweeps, min_dscr, max_ltc,
             floating=None, sofr_shift=None) -> dict:
    """The debt lines (`LINES`, each (rows, companies, months)).

    fcf, ebitda (before one-off integration cost), collateral: (R, C, M). schedule: interest,
    principal (of which `amortized`: scheduled amortization, what DSCR counts), balance (at each
    month's start) and borrowed per unit of scale, each (C, K, M) or, a schedule per row,
    (R, C, K, M): up to K loan classes per company, zeros where a company has fewer; a
    company's sums run over its K classes in one order whatever the number of rows (a matrix
    product's order depends on the shapes, and a path must reproduce its replica bit for
    bit). secured, floating: (C, K) bool. cash0,
    advance (inf: no borrowing base), min_dscr (-inf: none), max_ltc (inf: none): (C,) float;
    sweeps: (C,) bool. sofr_shift (R, M): an annual rate added to the base of floating loans
    (their interest on the balance; principal stays as scheduled)."""
    xp = namespace_of(fcf, ebitda, collateral)
    R, C, M = fcf.shape
    K = schedule["interest"].shape[-2]
    dev = on(fcf)
    limited = advance < math.inf
    advance_or_0 = xp.where(limited, advance, 0.0)
    secured_f = astype(secured, xp.float64)
    scale = xp.ones((R, C, K), dtype=xp.float64, **dev)
    cash = xp.zeros((R, C), dtype=xp.float64, **dev) + cash0
    defaulted = xp.zeros((R, C), dtype=xp.bool, **dev)
    out = {line: [] for line in LINES}
    service = []   # interest plus scheduled amortization, by month (DSCR's denominator)
    ttm_ebitda_all = _trailing_12(ebitda)
    for m in range(M):
        interest = scale * schedule["interest"][..., m]                           # (R, C, K)
        if sofr_shift is not None:
            extra = scale * (schedule["balance"][..., m] * astype(floating, xp.float64))
            interest = interest + extra * sofr_shift[:, m, None, None] / 12
        repaid = scale * schedule["principal"][..., m]
        balance = scale * schedule["balance"][..., m]
        paid_interest, paid_principal = xp.sum(interest, axis=-1), xp.sum(repaid, axis=-1)
        borrowed = xp.broadcast_to(xp.sum(schedule["borrowed"][..., m], axis=-1), (R, C))
        secured_debt = xp.sum(balance * secured_f, axis=-1)
        out["interest_usd"].append(paid_interest)
        out["principal_usd"].append(paid_principal)
        out["borrowing_usd"].append(borrowed)
        out["debt_outstanding_usd"].append(xp.sum(balance, axis=-1))
        out["gpu_secured_debt_usd"].append(secured_debt)
        service.append(paid_interest + xp.sum(scale * schedule["amortized"][..., m], axis=-1))
        cash = cash + fcf[:, :, m] + borrowed - paid_interest - paid_principal
        # the borrowing base: GPU-secured debt above advance rate x resale value is paid down now
        secured_end = xp.sum((balance - repaid) * secured_f, axis=-1)
        base = xp.where(limited, advance_or_0 * collateral[:, :, m], math.inf)
        excess = xp.maximum(0.0, secured_end - base)
        share = _ratio(excess, secured_end, secured_end > 0)
        scale = scale * (1 - secured_f * share[:, :, None])
        out["forced_paydown_usd"].append(excess)
        cash = cash - excess
        # covenants on this month's figures (DSCR trailing twelve months)
        ttm_service = service[max(0, m - 11)]
        for month in service[max(0, m - 11) + 1:]:
            ttm_service = ttm_service + month
        ttm_ebitda = ttm_ebitda_all[:, :, m]
        dscr = xp.where(ttm_service > 0, _ratio(ttm_ebitda, ttm_service, ttm_service > 0), math.nan)
        collateral_m = collateral[:, :, m]
        has_ltc = (secured_debt > 0) & (collateral_m > 0)
        ltc = xp.where(has_ltc, _ratio(secured_debt, collateral_m, has_ltc), math.nan)
        out["dscr_ttm"].append(dscr)
        out["loan_to_collateral"].append(ltc)
        breach = (dscr < min_dscr) | (ltc > max_ltc)     # nan compares false: no debt, no breach
        out["covenant_breach"].append(astype(breach, xp.float64))
        # in breach with a sweep, lenders take the cash; owners inject nothing, so running out is default
        sweeping = breach & sweeps
        outstanding = xp.sum(scale * (schedule["balance"][..., m] - schedule["principal"][..., m]), axis=-1)
        swept = xp.where(sweeping, xp.minimum(xp.maximum(cash, 0.0), outstanding), 0.0)
        share = _ratio(swept, outstanding, outstanding > 0)
        scale = scale * (1 - share[:, :, None])
        cash = cash - swept
        out["cash_swept_usd"].append(swept)
        newly = sweeping & (cash < 0) & ~defaulted
        out["loss_given_default_usd"].append(
            xp.where(newly, xp.maximum(0.0, outstanding - swept - collateral_m), 0.0))
        defaulted = defaulted | newly
        out["defaulted"].append(astype(defaulted, xp.float64))
        cash = xp.where(sweeping, cash, xp.maximum(cash, 0.0))   # outside a sweep, owners cover a shortfall
        out["cash_usd"].append(cash)
    if M == 0:
        return {line: xp.zeros((R, C, 0), dtype=xp.float64, **dev) for line in LINES}
    return {line: xp.stack(values, axis=-1) for line, values in out.items()}
