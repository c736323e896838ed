"""Terminal value, IRR, payback and the buyer's view of a deal, against hand computations."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from sim import api
from sim.config.loading import scenario_from_dict
from sim.config.schema import Offer
from sim.errors import ConfigError
from sim.experiment.stats import summarize
from sim.money.offer import buyer_price_at_close, offer_metrics, ratio_applied
from sim.money.valuation import irr, owned_mw, payback_years, terminal_values

ROOT = Path(__file__).resolve().parents[1]


def _lines(months=24, fcf=100.0, ebitda=50.0, integration=0.0, gpus_resale=0.0):
    shape = (1, 1, months)
    return {"fcf_usd": np.full(shape, fcf), "ebitda_usd": np.full(shape, ebitda),
            "integration_cost_usd": np.full(shape, integration), "collateral_value_usd": np.full(shape, gpus_resale)}


def _company(base, **terminal_value):
    base["companies"][0]["terminal_value"] = terminal_value
    return scenario_from_dict(base)


def test_gordon_terminal_value_by_hand(base):
    """Last 12 months' FCF 1,200, growing 2% at a 10% rate: 1,200 x 1.02 / 0.08 = 15,300."""
    s = _company(base, method="gordon", growth=0.02)
    assert terminal_values(s, ["a"], _lines())[0, 0] == pytest.approx(15_300.0, rel=1e-12)


def test_exit_multiple_counts_ebitda_before_integration_cost(base):
    """8 x (12 x 50 EBITDA + the 120 of one-off integration cost added back) = 5,760."""
    s = _company(base, method="exit_multiple", ebitda_multiple=8)
    assert terminal_values(s, ["a"], _lines(integration=10.0))[0, 0] == pytest.approx(8 * (600 + 120), rel=1e-12)


def test_per_mw_counts_owned_critical_it_and_converted_load(base):
    """100 MW of critical IT plus the part of a 40 MW mining load converted by the horizon: a
    year's horizon from 2026-01-05, the conversion from 2026-07-05 (181 days in) over 12 months
    of 730 h, so 40 x (8760 - 4344) / 8760 MW; times $8M per MW."""
    base["horizon"] = "1y"
    base["sites"][0]["legacy_loads"] = [{"name": "mine", "mw": 40.0, "revenue_usd_per_mw_year": 0.5e6,
                                         "power_usd_per_mwh": 40.0,
                                         "conversion": {"start": "2026-07-05", "months": 12, "capex_usd_per_mw": 1e6,
                                                        "pue_after": 1.0}}]
    s = _company(base, method="per_mw", usd_per_mw=8e6)
    mw = 100.0 + 40.0 * (8760 - 181 * 24) / 8760
    assert owned_mw(s, "a") == pytest.approx(mw, rel=1e-12)
    assert terminal_values(s, ["a"], _lines())[0, 0] == pytest.approx(8e6 * mw, rel=1e-12)
    # the GPUs it owns at the horizon count at their resale value besides the powered MW
    assert terminal_values(s, ["a"], _lines(gpus_resale=3e6))[0, 0] == pytest.approx(8e6 * mw + 3e6, rel=1e-12)


def test_gordon_growth_must_be_below_the_discount_rate(base):
    base["companies"][0]["terminal_value"] = {"method": "gordon", "growth": 0.12}
    with pytest.raises(ConfigError, match=r"companies\[0\].*growth \(0.12\) must be below discount_rate"):
        scenario_from_dict(base)


def test_a_method_takes_only_its_own_number(base):
    base["companies"][0]["terminal_value"] = {"method": "per_mw", "usd_per_mw": 1.0, "growth": 0.01}
    with pytest.raises(ConfigError, match="method per_mw takes no growth"):
        scenario_from_dict(base)


def test_irr_of_known_cash_flows():
    """-1,000 now and 1,100 in a year: 10%. A 12-month annuity of 90 for 1,000: the monthly
    rate r solving the annuity formula, (1 + r)^12 - 1 a year (textbook, found here by the
    closed-form check of its present value)."""
    one_year = np.zeros(13)
    one_year[0], one_year[12] = -1000.0, 1100.0
    assert irr(one_year, first_month=0) == pytest.approx(0.10, abs=1e-10)
    annuity = np.array([-1000.0] + [90.0] * 12)
    rate = float(irr(annuity, first_month=0))
    r = (1 + rate) ** (1 / 12) - 1
    assert 90.0 * (1 - (1 + r) ** -12) / r == pytest.approx(1000.0, rel=1e-10)
    assert 0.154 < rate < 0.155            # about 1.2% a month
    assert np.isnan(irr(np.full(12, 5.0)))          # never negative: no rate of return


def test_payback_years():
    flows = np.array([[-100.0, 30, 30, 30, 30], [10.0, 10, 10, 10, 10], [-100.0, 10, 10, 10, 10]])
    got = payback_years(flows, first_month=0)
    assert got[0] == pytest.approx(4 / 12) and got[1] == 0.0 and np.isnan(got[2])


def test_the_deal_is_merged_minus_standalone_less_the_price(tmp_path):
    """On the horizontal merger example with $8M/MW terminal values: the deal's NPV is the
    merged company's NPV minus the buyer's standalone NPV, less the price; with terminal values
    the horizon's MW move to the buyer (west's 1 MW), discounted over the horizon."""
    for name in ("horizontal_common", "horizontal_merger", "horizontal_standalone"):
        text = (ROOT / "configs" / "examples" / f"{name}.yaml").read_text()
        (tmp_path / f"{name}.yaml").write_text(text)
    common = yaml.safe_load((tmp_path / "horizontal_common.yaml").read_text())
    for c in common["companies"]:
        c["terminal_value"] = {"method": "per_mw", "usd_per_mw": 8e6}
    (tmp_path / "horizontal_common.yaml").write_text(yaml.safe_dump(common))
    exp = api.run(tmp_path / "horizontal_merger.yaml", replicas=2)
    merged, base = exp.variants
    m, b = merged.metrics, base.metrics
    price = merged.scenario.merger.price_usd
    np.testing.assert_allclose(m["deal_npv_usd"], m["npv_usd"] - b["npv_usd[east]"] - price, rtol=1e-12)
    horizon_years = merged.finance.lines["fcf_usd"].shape[2] / 12
    gpus = lambda v, company: v.finance.lines["collateral_value_usd"][:, v.finance.companies.index(company), -1]
    moved = (8e6 * 1.0 + gpus(base, "west")) * 1.10 ** -horizon_years   # west's MW and GPUs at resale value
    np.testing.assert_allclose(m["deal_npv_with_terminal_usd"] - m["deal_npv_usd"], moved, rtol=1e-9)
    np.testing.assert_allclose(m["terminal_value_usd"], b["terminal_value_usd"], rtol=1e-12)   # MW move, not grow
    assert m["npv_with_terminal_usd"][0] == pytest.approx(
        m["npv_usd"][0] + (8e6 * 2 + gpus(merged, "east")[0]) * 1.10 ** -horizon_years)
    summary = exp.summary["variants"][merged.name]["metrics"]
    assert summary["deal_irr"]["unit"] == "fraction" and "deal_payback_years" in summary


# ---------------------------------------------------------------- the offer, per share

def _offer(**over):
    fields = {"target": "b", "exchange_ratio": 0.1235, "target_shares": 1000.0, "buyer_shares": 4000.0,
              "buyer_share_price_usd": 165.20, "signing": "2025-07-07", "close": "2025-12-01"}
    return Offer(**{**fields, **over})


def test_an_exchange_ratio_offer_per_share_by_hand():
    offer = _offer()
    price = buyer_price_at_close(offer, [(1, 0), (1, 1)])
    assert price.tolist() == [165.20, 165.20]                 # no volatility: the price at signing
    assert (ratio_applied(offer, price) * price)[0] == pytest.approx(0.1235 * 165.20, rel=1e-15)   # $20.40
    collared = _offer(collar={"min_price_usd": 150.0, "max_price_usd": 200.0})
    prices = np.array([100.0, 165.2, 250.0])
    np.testing.assert_allclose(ratio_applied(collared, prices) * prices, [0.1235 * 150, 0.1235 * 165.2, 0.1235 * 200],
                               rtol=1e-15)


def test_the_buyers_price_at_close_is_lognormal_around_the_signing_price():
    """No drift: the mean of P0 exp(sigma sqrt(T) Z - sigma^2 T / 2) is P0; its log's sd is sigma sqrt(T)."""
    offer = _offer(buyer_price_volatility=0.8)
    price = buyer_price_at_close(offer, [(3, k) for k in range(4000)])
    years = (offer.close - offer.signing).days / 365.0
    se = price.std(ddof=1) / np.sqrt(price.size)
    assert abs(price.mean() - 165.20) < 4 * se
    assert np.log(price).std(ddof=1) == pytest.approx(0.8 * np.sqrt(years), rel=0.05)


def test_offer_metrics_by_hand(base):
    """Buyer a and target b, each with a constant monthly free cash flow and debt: values per
    share are (NPV - debt) / shares; after the deal, the merged NPV less its debt, less cash paid
    and deal costs, over the buyer's shares plus those issued."""
    base["companies"] = [{"name": "a", "discount_rate": 0.12}, {"name": "b", "discount_rate": 0.12}]
    base["merger"] = {"into": "a", "members": ["a", "b"],
                      "offer": {**_offer(cash_per_share_usd=2.0, deal_costs_usd=100.0,
                                         termination_fee_usd=50.0).model_dump(mode="json"), "collar": None}}
    s = scenario_from_dict(base)
    M = 12
    npv_of = lambda monthly: monthly * sum(1.12 ** (-(m + 1) / 12) for m in range(M))

    def statements(fcf, debt):
        shape = (1, len(fcf), M)
        return SimpleNamespace(companies=list(fcf), lines={
            "fcf_usd": np.broadcast_to(np.asarray(list(fcf.values()), float)[None, :, None], shape).copy(),
            "debt_outstanding_usd": np.broadcast_to(np.asarray(list(debt.values()), float)[None, :, None], shape).copy(),
            "ebitda_usd": np.zeros(shape), "integration_cost_usd": np.zeros(shape)})

    base_st = statements({"a": 1000.0, "b": 300.0}, {"a": 2000.0, "b": 500.0})
    merged_st = statements({"a": 1400.0}, {"a": 2500.0})
    got = {k: float(v[0]) for k, v in offer_metrics(s, merged_st, s, base_st, [(1, 0)]).items()}
    offered = 0.1235 * 165.20 + 2.0
    target = (npv_of(300.0) - 500.0 - 50.0) / 1000.0
    before = (npv_of(1000.0) - 2000.0) / 4000.0
    after = (npv_of(1400.0) - 2500.0 - 2.0 * 1000.0 - 100.0) / (4000.0 + 0.1235 * 1000.0)
    assert got["offer_value_per_share_usd"] == pytest.approx(offered, rel=1e-12)
    assert got["target_standalone_value_per_share_usd"] == pytest.approx(target, rel=1e-12)
    assert got["buyer_standalone_value_per_share_usd"] == pytest.approx(before, rel=1e-12)
    assert got["buyer_value_per_share_after_usd"] == pytest.approx(after, rel=1e-12)
    assert got["buyer_accretion"] == pytest.approx(after / before - 1, rel=1e-12)
    assert got["target_better_off_accepting"] == float(offered > target)


def test_the_offers_target_must_be_another_member(base):
    base["companies"].append({"name": "b"})
    base["merger"] = {"into": "a", "members": ["a", "b"],
                      "offer": {**_offer().model_dump(mode="json"), "target": "a", "collar": None}}
    with pytest.raises(ConfigError, match=r"merger.offer.target: 'a' must be a member other than the buyer"):
        scenario_from_dict(base)


def test_a_probability_across_replicas_has_wilsons_interval():
    """2 of 4 replicas: 15% to 85% (not the t interval's), and never outside [0, 1]."""
    got = summarize({"target_better_off_accepting": np.array([1.0, 0.0, 1.0, 0.0])})["target_better_off_accepting"]
    assert got["mean"] == 0.5 and got["ci95"][0] == pytest.approx(0.150, abs=0.001)
    assert got["ci95"][1] == pytest.approx(0.850, abs=0.001)
    every = summarize({"target_better_off_accepting": np.ones(4)})["target_better_off_accepting"]
    assert every["ci95"][1] == 1.0 and every["ci95"][0] == pytest.approx(0.510, abs=0.001)


# ---------------------------------------------------------------- what flips the answer

def _horizontal(tmp_path, breakevens):
    for name in ("horizontal_common", "horizontal_merger", "horizontal_standalone"):
        (tmp_path / f"{name}.yaml").write_text((ROOT / "configs" / "examples" / f"{name}.yaml").read_text())
    merger = yaml.safe_load((tmp_path / "horizontal_merger.yaml").read_text())
    merger["breakevens"] = breakevens
    (tmp_path / "horizontal_merger.yaml").write_text(yaml.safe_dump(merger))
    return tmp_path / "horizontal_merger.yaml"


def test_a_breakeven_is_within_one_bisection_step_of_the_analytic_one(tmp_path):
    """Synergies a year enter the buyer's free cash flow each calendar month by its hours' share,
    so both the deal's NPV to the buyer and merged minus standalone NPV grow linearly with them,
    at the NPV of $1 a year over the horizon; each crosses zero at -(its value without
    synergies) / that slope. Found by bisection to 1/1000 of the range."""
    high = 5.0e9
    path = _horizontal(tmp_path, [{"path": "merger.synergy_usd_per_year", "low": 0, "high": high,
                                   "metric": "deal_npv_usd"},
                                  {"path": "merger.synergy_usd_per_year", "low": 0, "high": high}])
    exp = api.run(path, replicas=2)
    merged, base = exp.variants
    deal_be, npv_be = exp.breakevens
    s = merged.scenario
    edges = [max(0.0, s.hours_from_start(m)) for m in merged.account.month_starts] + [s.horizon_h]
    slope = sum((b - a) / 8760 * 1.10 ** (-(m + 1) / 12) for m, (a, b) in enumerate(zip(edges, edges[1:])))
    deal = float(np.mean(merged.metrics["deal_npv_usd"]))
    gap = float(np.mean(merged.metrics["npv_usd"] - base.metrics["npv_usd"]))
    assert deal < 0 and gap < 0, "the example must need synergies for the test to say anything"
    assert deal_be.rises and deal_be.configured == 0.0 and deal_be.difference == pytest.approx(deal)
    assert deal_be.value == pytest.approx(-deal / slope, abs=high / 1000)
    assert npv_be.value == pytest.approx(-gap / slope, abs=high / 1000)
    assert npv_be.value < deal_be.value   # the whole pays before the buyer has paid its price
    summary = exp.summary["breakevens"]
    assert summary[0]["path"] == "merger.synergy_usd_per_year" and summary[0]["value"] == deal_be.value


def test_breakevens_vary_only_money_inputs(tmp_path):
    path = _horizontal(tmp_path, [{"path": "deployments[0].nodes", "low": 1, "high": 10}])
    with pytest.raises(ConfigError, match=r"breakevens\[0\].path: .*under merger or companies"):
        api.run(path, replicas=1)
