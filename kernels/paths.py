"""The money over many market paths at once: each path takes one engine replica's monthly
lines and its own market draws, and gets its statements' cash lines, its debt (the same
kernel as the replicas', `kernels.debt`), NPV and terminal value. Arrays are (paths,
companies, months); nothing returns to the host inside.

With every market input at its base (factors 1, no shift, no default) a path's numbers are
its replica's, bit for bit: each change enters as a difference added to the replica's line.
"""
from __future__ import annotations

from ._backend import concat, namespace_of
from .debt import run_debt


def path_lines(base: dict, replica, gpu_factor, power_factor, alive):
    """(EBITDA before integration cost, free cash flow) per path, (P, C, M).

    base: the replicas' lines (R, C, M): `ebitda` (before one-off integration cost), `fcf`,
    `market_revenue` (priced at the market each month), `energy` (energy bills), and
    `tenants` (R, K, C, M) revenue of the K tenants that may default. replica: (P,) int64.
    gpu_factor, power_factor: (P, M) multiples of market prices and power prices. alive:
    (P, K, M) 1 while a tenant pays, 0 after its default."""
    xp = namespace_of(base["ebitda"], gpu_factor)
    take = lambda a: xp.take(a, replica, axis=0)
    delta = (gpu_factor - 1)[:, None, :] * take(base["market_revenue"]) \
        - (power_factor - 1)[:, None, :] * take(base["energy"])
    if base["tenants"].shape[1] > 0:
        lost = take(base["tenants"]) * (1 - alive)[:, :, None, :]             # (P, K, C, M)
        delta = delta - xp.sum(lost, axis=1)
    return take(base["ebitda"]) + delta, take(base["fcf"]) + delta


def terminal_value(ebitda, fcf, collateral, tv: dict):
    """(P, C) terminal value at the horizon: ebitda_multiple x trailing-12-month EBITDA + trailing
    FCF x growth_factor / rate_less_growth (Gordon) + constant (USD per MW x MW) + collateral_share
    x the GPUs' resale value in the last month; each company uses the terms of its one method
    and zeros for the others, so the sum is that method's value exactly."""
    xp = namespace_of(ebitda)
    trailing_ebitda = xp.sum(ebitda[:, :, -12:], axis=-1)
    trailing_fcf = xp.sum(fcf[:, :, -12:], axis=-1)
    return (tv["ebitda_multiple"] * trailing_ebitda + trailing_fcf * tv["growth_factor"] / tv["rate_less_growth"]
            + tv["constant"] + tv["collateral_share"] * collateral[:, :, -1])


def path_money(base: dict, replica, gpu_factor, power_factor, alive, sofr_shift, debt: dict, discount,
               tv: dict) -> dict:
    """Per path: `fcf` (P, C, M), `npv` and `npv_with_terminal` and `terminal_value` (P, C),
    and the debt kernel's lines (P, C, M). base adds `collateral` (R, C, M), the GPUs'
    resale value, to `path_lines`' inputs; debt: `kernels.debt.run_debt`'s
    terms; discount: (C, M) end-of-month factors; tv: `terminal_value`'s terms (C,)."""
    xp = namespace_of(base["ebitda"], gpu_factor)
    ebitda, fcf = path_lines(base, replica, gpu_factor, power_factor, alive)
    collateral = xp.take(base["collateral"], replica, axis=0)
    lines = run_debt(fcf, ebitda, collateral, **debt, sofr_shift=sofr_shift)
    value = terminal_value(ebitda, fcf, collateral, tv)
    with_tv = concat([fcf[:, :, :-1], fcf[:, :, -1:] + value[:, :, None]], axis=2)
    return {**lines, "fcf": fcf, "terminal_value": value, "npv": xp.sum(fcf * discount, axis=-1),
            "npv_with_terminal": xp.sum(with_tv * discount, axis=-1)}
