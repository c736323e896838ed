"""Money against closed forms and hand computation (DESIGN §9)."""
import copy
import datetime as dt

import numpy as np
import pytest

from sim.config.loading import scenario_from_dict
from sim.experiment.runner import run_variants
from sim.money.contracts import HOURS_PER_MONTH
from sim.money.debt import loan_schedule


def test_level_annuity_schedule():
    principal, rate, n = 1_000_000.0, 0.06, 12
    interest, repay = loan_schedule(principal, rate, n, amortizing=True)
    r = rate / 12
    payment = principal * r / (1 - (1 + r) ** -n)
    np.testing.assert_allclose(interest + repay, payment, rtol=1e-12)
    assert repay.sum() == pytest.approx(principal, rel=1e-12)
    assert interest.sum() == pytest.approx(n * payment - principal, rel=1e-12)
    assert interest[0] == pytest.approx(principal * r, rel=1e-12)


def test_bullet_loan_schedule():
    interest, repay = loan_schedule(2e6, 0.09, 24, amortizing=False)
    np.testing.assert_allclose(interest, 2e6 * 0.0075)
    assert repay[-1] == 2e6 and repay[:-1].sum() == 0


def _host_and_client(base, years=2, escalator=0.03, merged=False, **contract):
    base["horizon"] = f"{years}y"
    base["start"] = "2026-01-01"
    base["companies"] = [{"name": "host", "discount_rate": 0.08}, {"name": "client", "discount_rate": 0.12}]
    base["sites"][0]["owner"] = "host"
    base["hosting_contracts"] = [{"host": "host", "client": "client", "site": "s1", "billable_mw": 10,
                                  "fee_usd_per_kw_month": 120, "escalator_per_year": escalator, "term": "12y",
                                  **contract}]
    if merged:
        base["scenario"] = "merged"
        base["merger"] = {"into": "client", "members": ["client", "host"], "integration_cost_usd": 5e6}
    return scenario_from_dict(base)


def _variant(s, replicas=1):
    _, (v,) = run_variants([s], seed=1, replicas=replicas, backend="numpy", workers=1)
    return v


def test_hosting_fee_with_escalator_and_its_npv(base):
    v = _variant(_host_and_client(base))
    fin = v.finance
    host = fin.companies.index("host")
    received = fin.lines["hosting_fees_received_usd"][0, host]
    # 10 MW x 1000 kW x $120 per kW-month; a kW-month is 730 h; year 2 escalates 3%
    assert received[:12].sum() == pytest.approx(10_000 * 120 * 12, rel=1e-12)
    assert received[12:24].sum() == pytest.approx(10_000 * 120 * 12 * 1.03, rel=1e-12)
    assert received[0] == pytest.approx(10_000 * 120 * 744 / HOURS_PER_MONTH, rel=1e-12)  # January: 744 h
    assert v.metrics["hosting_fees_usd"][0] == pytest.approx(received.sum(), rel=1e-12)
    # the host has no other cash flows: its NPV is the contract's, end-of-month at 8%
    months = np.arange(24)
    npv = (received * 1.08 ** (-(months + 1) / 12)).sum()
    assert v.metrics["npv_usd[host]"][0] == pytest.approx(npv, rel=1e-12)
    assert v.metrics["npv_usd[client]"][0] == pytest.approx(-(received * 1.12 ** (-(months + 1) / 12)).sum(), rel=1e-12)


def test_intercompany_hosting_nets_to_zero_when_merged(base):
    standalone = _variant(_host_and_client(copy.deepcopy(base)))
    merged = _variant(_host_and_client(copy.deepcopy(base), merged=True))
    fin = merged.finance
    assert fin.companies == ["client"]
    paid = fin.lines["intercompany_fees_paid_usd"].sum()
    assert paid > 0 and paid == pytest.approx(fin.lines["intercompany_fees_received_usd"].sum(), rel=1e-15)
    assert merged.metrics["hosting_fees_usd"][0] == 0
    # the fee was a transfer: the merged EBITDA is the standalone sum less integration cost
    assert merged.metrics["ebitda_usd"][0] == pytest.approx(standalone.metrics["ebitda_usd"][0] - 5e6, abs=1e-3)


def _reserved(base, util, with_jobs=False):
    base["horizon"] = "60d"
    base["node_types"] = [{"name": "g", "gpus_per_node": 8, "gpu_idle_w": 100, "gpu_max_w": 700}]
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 4}]
    base["tenants"] = [{"name": "r", "provider": "a", "reservation": {
        "node_type": "g", "gpus": 16, "price_usd_per_gpu_hour": 2.5, "utilization": {"mean": util}}}]
    if with_jobs:
        base["tenants"].append({"name": "od", "provider": "a", "workload": {
            "node_type": "g", "arrival_rate_per_h": 0.5, "price_usd_per_gpu_hour": 4.0,
            "gpus": {"dist": "fixed", "value": 2}, "duration_h": {"dist": "exponential", "mean": 5}}})
    return scenario_from_dict(base)


def test_take_or_pay_is_independent_of_use_and_on_demand_is_proportional(base):
    low = _variant(_reserved(copy.deepcopy(base), 0.1))
    high = _variant(_reserved(copy.deepcopy(base), 0.9))
    assert low.metrics["revenue_usd"][0] == high.metrics["revenue_usd"][0] == pytest.approx(16 * 1440 * 2.5)
    assert high.metrics["energy_it_mwh"][0] > low.metrics["energy_it_mwh"][0]
    v = _variant(_reserved(copy.deepcopy(base), 0.5, with_jobs=True))
    j = v.runs[0].jobs
    ran = ~np.isnan(j["start_h"])
    used_gpu_h = (j["gpus"][ran] * (np.nan_to_num(j["end_h"][ran], nan=1440.0) - j["start_h"][ran])).sum()
    assert v.metrics["revenue_usd"][0] == pytest.approx(16 * 1440 * 2.5 + 4.0 * used_gpu_h, rel=1e-9)


def test_shortfall_is_credited(base):
    """A reservation of more GPUs than exist: the missing GPU-hours are credited back."""
    s = _reserved(copy.deepcopy(base), 0.5)
    s = s.model_copy(update={"tenants": [s.tenants[0].model_copy(update={
        "reservation": s.tenants[0].reservation.model_copy(update={"gpus": 40.0})})]})
    v = _variant(s)
    assert v.metrics["reserved_shortfall_gpu_hours"][0] == pytest.approx(8 * 1440)
    assert v.metrics["revenue_usd"][0] == pytest.approx(32 * 1440 * 2.5)
    assert v.metrics["sla_attainment"][0] == pytest.approx(32 / 40)


def test_dscr_of_a_hand_built_year(base):
    """Constant revenue, one amortizing loan: DSCR after 12 months is EBITDA / annual debt service."""
    base["start"] = "2026-01-01"
    base["horizon"] = "2y"
    base["companies"] = [{"name": "a", "debt": [{"name": "l", "principal_usd": 1e6, "rate": 0.06,
                                                  "maturity": "2031-01-01", "amortization": "amortizing"}]}]
    base["node_types"] = [{"name": "g", "gpus_per_node": 8, "gpu_idle_w": 0.0, "gpu_max_w": 700}]
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 1}]
    base["tenants"] = [{"name": "r", "provider": "a", "reservation": {
        "node_type": "g", "gpus": 8, "price_usd_per_gpu_hour": 3.0, "utilization": {"mean": 0.0}}}]
    v = _variant(scenario_from_dict(base))
    interest, repay = loan_schedule(1e6, 0.06, 60, amortizing=True)
    ebitda_year1 = 8 * 3.0 * 8760
    expected = ebitda_year1 / (interest[:12].sum() + repay[:12].sum())
    assert v.finance.lines["dscr_ttm"][0, 0, 11] == pytest.approx(expected, rel=1e-12)
    assert v.metrics["min_dscr"][0] <= expected


# ---------------------------------------------------------------- closed forms

def test_hosting_contract_value_and_npv_closed_form(base):
    """Constant MW with an escalator over the term and an exercised renewal: value =
    12 x fee x kW x sum (1+g)^y; PV of contract months paid at month end = P a (1-q^T)/(1-q)."""
    from sim.money.contracts import hosting_contract_value_usd
    s = _host_and_client(base, renewal_options=["5y", "5y"], renewals_exercised=1)
    h = s.hosting_contracts[0]
    kw, fee, g, years = 10_000, 120.0, 0.03, 17
    value = 12 * fee * kw * sum((1 + g) ** y for y in range(years))
    assert hosting_contract_value_usd(s, h) == pytest.approx(value, rel=1e-12)
    v = 1 / 1.08
    annuity = sum(v ** (m / 12) for m in range(1, 13))   # one year of month-end payments, per unit
    q = (1 + g) * v
    assert hosting_contract_value_usd(s, h, 0.08) == pytest.approx(fee * kw * annuity * (1 - q ** years) / (1 - q),
                                                                   rel=1e-12)


def _fleet(base, **company):
    """Two GPU deployments owned by `a`: one bought inside the horizon, one before it."""
    base["start"] = "2026-01-01"
    base["horizon"] = "3y"
    base["companies"] = [{"name": "a", **company}]
    base["sites"][0]["critical_it_mw"] = {"2025-01-01": 100.0}
    base["node_types"] = [{"name": "g", "gpus_per_node": 8, "gpu_idle_w": 100, "gpu_max_w": 700,
                           "capex_usd_per_gpu": 10_000, "depreciation_years": 2}]
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 2, "start": "2026-04-01"},
                           {"site": "s1", "node_type": "g", "nodes": 1, "start": "2025-07-01"}]
    return scenario_from_dict(base)


def test_straight_line_depreciation_resale_value_and_gpu_loans(base):
    v = _variant(_fleet(base, gpu_resale_decline_per_year=0.25, sofr=0.04,
                        gpu_financing={"ltv": 0.5, "rate": {"sofr_plus": 0.02}, "term": "2y"},
                        covenants={"max_loan_to_collateral": 0.45}))
    L = {k: a[0, 0] for k, a in v.finance.lines.items()}
    new, old = 160_000.0, 80_000.0     # capex: 2 nodes bought 2026-04 (month 3); 1 node 2025-07 (sunk)
    assert L["capex_usd"].sum() == new and L["capex_usd"][3] == new
    expected = np.zeros(36)
    expected[3:27] += new / 24         # 24 months from the month bought
    expected[0:18] += old / 24         # the sunk node's remaining 18 months
    np.testing.assert_allclose(L["depreciation_usd"], expected, rtol=1e-12)
    m = np.arange(36)
    value = np.where(m >= 3, new * 0.75 ** ((m - 2) / 12), 0) + old * 0.75 ** ((m + 7) / 12)
    np.testing.assert_allclose(L["collateral_value_usd"], value, rtol=1e-12)
    # GPU financing: half the capex at SOFR + 2%, amortizing over 24 months, secured on the GPUs
    i_new, p_new = loan_schedule(0.5 * new, 0.06, 24, amortizing=True)
    i_old, p_old = loan_schedule(0.5 * old, 0.06, 24, amortizing=True)
    interest = np.zeros(36)
    interest[3:27] += i_new
    interest[0:18] += i_old[6:]
    np.testing.assert_allclose(L["interest_usd"], interest, rtol=1e-12)
    assert L["borrowing_usd"][3] == 0.5 * new and L["borrowing_usd"].sum() == 0.5 * new
    balance = np.zeros(36)
    balance[3:27] += 0.5 * new - np.concatenate([[0], np.cumsum(p_new)[:-1]])
    balance[0:18] += (0.5 * old - np.concatenate([[0], np.cumsum(p_old)[:-1]]))[6:]
    np.testing.assert_allclose(L["loan_to_collateral"], np.where(balance > 0, balance / value, np.nan), rtol=1e-12)
    assert v.metrics["covenant_breach_months"][0] == (balance / value > 0.45).sum() > 0
    assert v.metrics["max_loan_to_collateral"][0] == pytest.approx((balance / value).max(), rel=1e-12)
    np.testing.assert_allclose(L["cash_to_equity_usd"],
                               L["fcf_usd"] + L["borrowing_usd"] - L["interest_usd"] - L["principal_usd"])
    np.testing.assert_allclose(L["fcf_usd"], L["ebitda_usd"] - L["capex_usd"])


def test_floating_rate_is_sofr_plus_spread(base):
    base["start"] = "2026-01-01"
    base["horizon"] = "1y"
    base["companies"] = [{"name": "a", "sofr": 0.045, "debt": [
        {"name": "l", "principal_usd": 1e6, "rate": {"sofr_plus": 0.0325}, "maturity": "2028-01-01"}]}]
    v = _variant(scenario_from_dict(base))
    np.testing.assert_allclose(v.finance.lines["interest_usd"][0, 0], 1e6 * 0.0775 / 12, rtol=1e-12)
    assert v.finance.lines["borrowing_usd"].sum() == 0   # outstanding at the start, not borrowed in the horizon


# ---------------------------------------------------------------- tenant contracts

def test_on_demand_price_declines_and_spot_is_its_own_line(base):
    base["start"] = "2026-01-01"
    base["horizon"] = "400d"
    base["node_types"] = [{"name": "g", "gpus_per_node": 8, "gpu_idle_w": 100, "gpu_max_w": 700}]
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 4}]
    job = {"node_type": "g", "arrival_rate_per_h": 0.2, "gpus": {"dist": "fixed", "value": 2},
           "duration_h": {"dist": "exponential", "mean": 5}, "price_usd_per_gpu_hour": 4.0}
    base["tenants"] = [{"name": "od", "provider": "a", "workload": {**job, "price_decline_per_year": 0.3}},
                       {"name": "sp", "provider": "a", "workload": {**job, "tier": "spot", "price_usd_per_gpu_hour": 1.0}}]
    v = _variant(scenario_from_dict(base))
    used = v.account.monthly["jobs_gpu_h"][0]               # (tenants, months)
    edges = np.array([(m - v.scenario.start).days * 24 for m in v.account.month_starts[1:]] + [400 * 24])
    starts = np.concatenate([[0], edges[:-1]])
    years = (starts + edges) / 2 / 8760
    lines = v.finance.lines
    np.testing.assert_allclose(lines["revenue_on_demand_usd"][0, 0], used[0] * 4.0 * 0.7 ** years, rtol=1e-12)
    np.testing.assert_allclose(lines["revenue_spot_usd"][0, 0], used[1] * 1.0, rtol=1e-12)
    assert lines["revenue_on_demand_usd"][0, 0, -1] < 4.0 * used[0, -1] * 0.71 ** 1.0


def _short_reservation(base, **reservation):
    """40 GPUs reserved on 32 that exist: 20% of the contracted GPU-hours are not delivered."""
    s = _reserved(copy.deepcopy(base), 0.5)
    res = s.tenants[0].reservation.model_dump()
    res.update(gpus=40.0, **reservation)
    data = copy.deepcopy(base)
    data.update(horizon="60d", node_types=[nt.model_dump() for nt in s.node_types],
                deployments=[d.model_dump() for d in s.deployments],
                tenants=[{"name": "r", "provider": "a", "reservation": res}])
    return _variant(scenario_from_dict(data))


@pytest.mark.parametrize("sla, credited_share", [
    ({}, 0.2),                                                   # default: every undelivered GPU-hour at its price
    ({"availability_target": 0.9, "credit_multiple": 2.0}, 0.2),  # (20% - 10% allowed) x 2
    ({"availability_target": 0.9, "credit_multiple": 2.0, "credit_cap_share": 0.05}, 0.05),
    ({"availability_target": 0.8}, 0.0),                          # within the target: no credit
])
def test_sla_credits_follow_target_multiple_and_cap(base, sla, credited_share):
    v = _short_reservation(base, sla=sla)
    bill = 40 * 1440 * 2.5
    assert v.metrics["reserved_shortfall_gpu_hours"][0] == pytest.approx(8 * 1440)
    assert v.finance.lines["revenue_reserved_usd"].sum() == pytest.approx(bill)     # take-or-pay
    assert v.metrics["sla_credits_usd"][0] == pytest.approx(credited_share * bill, abs=1e-6)
    assert v.metrics["revenue_usd"][0] == pytest.approx((1 - credited_share) * bill)


def test_contract_value_prepayment_and_pay_as_used(base):
    value = 40 * 1440 * 2.5
    v = _short_reservation(base, price_usd_per_gpu_hour=0.0, contract_value_usd=value, term="60d",
                           prepayment_share=0.2)
    L = {k: a[0, 0] for k, a in v.finance.lines.items()}
    assert L["revenue_reserved_usd"].sum() == pytest.approx(value)    # the value sets the price: 2.5
    assert L["prepayments_received_usd"][0] == pytest.approx(0.2 * value) == L["prepayments_received_usd"].sum()
    np.testing.assert_allclose(L["prepayments_applied_usd"], 0.2 * L["revenue_reserved_usd"], rtol=1e-12)
    assert L["fcf_usd"].sum() == pytest.approx(L["ebitda_usd"].sum())  # cash early, same total over the term
    assert L["fcf_usd"][0] > L["ebitda_usd"][0]
    used = _short_reservation(base, take_or_pay=False)                 # pays delivered GPU-hours x mean use
    assert used.metrics["revenue_usd"][0] == pytest.approx(32 * 1440 * 0.5 * 2.5)
    assert used.metrics["sla_credits_usd"][0] == 0


# ---------------------------------------------------------------- hosting: fit-out, delays, merger

def test_fitout_is_recouped_by_netting_a_share_of_fees(base):
    s = _host_and_client(copy.deepcopy(base), years=3, escalator=0.0, client_fitout_usd_per_mw=1.5e6,
                         fitout_netting_share=0.5)
    fin = _variant(s).finance
    host, client = fin.companies.index("host"), fin.companies.index("client")
    fees = fin.lines["hosting_fees_received_usd"][0, host]
    assert fin.lines["fitout_capex_usd"][0, client, 0] == 15e6 == fin.lines["fitout_capex_usd"].sum()
    netted = np.diff(np.minimum(np.cumsum(0.5 * fees), 15e6), prepend=0.0)   # half of each fee until repaid
    np.testing.assert_allclose(fin.lines["fitout_recovered_usd"][0, client], netted, rtol=1e-9)
    np.testing.assert_allclose(fin.lines["fitout_netted_usd"][0, host], netted, rtol=1e-9)
    assert fin.lines["fitout_recovered_usd"].sum() == pytest.approx(15e6)
    assert fin.lines["hosting_fees_paid_usd"].sum() == pytest.approx(fees.sum())   # EBITDA sees the whole fee
    merged = _variant(_host_and_client(copy.deepcopy(base), years=3, escalator=0.0, merged=True,
                                       client_fitout_usd_per_mw=1.5e6)).finance
    assert merged.lines["fitout_recovered_usd"].sum() == merged.lines["fitout_netted_usd"].sum() == 0
    assert merged.lines["fitout_capex_usd"].sum() == 15e6          # one company: its own capex


def test_netting_restarts_when_a_later_tranche_is_funded():
    from sim.money.contracts import netted_hourly
    fee = np.full(10, 2.0)
    funded = np.zeros(10)
    funded[0], funded[6] = 3.0, 1.5
    np.testing.assert_allclose(netted_hourly(fee, funded, 0.5), [1, 1, 1, 0, 0, 0, 1, 0.5, 0, 0])


def _delayed(base, merged=False):
    """A client deployment and reservation due 2026-02-01 at a site its host delivers late."""
    base["start"] = "2026-01-01"
    base["horizon"] = "200d"
    base["companies"] = [{"name": "host"}, {"name": "client"}]
    base["sites"][0]["owner"] = "host"
    base["node_types"] = [{"name": "g", "gpus_per_node": 8, "gpu_idle_w": 100, "gpu_max_w": 700}]
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 4, "start": "2026-02-01", "owner": "client"}]
    base["tenants"] = [{"name": "r", "provider": "client", "reservation": {
        "node_type": "g", "gpus": 32, "start": "2026-02-01", "price_usd_per_gpu_hour": 2.0}}]
    base["hosting_contracts"] = [{"host": "host", "client": "client", "site": "s1", "billable_mw": 1.0,
                                  "fee_usd_per_kw_month": 100, "start": "2026-02-01", "term": "5y",
                                  "delivery_delay": {"probability": 1.0, "mean_delay": "30d"}}]
    if merged:
        base["scenario"] = "merged"
        base["merger"] = {"into": "client", "members": ["client", "host"]}
    return scenario_from_dict(base)


def test_delivery_delay_moves_capacity_and_billing_the_same_in_both_variants(base):
    from sim.engine.delays import site_delay_h
    from sim.money.finance import statements
    standalone, merged = _delayed(copy.deepcopy(base)), _delayed(copy.deepcopy(base), merged=True)
    _, variants = run_variants([merged, standalone], seed=3, replicas=3, backend="numpy", workers=1)
    delays = np.array([site_delay_h(standalone, 3, k, "s1") for k in range(3)])
    assert (delays > 0).all() and len(set(delays)) == 3 and (delays == np.round(delays)).all()
    for v in variants:   # the engine brought the client's GPUs online late: the reservation missed them
        np.testing.assert_allclose(v.metrics["reserved_shortfall_gpu_hours"], 32 * delays)
        np.testing.assert_allclose(v.metrics["sla_credits_usd"], 32 * delays * 2.0)
    fin = statements(standalone, variants[1].account, variants[1].runs)   # billing starts on delivery
    start_h = 31 * 24
    np.testing.assert_allclose(fin.lines["hosting_fees_paid_usd"].sum(axis=(1, 2)),
                               1000 * 100 / HOURS_PER_MONTH * (200 * 24 - start_h - delays), rtol=1e-12)


def test_intercompany_nets_to_zero_with_synergies_ramping(base):
    s = _host_and_client(copy.deepcopy(base), merged=True)
    s = s.model_copy(update={"merger": s.merger.model_copy(update={"synergy_usd_per_year": 8.76e6,
                                                                   "synergy_ramp_years": 1.0})})
    fin = _variant(s).finance
    assert fin.lines["intercompany_fees_paid_usd"].sum() == pytest.approx(fin.lines["intercompany_fees_received_usd"].sum())
    synergies = fin.lines["synergies_usd"][0, 0]
    assert synergies[:12].sum() == pytest.approx(1000 * 8759 / 2, rel=1e-12)   # sum of h / 8760 x 1000 per hour
    assert synergies[12:24].sum() == pytest.approx(8.76e6, rel=1e-12)


def test_a_contract_without_a_delay_is_billed_on_time_at_a_late_site(base):
    """Two clients at one site; only b's contract has a delivery delay. The engine delays only
    b's deployments, so only b's fees move: c pays from its own start."""
    base["start"], base["horizon"] = "2026-01-01", "1y"
    base["companies"] = [{"name": "host"}, {"name": "b"}, {"name": "c"}]
    base["sites"][0]["owner"] = "host"
    contract = {"host": "host", "site": "s1", "billable_mw": 5, "fee_usd_per_kw_month": 120, "term": "12y",
                "start": "2026-02-01"}
    base["hosting_contracts"] = [dict(contract, client="b", delivery_delay={"probability": 1.0, "mean_delay": "30d"}),
                                 dict(contract, client="c")]
    fin = _variant(scenario_from_dict(base)).finance
    paid = fin.lines["hosting_fees_paid_usd"][0]
    b, c = fin.companies.index("b"), fin.companies.index("c")
    assert paid[c][0] == 0 and paid[c][1] == pytest.approx(5000 * 120 * 672 / HOURS_PER_MONTH)   # all of February
    assert paid[b][1] < paid[c][1]                                                             # b starts late


def test_a_reservation_starting_after_the_horizon_counts_nothing(base):
    """A contract that begins after the horizon adds no contracted GPU-hours (it used to add a
    negative amount) and leaves offered load and SLA attainment alone."""
    s = _reserved(copy.deepcopy(base), 0.5, with_jobs=True)
    late = s.tenants[0].model_copy(update={"name": "later", "reservation": s.tenants[0].reservation.model_copy(
        update={"start": dt.date(2027, 1, 1), "term": 720.0})})
    with_late = s.model_copy(update={"tenants": [*s.tenants, late]})
    a, b = _variant(s), _variant(with_late)
    assert b.account.offered_load == a.account.offered_load
    assert b.metrics["sla_attainment"][0] == a.metrics["sla_attainment"][0]


# ---------------------------------------------------------------- legacy loads

def _mining(base, merged=False, own_plan=False):
    base["start"] = "2026-01-01"
    base["horizon"] = "1y"
    base["companies"] = [{"name": "miner"}, {"name": "cloud"}]
    # leased at $2e5 per MW-year of critical IT (a kW-month is 730 h), at PUE 1, no lease-up
    plan = {"start": "2026-03-01", "months": 2, "capex_usd_per_mw": 1e6, "pue_after": 1.0,
            "lease_usd_per_kw_month": 2e5 * 730 / 8760 / 1000}
    base["sites"][0].update(owner="miner", legacy_loads=[{
        "name": "btc", "mw": 10, "revenue_usd_per_mw_year": 5e5, "power_usd_per_mwh": 40.0,
        "opex_usd_per_mw_year": 1e4, **({"conversion": plan} if own_plan else {})}])
    if merged:
        base["scenario"] = "merged"
        base["merger"] = {"into": "cloud", "members": ["cloud", "miner"], "convert_legacy_loads": plan}
    return scenario_from_dict(base)


def test_legacy_load_money_and_its_conversion(base):
    keep = _variant(_mining(copy.deepcopy(base))).finance
    c = keep.companies.index("miner")
    assert keep.lines["revenue_legacy_usd"][0, c].sum() == pytest.approx(10 * 5e5, rel=1e-12)
    assert keep.lines["legacy_energy_usd"][0, c].sum() == pytest.approx(10 * 8760 * 40.0, rel=1e-12)
    assert keep.lines["opex_usd"][0, c].sum() == pytest.approx(10 * 1e4, rel=1e-12)
    assert keep.lines["conversion_capex_usd"].sum() == 0
    merged = _variant(_mining(copy.deepcopy(base), merged=True)).finance
    own = _variant(_mining(copy.deepcopy(base), own_plan=True)).finance
    a, n = 59 * 24, 2 * 730                      # from 2026-03-01, over 1460 h, winding down linearly
    running_mwh = 10 * (a + (n + 1) / 2)
    for fin in (merged, own):
        lines = {k: x[0].sum(axis=0) for k, x in fin.lines.items()}
        assert lines["revenue_legacy_usd"].sum() == pytest.approx(running_mwh * 5e5 / 8760, rel=1e-12)
        assert lines["legacy_energy_usd"].sum() == pytest.approx(running_mwh * 40.0, rel=1e-12)
        assert lines["revenue_converted_usd"].sum() == pytest.approx((10 * 8760 - running_mwh) * 2e5 / 8760, rel=1e-12)
        assert lines["conversion_capex_usd"].sum() == pytest.approx(10 * 1e6, rel=1e-12)
        assert lines["conversion_capex_usd"][[2, 3]].sum() == pytest.approx(10 * 1e6, rel=1e-9)  # March-April


# ---------------------------------------------------------------- bad contract input (DESIGN §12)

def _contract_config(base):
    base["companies"] = [{"name": "host"}, {"name": "client"}]
    base["sites"][0]["owner"] = "host"
    base["node_types"] = [{"name": "g", "gpus_per_node": 8, "gpu_idle_w": 100, "gpu_max_w": 700}]
    base["tenants"] = [{"name": "r", "provider": "client", "reservation": {
        "node_type": "g", "gpus": 8, "price_usd_per_gpu_hour": 2.0, "term": "30d"}}]
    base["hosting_contracts"] = [{"host": "host", "client": "client", "site": "s1", "contract_mw": 10,
                                  "billable_mw": {"2026-01-05": 5, "2026-06-01": 10}, "fee_usd_per_kw_month": 120,
                                  "term": "12y"}]
    return base


def _set(config, path, value):
    node = config
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    for key in parents:
        node = node[key]
    node[last] = value
    return config


BAD_CONTRACTS = [
    ("hosting_contracts.0.term", 0, "hosting_contracts[0].term: expected a positive duration"),
    ("hosting_contracts.0.term", "-5y", "hosting_contracts[0].term: expected a duration"),
    ("tenants.0.reservation.term", "0d", "tenants[0].reservation.term: expected a positive duration"),
    ("hosting_contracts.0.fee_usd_per_kw_month", -120, "hosting_contracts[0].fee_usd_per_kw_month: "),
    ("tenants.0.reservation.price_usd_per_gpu_hour", -2.0, "tenants[0].reservation.price_usd_per_gpu_hour: "),
    ("hosting_contracts.0.billable_mw", {"2026-01-05": 5, "2026-06-01": 12},
     "hosting_contracts[0].billable_mw[2026-06-01]: the ramp reaches 12 MW, beyond contract_mw 10"),
    ("hosting_contracts.0.billable_mw", 11, "hosting_contracts[0].billable_mw: the ramp reaches 11 MW"),
    ("hosting_contracts.0.client", "acme", "hosting_contracts[0].client: unknown company 'acme'"),
    ("hosting_contracts.0.host", "acme", "hosting_contracts[0].host: unknown company 'acme'"),
    ("tenants.0.provider", "acme", "tenants[0].provider: unknown company 'acme'"),
    ("hosting_contracts.0.renewals_exercised", 1, "hosting_contracts[0].renewals_exercised: 1 exercised but only 0"),
    ("companies.0.debt", [{"name": "l", "principal_usd": 1e6, "rate": {"sofr_plus": 0.02}, "maturity": "2030-01"}],
     "companies[0].debt[0].rate: a floating rate (sofr_plus) needs companies[0].sofr"),
    ("companies.0.debt", [{"name": "l", "principal_usd": 1e6, "rate": {"sofr": 0.02}, "maturity": "2030-01"}],
     "companies[0].debt[0].rate: expected {sofr_plus: spread}"),
    ("companies.0.debt", [{"name": "l", "principal_usd": 1e6, "rate": 1.5, "maturity": "2030-01"}],
     "companies[0].debt[0].rate: expected an annual rate from 0 to 1"),
    ("tenants.0.reservation.contract_value_usd", 1e6,
     "tenants[0].reservation: give price_usd_per_gpu_hour or contract_value_usd, not both"),
    ("tenants.0.reservation.sla", {"availability_target": 1.2}, "tenants[0].reservation.sla.availability_target: "),
    ("hosting_contracts.0.delivery_delay", {"probability": 0.3}, "hosting_contracts[0].delivery_delay.mean_delay: "),
]


@pytest.mark.parametrize("path, value, message", BAD_CONTRACTS, ids=[f"{p}={v}" for p, v, _ in BAD_CONTRACTS])
def test_bad_contract_input_is_one_line_naming_its_place(base, path, value, message):
    from sim.errors import ConfigError
    scenario_from_dict(_contract_config(copy.deepcopy(base)))     # the control is valid
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(_set(_contract_config(copy.deepcopy(base)), path, value))
    text = str(err.value)
    assert "\n" not in text and text.startswith(f"config: {message}"), text


def test_bad_contract_input_through_the_command_line(base, tmp_path):
    """Exit code 2, one line on stderr naming the YAML path, no traceback, nothing written."""
    import subprocess
    import sys
    import yaml
    config = _set(_contract_config(copy.deepcopy(base)), "hosting_contracts.0.billable_mw", 11)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run([sys.executable, "-m", "sim", str(path), "--out", str(tmp_path / "out"), "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "hosting_contracts[0].billable_mw" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()


# ---------------------------------------------------------------- a reservation lending idle GPUs to spot

def _lending(base, lend_idle: bool):
    """16 GPUs; a pay-as-used reservation of 8 whose use swings 0-100% over each day (mean 0.5,
    diurnal amplitude 1, peak at noon, no noise); spot work that would fill every GPU."""
    base["node_types"] = [{"name": "g", "gpus_per_node": 8, "gpu_idle_w": 100, "gpu_max_w": 700}]
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 2}]
    base["tenants"] = [
        {"name": "r", "provider": "a", "reservation": {
            "node_type": "g", "gpus": 8, "price_usd_per_gpu_hour": 2.0, "take_or_pay": False, "lend_idle": lend_idle,
            "utilization": {"mean": 0.5, "diurnal_amplitude": 1.0, "peak_hour": 12}}},
        {"name": "spot", "provider": "a", "workload": {
            "node_type": "g", "tier": "spot", "arrival_rate_per_h": 20, "price_usd_per_gpu_hour": 1.0,
            "gpus": {"dist": "fixed", "value": 1}, "duration_h": {"dist": "exponential", "mean": 1.0}}}]
    base["scheduler"] = {"policy": "priority"}
    return _variant(scenario_from_dict(base))


def test_lending_idle_reserved_gpus_to_spot(base):
    lent, kept = _lending(copy.deepcopy(base), True), _lending(copy.deepcopy(base), False)
    hours = np.arange(240)
    in_use = np.rint(8 * np.clip(0.5 * (1 + np.cos(2 * np.pi * (hours % 24 - 12) / 24)), 0, 1))
    r, spot = 0, 1
    # the tenant holds exactly the GPUs it uses, hour by hour, and always gets them back
    assert lent.account.monthly["reserved_gpu_h"][0, r].sum() == pytest.approx(in_use.sum())
    assert lent.metrics["reserved_shortfall_gpu_hours"][0] == 0
    # it pays for those GPU-hours; kept idle, it paid for 8 x 240 GPU-hours at its mean use
    assert lent.finance.lines["revenue_reserved_usd"].sum() == pytest.approx(2.0 * in_use.sum())
    assert kept.finance.lines["revenue_reserved_usd"].sum() == pytest.approx(2.0 * 8 * 240 * 0.5)
    # spot work gets the idle reserved GPU-hours: 8 GPUs kept idle give it only the other 8
    assert kept.account.monthly["jobs_gpu_h"][0, spot].sum() <= 8 * 240 + 1e-9
    gained = lent.account.monthly["jobs_gpu_h"][0, spot].sum() - kept.account.monthly["jobs_gpu_h"][0, spot].sum()
    assert gained > 0.9 * (8 * 240 - in_use.sum())
    # the GPUs the tenant uses run at full load (600 W above idle), spot jobs at their utilization 0.8
    spot_gpu_h = lent.account.monthly["jobs_gpu_h"][0, spot].sum()
    it_wh = 16 * 240 * 100 + in_use.sum() * 600 + spot_gpu_h * 0.8 * 600
    assert lent.metrics["energy_it_mwh"][0] == pytest.approx(it_wh / 1e6, rel=1e-9)
