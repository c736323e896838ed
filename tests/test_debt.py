"""Debt with consequences (sim/money/debt.py), by hand: a borrowing base forces a paydown of
the exact excess; a breach sweeps cash to the lenders and, once cash runs out, defaults."""
from __future__ import annotations

import numpy as np
import pytest

from sim.config.loading import scenario_from_dict
from sim.money.contracts import Grid
from sim.money.debt import LoanSchedule, run_debt
from sim.money.finance import LINES

M = 6


def _books(base, covenants, cash=0.0, fcf=1000.0, ebitda=1000.0, collateral=(2000.0,) * M):
    base["companies"][0].update(covenants=covenants, cash_usd=cash)
    s = scenario_from_dict(base)
    g = Grid(M * 730, np.arange(M + 1) * 730, ["a"], {"a": 0})
    L = {line: np.zeros((1, 1, M)) for line in LINES}
    L["fcf_usd"][:] = fcf
    L["ebitda_usd"][:] = ebitda
    L["collateral_value_usd"][0, 0] = collateral
    return s, g, L


def _loan(principal, monthly_interest, secured):
    repay = np.zeros(M)
    repay[-1] = principal
    return LoanSchedule(0, np.full(M, monthly_interest), repay, np.full(M, principal), np.zeros(M), secured, False)


def test_a_borrowing_base_shortfall_forces_a_paydown_of_the_exact_excess(base):
    """Secured debt 1,000, advance rate 50%: the base is half the GPUs' resale value, 1,000, 900,
    750, 500, ...; each month pays down what the debt exceeds it by: 0, 100, 150, 250, then 0."""
    s, g, L = _books(base, {"advance_rate": 0.5}, collateral=(2000, 1800, 1500, 1000, 1000, 1000))
    run_debt(s, g, L, [_loan(1000.0, 10.0, secured=True)])
    assert L["forced_paydown_usd"][0, 0].tolist() == pytest.approx([0, 100, 150, 250, 0, 0], abs=1e-9)
    # interest follows the balance left: 10 a month on 1,000, then 9 on 900, 7.5 on 750, 5 on 500
    assert L["interest_usd"][0, 0].tolist() == pytest.approx([10, 10, 9, 7.5, 5, 5], rel=1e-12)
    assert L["debt_outstanding_usd"][0, 0].tolist() == pytest.approx([1000, 1000, 900, 750, 500, 500], rel=1e-12)
    assert L["principal_usd"][0, 0, -1] == pytest.approx(500.0, rel=1e-12)   # the bullet, on what is left
    assert not L["defaulted"].any()


def test_a_breach_sweeps_the_cash_then_defaults_when_it_runs_out(base):
    """DSCR 100 / 120 < 1.25 from the first month. Month 0: cash 300 - 50 - 120 interest = 130,
    all swept, so the 12,000 loan falls to 11,870. Month 1: interest 120 x 11,870 / 12,000, cash
    below zero with no owner's money in breach: default; the lenders lose the 11,870 still owed
    (no GPUs to sell)."""
    s, g, L = _books(base, {"min_dscr": 1.25, "on_breach": "sweep"}, cash=300.0, fcf=-50.0, ebitda=100.0,
                     collateral=(0.0,) * M)
    run_debt(s, g, L, [_loan(12_000.0, 120.0, secured=False)])
    assert L["covenant_breach"][0, 0].tolist() == [1.0] * M
    assert L["cash_swept_usd"][0, 0, 0] == pytest.approx(130.0, rel=1e-12)
    assert L["interest_usd"][0, 0, 1] == pytest.approx(120.0 * 11_870 / 12_000, rel=1e-12)
    assert L["defaulted"][0, 0].tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert L["loss_given_default_usd"][0, 0].tolist() == pytest.approx([0, 11_870, 0, 0, 0, 0], rel=1e-12)


def test_without_a_sweep_a_breach_is_only_recorded(base):
    s, g, L = _books(base, {"min_dscr": 1.25}, cash=300.0, fcf=-50.0, ebitda=100.0)
    run_debt(s, g, L, [_loan(12_000.0, 120.0, secured=False)])
    assert L["covenant_breach"][0, 0].all() and not L["defaulted"].any() and not L["cash_swept_usd"].any()
    assert L["interest_usd"][0, 0].tolist() == [120.0] * M
    assert L["cash_usd"][0, 0].tolist() == [130.0, 0.0, 0.0, 0.0, 0.0, 0.0]   # owners cover the rest
