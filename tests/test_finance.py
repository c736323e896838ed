"""Money against closed forms and hand computation (DESIGN §9)."""
import copy
import datetime as dt

import numpy as np
import pytest

from sim.config import scenario_from_dict
from sim.experiment import run_variants
from sim.finance import HOURS_PER_MONTH, loan_schedule


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


def _host_and_client(base, years=2, escalator=0.03, merged=False):
    base["horizon"] = f"{years}y"
    base["start"] = "2026-01-01"
    base["companies"] = [{"name": "host", "discount_rate": 0.08}, {"name": "client", "discount_rate": 0.12}]
    base["sites"][0]["owner"] = "host"
    base["hosting_contracts"] = [{"host": "host", "client": "client", "site": "s1", "billable_mw": 10,
                                  "fee_usd_per_kw_month": 120, "escalator_per_year": escalator, "term": "12y"}]
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
