"""Power as the asset (sim.plan): renewals at the market price, retirement and refresh into the
same MW, conversions whose MW become GPUs one lead time later, lost signings counted once, and
the conservation laws (MW in use within MW online, GPUs bought = online + retired)."""
import copy
import datetime as dt

import numpy as np
import pytest
from hypothesis import given, strategies as st

from sim.config.checks import power_fit
from sim.config.loading import scenario_from_dict
from sim.engine.model import engine_inputs
from sim.experiment.runner import run_variants
from sim.plan import planned
from sim.plan.fleet import plan_fleet
from sim.plan.signings import Ledger, plan_demand, signing_times_h
from sim.rng import stream


def _run(s, replicas=1):
    _, (v,) = run_variants([s], seed=1, replicas=replicas, backend="numpy", workers=1)
    return v


def _renewing(base, other_gpus=0, probability=1.0):
    base["horizon"] = "90d"
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 8}]
    base["market"] = {"prices": [{"node_type": "g", "usd_per_gpu_hour": 2.0, "at": "2026-01-05"}]}
    base["tenants"] = [{"name": "t", "provider": "a", "reservation": {
        "node_type": "g", "gpus": 8, "term": "30d", "price_usd_per_gpu_hour": 3.0,
        "renewal": {"probability": probability, "term": "30d", "discount": 0.1}}}]
    if other_gpus:   # another contract takes GPUs from the day the term ends
        base["tenants"].append({"name": "other", "provider": "a", "reservation": {
            "node_type": "g", "gpus": other_gpus, "start": "2026-02-04", "price_usd_per_gpu_hour": 1.0}})
    return scenario_from_dict(base)


def test_a_renewal_pays_the_market_price_less_its_discount(base):
    s = _renewing(base)
    (p,) = planned([s], seed=1)
    renewal = next(t for t in p.tenants if t.name == "t_renewal")
    assert renewal.reservation.start == dt.date(2026, 2, 4) and renewal.reservation.gpus == 8
    assert renewal.reservation.price_usd_per_gpu_hour == pytest.approx(2.0 * 0.9)
    v = _run(s)
    # 8 GPUs x 720 h at $3, then 8 x 720 h at the market's $2 less 10%
    assert v.metrics["revenue_usd"][0] == pytest.approx(8 * 720 * 3.0 + 8 * 720 * 1.8, abs=0.005)
    assert v.metrics["lost_demand_gpu_hours"][0] == 0 and v.metrics["lost_contracts"][0] == 0


def test_a_renewal_gets_what_stays_uncommitted_and_the_rest_is_lost_once(base):
    s = _renewing(base, other_gpus=5)
    (p,) = planned([s], seed=1)
    renewal = next(t for t in p.tenants if t.name == "t_renewal")
    assert renewal.reservation.gpus == 3                      # 8 online, 5 taken by the other contract
    (lost,) = p._lost_demand
    assert (lost.tenant, lost.gpus, lost.gpu_h) == ("t", 5, 5 * 720.0)
    assert lost.revenue_usd == pytest.approx(5 * 720 * 1.8)
    v = _run(s)
    assert v.metrics["lost_demand_revenue_usd[t]"][0] == pytest.approx(5 * 720 * 1.8)
    assert v.metrics["lost_contracts"][0] == 1


def test_a_tenant_that_does_not_renew_leaves_its_gpus_and_loses_nothing(base):
    (p,) = planned([_renewing(base, probability=0.0)], seed=1)
    assert next(t for t in p.tenants if t.name == "t_renewal").reservation.gpus == 0
    assert p._lost_demand == ()


def _refreshing(base):
    base["horizon"] = "90d"
    base["node_types"] = [
        {"name": "g", "gpus_per_node": 1, "gpu_idle_w": 100.0, "gpu_max_w": 500.0, "capex_usd_per_gpu": 1000.0,
         "depreciation_years": 1.0},
        {"name": "h", "gpus_per_node": 1, "gpu_idle_w": 100.0, "gpu_max_w": 1000.0, "capex_usd_per_gpu": 2000.0,
         "depreciation_years": 1.0}]
    base["companies"] = [{"name": "a", "gpu_resale_decline_per_year": 0.5, "refresh": True,
                          "roadmap": [{"start": "2026-01-01", "node_type": "h"}], "procurement_lead_time": "10d"}]
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 100, "retire": "2026-02-04"}]
    return scenario_from_dict(base)


def test_a_retired_deployments_mw_get_the_roadmaps_sku_one_lead_time_later(base):
    s = plan_fleet(_refreshing(base))
    (old, new) = s.deployments
    assert (new.node_type, new.nodes, new.start, new.owner) == ("h", 50, dt.date(2026, 2, 14), "a")  # 50 kW / 1 kW
    v = _run(_refreshing(base))
    online = v.account.daily["gpus_online"].sum(axis=0)
    np.testing.assert_allclose(online[:30], 100)     # g until it retires on day 30
    np.testing.assert_allclose(online[30:40], 0)     # its MW wait for the new nodes
    np.testing.assert_allclose(online[40:], 50)
    L, c = v.finance.lines, 0
    capex_g = 100 * 1000.0
    proceeds = capex_g * 0.5 ** (1 / 12)            # sold in February, one month old
    book = capex_g - capex_g / 12                     # January's depreciation booked
    assert L["resale_proceeds_usd"][0, c, 1] == pytest.approx(proceeds, rel=1e-12)
    assert L["retirement_gain_usd"][0, c, 1] == pytest.approx(proceeds - book, rel=1e-12)
    assert L["capex_usd"][0, c, 0] == pytest.approx(capex_g) and L["capex_usd"][0, c, 1] == pytest.approx(100000.0)
    assert L["depreciation_usd"][0, c, 0] == pytest.approx(capex_g / 12 + 0)   # g in January only
    assert L["depreciation_usd"][0, c, 1] == pytest.approx(50 * 2000.0 / 12)   # then h
    assert L["collateral_value_usd"][0, c, 1] == pytest.approx(100000.0 * 0.5 ** (1 / 12))  # h only, a month old


def _converting(base, use="gpus", signings=None):
    base["horizon"] = "120d"
    base["sites"].append({"name": "s2", "owner": "a", "critical_it_mw": 0.0, "pue": 1.0,
                          "energy_price": {"flat_usd_per_mwh": 50.0}, "carbon": {"flat_kg_per_mwh": 400.0}})
    conv = {"start": "2026-01-05", "months": 1, "capex_usd_per_mw": 0.0, "pue_after": 1.25, "into_site": "s2",
            "use": use}
    if use == "lease":
        conv.update(lease_usd_per_kw_month=100.0, lease_up_months=1)
    base["sites"][0]["legacy_loads"] = [{"name": "mining", "mw": 0.0125, "revenue_usd_per_mw_year": 0.0,
                                         "power_usd_per_mwh": 40.0, "conversion": conv}]
    base["companies"] = [{"name": "a", "roadmap": [{"start": "2026-01-01", "node_type": "g"}],
                          "procurement_lead_time": "10d"}]
    base["market"] = {"prices": [{"node_type": "g", "usd_per_gpu_hour": 2.0, "at": "2026-01-05"}],
                      "signings": signings or []}
    return scenario_from_dict(base)


def test_converted_mw_become_gpus_one_lead_time_after_each_step(base):
    s = plan_fleet(_converting(base))
    # 12.5 kW of load at PUE 1.25 -> 10 kW of critical IT in s2 after 730 h (day 31), 20 nodes of 500 W
    assert s.site("s2").critical_it_mw == {dt.date(2026, 1, 5): 0.0, dt.date(2026, 2, 5): 0.01}
    (fill,) = s.deployments
    assert (fill.site, fill.node_type, fill.nodes, fill.start) == ("s2", "g", 20, dt.date(2026, 2, 15))
    assert power_fit(s) is None


def test_a_demand_step_is_served_exactly_one_lead_time_later(base):
    signings = [{"name": "new", "provider": "a", "node_type": "g", "per_year": 300, "start": "2026-01-05",
                 "end": "2026-03-01", "gpus": {"dist": "fixed", "value": 1}, "term": "20d", "patience": "60d"}]
    s = plan_fleet(_converting(base, signings=signings))
    p, lost = plan_demand(s, seed=1, replica=0)
    times = signing_times_h(s, s.market.signings[0], stream(1, 0, "signings/new"))
    assert times.size > 20 and lost == []
    online_day = 41                                   # 2026-02-15: the MW step (day 31) + 10 days
    levels = next(t for t in p.tenants if t.name == "new").reservation.gpus
    arrived = lambda day: int((np.ceil(times / 24 - 1e-9) <= day).sum())
    # every signing before the GPUs exist waits for them; none starts earlier
    assert max((g for d, g in levels.items() if (d - s.start).days < online_day), default=0) == 0
    assert levels[s.start + dt.timedelta(days=online_day)] == arrived(online_day)


def test_a_lost_signing_is_counted_once_in_gpu_hours_and_revenue(base):
    signings = [{"name": "new", "provider": "a", "node_type": "g", "per_year": 40, "gpus": {"dist": "fixed", "value": 3},
                 "term": "30d"}]
    base["horizon"] = "120d"
    base["market"] = {"prices": [{"node_type": "g", "usd_per_gpu_hour": 2.0, "at": "2026-01-05"}],
                      "signings": signings}
    s = scenario_from_dict(base)                      # no GPUs of g at all: every signing is lost
    _, lost = plan_demand(s, seed=1, replica=0)
    times = signing_times_h(s, s.market.signings[0], stream(1, 0, "signings/new"))
    assert len(lost) == times.size > 0
    days = np.ceil(times / 24 - 1e-9)
    hours = np.minimum(days * 24 + 720, s.horizon_h) - days * 24
    assert sum(x.gpu_h for x in lost) == pytest.approx(3 * hours.sum())
    v = _run(s)
    assert v.metrics["lost_contracts"][0] == times.size
    assert v.metrics["lost_demand_gpu_hours[new]"][0] == pytest.approx(3 * hours.sum())
    assert v.metrics["lost_demand_revenue_usd"][0] == pytest.approx(sum(x.revenue_usd for x in lost))


def test_leased_conversions_bill_after_their_lease_up(base):
    v = _run(_converting(base, use="lease"))
    L = v.finance.lines["revenue_converted_usd"][0, 0]
    # 10 kW x $100 per kW-month, ramping over the month after a one-month lease-up: hours 730..1460
    hours = np.arange(v.scenario.n_hours)
    leased_kw = 10 * np.clip((hours - 730) / 730, 0, 1)
    assert L.sum() == pytest.approx((leased_kw * 100 / 730).sum(), rel=1e-12)
    assert v.scenario.deployments == []


def test_merged_and_standalone_run_the_same_fleet_when_their_conversion_policies_coincide(base):
    base["companies"] = [{"name": "host"}, {"name": "cloud", "roadmap": [{"start": "2026-01-01", "node_type": "g"}]}]
    base["sites"][0]["owner"] = "host"
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 4, "owner": "cloud"}]
    base["sites"][0]["legacy_loads"] = [{"name": "mining", "mw": 10, "revenue_usd_per_mw_year": 1e5,
                                         "power_usd_per_mwh": 40.0, "conversion": {
                                             "start": "2026-01-05", "months": 2, "capex_usd_per_mw": 1e5,
                                             "lease_usd_per_kw_month": 100, "lease_up_months": 0}}]
    standalone = scenario_from_dict(copy.deepcopy(base))
    base["scenario"] = "merged"
    base["merger"] = {"into": "cloud", "members": ["cloud", "host"]}
    merged = scenario_from_dict(copy.deepcopy(base))
    base["merger"]["convert_legacy_loads"] = dict(base["sites"][0]["legacy_loads"][0]["conversion"])
    merged_same_plan = scenario_from_dict(base)
    inputs = engine_inputs(plan_fleet(standalone))
    assert engine_inputs(plan_fleet(merged)) == inputs == engine_inputs(plan_fleet(merged_same_plan))
    lease = lambda s: _run(s).finance.lines["revenue_converted_usd"].sum()
    assert lease(standalone) == pytest.approx(lease(merged), rel=1e-12) and lease(merged) > 0


def test_config_errors_name_the_field(base):
    from sim.errors import ConfigError
    bad = copy.deepcopy(base)
    bad["market"] = {"signings": [{"name": "x", "provider": "a", "node_type": "g", "per_year": 1,
                                   "gpus": {"dist": "fixed", "value": 1}, "term": "1y"}]}
    with pytest.raises(ConfigError, match=r"market.signings\[0\].node_type: no market.prices entry for 'g'"):
        scenario_from_dict(bad)
    bad = copy.deepcopy(base)
    bad["companies"][0]["refresh"] = True
    with pytest.raises(ConfigError, match=r"companies\[0\]: .*refresh needs a roadmap"):
        scenario_from_dict(bad)
    bad = copy.deepcopy(base)
    bad["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 1, "start": "2026-02-01", "retire": "2026-01-01"}]
    with pytest.raises(ConfigError, match=r"deployments\[0\].retire: 2026-01-01 is not after"):
        scenario_from_dict(bad)


# ---------------------------------------------------------------- conservation laws

fleet = st.lists(st.tuples(st.integers(1, 40), st.integers(0, 60), st.integers(5, 80)), min_size=1, max_size=5)


@given(fleet=fleet, refresh=st.booleans(), build=st.booleans(), rate=st.floats(1, 200), size=st.integers(1, 30),
       term_days=st.integers(1, 60), patience_days=st.integers(0, 30))
def test_gpus_are_conserved_and_commitments_stay_within_online_gpus(fleet, refresh, build, rate, size, term_days,
                                                                   patience_days):
    import tests.conftest as c
    base = copy.deepcopy(c.BASE)
    base["horizon"] = "120d"
    base["sites"][0]["critical_it_mw"] = 0.5          # 1000 nodes of 500 W
    base["node_types"].append({"name": "h", "gpus_per_node": 2, "gpu_idle_w": 100.0, "gpu_max_w": 400.0})
    base["companies"] = [{"name": "a", "refresh": refresh, "procurement_lead_time": "5d",
                          "roadmap": [{"start": "2026-01-01", "node_type": "g"}, {"start": "2026-03-01",
                                                                                  "node_type": "h"}]}]
    start = dt.date(2026, 1, 5)
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": n, "start": str(start + dt.timedelta(days=a)),
                            "retire": str(start + dt.timedelta(days=a + life))} for n, a, life in fleet]
    base["market"] = {"prices": [{"node_type": t, "usd_per_gpu_hour": 2.0, "at": "2026-01-05", "volatility": 0.5}
                                 for t in ("g", "h")],
                      "signings": [{"name": f"new_{t}", "provider": "a", "node_type": t, "per_year": rate,
                                    "gpus": {"dist": "fixed", "value": size}, "term": term_days * 24.0,
                                    "patience": patience_days * 24.0, "build": build} for t in ("g", "h")]}
    s = scenario_from_dict(base)
    (p,) = planned([s], seed=3)
    assert power_fit(p) is None                       # MW in use never above MW online
    # bought = online + retired, every day, per node type
    ledger = Ledger(p)
    days = np.arange(ledger.days)
    for node_type in ("g", "h"):
        deps = [d for d in p.deployments if d.node_type == node_type]
        per = p.node_type(node_type).gpus_per_node
        bought = sum(d.nodes * per * ((days >= (d.start - start).days)) for d in deps)
        retired = sum(d.nodes * per * ((days >= (p.deployment_retire(d) - start).days)) for d in deps
                      if p.deployment_retire(d) is not None)
        online = sum(d.nodes * per * np.array([p.in_service(d, start + dt.timedelta(days=int(k))) for k in days])
                     for d in deps)
        np.testing.assert_array_equal(np.asarray(bought) - np.asarray(retired), np.asarray(online))
        # what the plan committed never exceeds the GPUs online
        free = ledger.free.get(("a", node_type))
        if free is not None:
            assert free.min() >= 0


def _building(base, patience="120d", mw=0.01):
    base["horizon"] = "120d"
    base["sites"][0]["critical_it_mw"] = mw            # 20 nodes of 500 W: no GPUs yet
    base["companies"] = [{"name": "a", "procurement_lead_time": "30d"}]
    base["market"] = {"prices": [{"node_type": "g", "usd_per_gpu_hour": 2.0, "at": "2026-01-05"}],
                      "signings": [{"name": "new", "provider": "a", "node_type": "g", "per_year": 40,
                                    "end": "2026-03-01", "gpus": {"dist": "fixed", "value": 4}, "term": "20d",
                                    "patience": patience, "build": True}]}
    return scenario_from_dict(base)


def test_a_signing_with_build_starts_on_gpus_bought_for_it_one_lead_time_later(base):
    s = _building(base)
    p, lost = plan_demand(s, seed=1, replica=0)
    times = signing_times_h(s, s.market.signings[0], stream(1, 0, "signings/new"))
    days = np.ceil(times / 24 - 1e-9).astype(int)
    assert times.size >= 3
    built = p.deployments
    assert built and all(d.nodes * 1 <= 4 and d.owner == "a" for d in built)
    # each bought batch comes online exactly 30 days after the signing that needed it
    assert {(d.start - s.start).days for d in built} <= {int(day) + 30 for day in days}
    assert power_fit(p) is None                        # never more nodes than the 10 kW hold
    assert sum(d.nodes for d in built) <= 20
    served = sum(1 for _ in days) - len(lost)
    levels = next(t for t in p.tenants if t.name == "new").reservation.gpus
    assert max(levels.values()) <= 20 and served > 0


def test_a_signing_whose_patience_is_shorter_than_the_lead_time_is_lost(base):
    p, lost = plan_demand(_building(base, patience="10d"), seed=1, replica=0)
    assert p.deployments == [] and len(lost) > 0


def test_the_engine_retires_nodes_that_fail_and_sit_in_maintenance(base):
    """Retirement meets failures, repairs and a maintenance window: the run keeps its
    invariants (every job accounted once, allocated within online) and no GPU serves after it."""
    base["horizon"] = "60d"
    base["node_types"][0].update(gpus_per_node=8, failures_per_gpu_year=20.0, repair_h=48.0, economic_life_years=0.05)
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 6}]
    base["maintenance"] = [{"site": "s1", "start": "2026-01-20", "duration": "3d", "node_fraction": 0.5}]
    base["tenants"] = [{"name": "t", "provider": "a", "workload": {
        "node_type": "g", "arrival_rate_per_h": 2.0, "gpus": {"dist": "empirical", "values": [1, 4, 8]},
        "duration_h": {"dist": "exponential", "mean": 10}}}]
    s = scenario_from_dict(base)
    retire_day = (s.deployment_retire(s.deployments[0]) - s.start).days    # 0.05 y = 18 days
    v = _run(s)
    online = v.account.daily["gpus_online"].sum(axis=0)
    assert online[retire_day:].max() == 0 and online[:retire_day].max() > 0
    jobs = v.runs[0].jobs
    assert (jobs["start_h"][~np.isnan(jobs["start_h"])] < retire_day * 24 + 1e-9).all()   # none starts after
    from sim.engine.records import JobTable
    after = jobs["submit_h"] > retire_day * 24
    assert after.any() and (jobs["state"][after] == JobTable.REJECTED).all()   # no capacity to come: rejected


def test_lost_demand_csv_adds_up_to_the_metrics_by_tenant_and_month(base, tmp_path):
    import csv

    import yaml

    from sim import api
    from sim.output.results import write_results
    signings = [{"name": "new", "provider": "a", "node_type": "g", "per_year": 40, "gpus": {"dist": "fixed", "value": 3},
                 "term": "60d"}]
    base["horizon"] = "120d"
    base["replicas"] = 2
    base["market"] = {"prices": [{"node_type": "g", "usd_per_gpu_hour": 2.0, "at": "2026-01-05"}],
                      "signings": signings}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(base))
    exp = api.run(tmp_path / "c.yaml")
    folder = write_results(exp, tmp_path / "out")
    rows = list(csv.DictReader(open(folder / "lost_demand.csv")))
    assert {r["month"] for r in rows} <= {"2026-01", "2026-02", "2026-03", "2026-04", "2026-05"}
    (v,) = exp.variants
    for k in range(2):
        mine = [r for r in rows if r["replica"] == str(k)]
        assert sum(int(r["contracts_lost"]) for r in mine) == v.metrics["lost_contracts"][k] > 0
        assert sum(float(r["gpu_hours"]) for r in mine) == pytest.approx(v.metrics["lost_demand_gpu_hours"][k])
        assert sum(float(r["revenue_usd"]) for r in mine) == pytest.approx(v.metrics["lost_demand_revenue_usd"][k])


def test_a_breakeven_over_an_input_the_plan_reads_is_refused(base):
    from sim.errors import ConfigError
    base["companies"] = [{"name": "a"}, {"name": "b"}]
    base["scenario"] = "m"
    base["merger"] = {"into": "a", "members": ["a", "b"]}
    base["breakevens"] = [{"path": "companies[0].procurement_lead_time", "low": 24, "high": 1000}]
    with pytest.raises(ConfigError, match=r"breakevens\[0\].path: .* changes the fleet's plan"):
        scenario_from_dict(base)


def test_an_expansion_option_adds_mw_when_a_signing_finds_none_free(base):
    """No MW free: the owner exercises the site's option (10 kW in 40 days, $1M per MW): the
    first signing starts 40 days after it is signed (the GPUs take 30), the option's capex is
    booked that day, and later signings use what is left of the 10 kW."""
    s = _building(base, patience="60d", mw=0.0)
    raw = s.model_dump(mode="json")
    raw["sites"][0]["expansions"] = [{"mw": 0.01, "capex_usd_per_mw": 1e6, "lead_time": "40d"}]
    s = scenario_from_dict(raw)
    p, lost = plan_demand(s, seed=1, replica=0)
    times = signing_times_h(s, s.market.signings[0], stream(1, 0, "signings/new"))
    first = int(np.ceil(times[0] / 24 - 1e-9))
    site = p.site("s1")
    assert site.expansions == [] and site.capex_usd == {s.start + dt.timedelta(days=first): 0.01 * 1e6}
    assert site.critical_it_mw[s.start + dt.timedelta(days=first + 40)] == pytest.approx(0.01)
    assert min((d.start - s.start).days for d in p.deployments) == first + 40
    assert power_fit(p) is None and sum(d.nodes for d in p.deployments) <= 20
    v = _run(s)
    capex = v.finance.lines["site_capex_usd"][0, 0]
    exercised = s.start + dt.timedelta(days=first)
    month = (exercised.year - s.start.year) * 12 + exercised.month - s.start.month
    assert capex.sum() == pytest.approx(1e4) and capex[month] == pytest.approx(1e4)   # all of it that month
    # an option that comes too late for the signings' patience is never exercised
    raw["sites"][0]["expansions"][0]["lead_time"] = "90d"
    p, lost = plan_demand(scenario_from_dict(raw), seed=1, replica=0)
    assert p.site("s1").capex_usd == {} and p.deployments == [] and len(lost) == times.size


def test_on_demand_jobs_priced_from_the_market_path(base):
    """A workload with market_premium pays its node type's market price that month, in that
    replica, x (1 + premium): revenue = each month's job GPU-hours x that price."""
    from sim.plan.market import PricePath
    base["horizon"] = "90d"
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 16}]
    base["market"] = {"prices": [{"node_type": "g", "usd_per_gpu_hour": 2.0, "at": "2026-01-05",
                                  "decline_per_year": 0.2, "volatility": 0.5}]}
    base["tenants"] = [{"name": "od", "provider": "a", "workload": {
        "node_type": "g", "arrival_rate_per_h": 0.5, "gpus": {"dist": "fixed", "value": 1},
        "duration_h": {"dist": "exponential", "mean": 5}, "market_premium": 0.5}}]
    v = _run(scenario_from_dict(base), replicas=2)
    for k, run in enumerate(v.runs):
        path = PricePath(v.scenario, v.scenario.market.prices[0], run.seed, run.replica)
        prices = np.array([path.on(day) for day in v.account.month_starts]) * 1.5
        expected = (v.account.monthly["jobs_gpu_h"][k, 0] * prices).sum()
        assert expected > 0
        assert v.finance.lines["revenue_on_demand_usd"][k].sum() == pytest.approx(expected, rel=1e-12)
    assert prices[0] == pytest.approx(3.0)                 # the first month: no shock yet, no decline
    bad = copy.deepcopy(base)
    bad["tenants"][0]["workload"]["price_usd_per_gpu_hour"] = 3.0
    from sim.errors import ConfigError
    with pytest.raises(ConfigError, match="give price_usd_per_gpu_hour .* or market_premium, not both"):
        scenario_from_dict(bad)
    del bad["market"]
    del bad["tenants"][0]["workload"]["price_usd_per_gpu_hour"]
    with pytest.raises(ConfigError, match=r"tenants\[0\].workload.market_premium: no market.prices entry for 'g'"):
        scenario_from_dict(bad)
