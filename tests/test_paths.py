"""Money over market paths (sim/money/paths.py, kernels/paths.py, kernels/debt.py): with every
market input fixed a path is its replica to the bit; each input moves the money as its closed
form says; the kernels agree across backends; the percentile intervals cover."""
from __future__ import annotations

import copy
import csv
import json

import numpy as np
import pytest

from kernels import to_host
from kernels.debt import run_debt
from sim.config.loading import scenario_from_dict
from sim.config.schema import MarketPaths
from sim.experiment.runner import run_variants, with_paths
from sim.experiment.stats import percentile_ci95
from sim.money.paths import market_draws
from sim.output.results import write_results

from test_kernels import BACKENDS

FINANCE = {
    "horizon": "3y", "replicas": 3,
    "companies": [{"name": "a", "discount_rate": 0.1, "sofr": 0.04, "cash_usd": 5.0e6,
                   "gpu_financing": {"ltv": 0.8, "rate": {"sofr_plus": 0.03}, "term": "2y"},
                   "covenants": {"min_dscr": 1.25, "on_breach": "sweep"},
                   "debt": [{"name": "term", "principal_usd": 2.0e7, "rate": {"sofr_plus": 0.05},
                             "maturity": "2028-06"}],
                   "terminal_value": {"method": "exit_multiple", "ebitda_multiple": 6}}],
    "node_types": [{"name": "g", "gpus_per_node": 8, "gpu_idle_w": 100.0, "gpu_max_w": 700.0,
                    "capex_usd_per_gpu": 25000.0}],
    "deployments": [{"site": "s1", "node_type": "g", "nodes": 40, "owner": "a", "start": "2026-01-05"}],
    "tenants": [
        {"name": "anchor", "provider": "a",
         "reservation": {"node_type": "g", "gpus": 256, "term": "3y", "price_usd_per_gpu_hour": 2.0}},
        {"name": "pool", "provider": "a",
         "workload": {"node_type": "g", "arrival_rate_per_h": 0.5, "price_usd_per_gpu_hour": 2.5,
                      "gpus": {"dist": "empirical", "values": [8, 16]},
                      "duration_h": {"dist": "exponential", "mean": 20.0}}}],
}


def _scenario(base, **paths):
    raw = copy.deepcopy(base)
    raw.update(copy.deepcopy(FINANCE))
    raw["paths"] = {"count": 7, **paths}
    return scenario_from_dict(raw)


def _variant(s):
    _, (v,) = run_variants([s], s.seed, s.replicas)
    with_paths([v], s.seed, np)
    return v


@pytest.fixture(scope="module")
def fixed():
    from conftest import BASE
    return _variant(_scenario(BASE))


def test_with_every_market_input_fixed_a_path_is_its_replica_bit_for_bit(fixed):
    v = fixed
    replica = v.paths.replica
    assert replica.tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert v.metrics["default_probability"].max() < 1   # the check below is not about dead companies
    for name, per_path in v.path_metrics.items():
        np.testing.assert_array_equal(per_path, v.metrics[name][replica], err_msg=name)
    for line, key in (("fcf_usd", "fcf"), ("cash_usd", "cash_usd"), ("dscr_ttm", "dscr_ttm"),
                      ("debt_outstanding_usd", "debt_outstanding_usd"), ("defaulted", "defaulted")):
        np.testing.assert_array_equal(v.paths.arrays[key], v.finance.lines[line][replica], err_msg=line)


def test_power_prices_scale_each_paths_energy_bill_and_nothing_else(base):
    """One power factor per path and month: EBITDA moves by exactly -(factor - 1) x the
    energy bill of that path's replica (the GPU factor 1, no SOFR move, no default)."""
    v = _variant(_scenario(base, power_price_volatility=0.4))
    s = v.scenario
    fixed = _variant(_scenario(base))
    draws = market_draws(s.paths, 0.04, s.seed, v.finance.lines["fcf_usd"].shape[2])
    energy = (v.finance.lines["energy_usd"] + v.finance.lines["legacy_energy_usd"])[v.paths.replica]
    moved = v.paths.arrays["fcf"] - fixed.paths.arrays["fcf"]
    np.testing.assert_allclose(moved, -(draws["power_factor"] - 1)[:, None, :] * energy, rtol=1e-9, atol=1e-3)
    assert np.abs(moved).max() > 1e3


def test_lognormal_factors_have_mean_one_and_the_configured_volatility():
    spec = MarketPaths(count=20_000, gpu_price_volatility=0.3)
    f = market_draws(spec, 0.0, seed=5, months=121)["gpu_factor"]
    assert f[:, 0].tolist() == [1.0] * spec.count          # the first month is today's price
    ten_years = f[:, 120]
    se = ten_years.std() / np.sqrt(spec.count)
    assert abs(ten_years.mean() - 1) < 4 * se
    # log factor at t years: normal with sd sigma sqrt(t)
    assert np.log(ten_years).std() == pytest.approx(0.3 * np.sqrt(10), rel=0.03)


def test_tenant_defaults_come_at_the_annual_probability():
    spec = MarketPaths(count=20_000, tenant_default_per_year={"t": 0.2})
    alive = market_draws(spec, 0.0, seed=3, months=36)["alive"][:, 0]
    assert ((np.diff(alive, axis=1) <= 0).all())           # once defaulted, never paying again
    for year in (1, 2, 3):
        gone = 1 - alive[:, 12 * year - 1].mean()
        truth = 1 - 0.8 ** year        # in default by the year's last month: 12 x year monthly hazards
        assert abs(gone - truth) < 4 * np.sqrt(truth * (1 - truth) / spec.count)


def test_a_defaulted_tenant_stops_paying_from_its_default_month(base):
    v = _variant(_scenario(base, tenant_default_per_year={"anchor": 0.5}))
    fixed = _variant(_scenario(base))
    s = v.scenario
    alive = market_draws(s.paths, 0.04, s.seed, v.finance.lines["fcf_usd"].shape[2])["alive"][:, 0]
    paid = v.finance.lines["revenue_of_tenant_usd[anchor]"][v.paths.replica, 0]
    expected = -paid * (1 - alive)
    np.testing.assert_allclose(v.paths.arrays["fcf"][:, 0] - fixed.paths.arrays["fcf"][:, 0], expected, atol=1e-3)
    assert (alive == 0).any() and (alive == 1).any()


def test_a_sofr_move_adds_balance_times_the_move_to_floating_interest_only():
    """Two bullet loans of 1,200 (one floating, one fixed), 10 a month of interest each; SOFR
    up 1% in month 2 on the floating one: 1 more that month, the fixed one unchanged."""
    M = 4
    schedule = {k: np.zeros((2, 1, M)) for k in ("interest", "principal", "amortized", "balance", "borrowed")}
    schedule["interest"][:] = 10.0
    schedule["balance"][:] = 1200.0
    schedule["principal"][:, :, -1] = 1200.0
    shift = np.zeros((1, M))
    shift[0, 2] = 0.01
    kw = dict(schedule=schedule, secured=np.zeros((2, 1), bool), cash0=np.zeros(2), advance=np.full(2, np.inf),
              sweeps=np.zeros(2, bool), min_dscr=np.full(2, -np.inf), max_ltc=np.full(2, np.inf),
              floating=np.array([[True], [False]]))
    flat = np.full((1, 2, M), 100.0)
    out = run_debt(flat, flat, flat, **kw, sofr_shift=shift)
    assert out["interest_usd"][0, 0].tolist() == [10.0, 10.0, 11.0, 10.0]
    assert out["interest_usd"][0, 1].tolist() == [10.0] * M


@pytest.mark.parametrize("b", BACKENDS)
def test_the_path_kernel_agrees_on_every_backend(b, fixed):
    """The same paths through kernels.paths on NumPy, array-api-strict (both devices) and CuPy
    (on a GPU): equal within floating-point tolerance, no host round trip on the device."""
    from kernels.paths import path_money
    from sim.money.debt import debt_terms, loan_schedules
    from sim.money.finance import month_grid
    from sim.money.paths import _base, _terminal_terms
    from sim.money.valuation import discount_factors
    v = fixed
    s = v.scenario
    M = v.finance.lines["fcf_usd"].shape[2]
    spec = MarketPaths(count=9, gpu_price_volatility=0.3, power_price_volatility=0.3, sofr_volatility=0.02)
    draws = market_draws(spec, 0.04, 11, M)
    (idx, acct), = v.groups
    g = month_grid(s, acct)
    terms = debt_terms(s, g, loan_schedules(s, acct.month_starts[0], g))

    def inputs(to):
        debt = {k: ({n: to(a) for n, a in x.items()} if isinstance(x, dict) else to(x)) for k, x in terms.items()}
        return ({k: to(x) for k, x in _base(s, v.finance).items()}, to(np.arange(9) % 3),
                *(to(draws[k]) for k in ("gpu_factor", "power_factor", "alive", "sofr_shift")), debt,
                to(discount_factors([0.1], M)), {k: to(x) for k, x in _terminal_terms(s, g.companies).items()})

    want = path_money(*inputs(np.asarray))
    with b.no_host_sync():
        got = path_money(*inputs(b))
    got = to_host(got)
    for k in ("npv", "npv_with_terminal", "cash_usd", "dscr_ttm", "defaulted"):
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=1e-6, err_msg=k)


def test_percentile_intervals_cover_the_true_percentile_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    for q in (5, 50, 95):
        truth = np.log(1 / (1 - q / 100))          # exponential(1) quantile
        hits = 0
        for _ in range(2000):
            _, lo, hi = percentile_ci95(rng.exponential(size=400), q)
            hits += lo <= truth <= hi
        assert 0.93 <= hits / 2000 <= 0.975, (q, hits)


def test_paths_csv_and_summary_read_back_exactly(fixed, tmp_path):
    from sim.experiment.runner import Experiment
    v = fixed
    exp = Experiment("t", v.scenario.seed, v.scenario.replicas, "numpy", [v], 0.0)
    folder = write_results(exp, tmp_path)
    rows = list(csv.DictReader(open(folder / "paths.csv")))
    assert len(rows) == 7 and [int(r["replica"]) for r in rows] == v.paths.replica.tolist()
    for name, values in v.path_metrics.items():
        back = np.array([float(r[name]) if r[name] != "" else np.nan for r in rows])
        np.testing.assert_array_equal(back, values)
    summary = json.loads((folder / "summary.json").read_text())["paths"]["variants"]["t"]
    npv = summary["npv_usd"]
    assert npv["percentiles"]["p50"]["value"] == float(np.percentile(v.path_metrics["npv_usd"], 50))
    assert npv["ci95"][0] <= npv["mean"] <= npv["ci95"][1]
    by_month = list(csv.DictReader(open(folder / "paths_by_month.csv")))
    assert len(by_month) == v.finance.lines["fcf_usd"].shape[2]
    assert (folder / "paths.png").stat().st_size > 10_000 and "## Market paths" in (folder / "report.md").read_text()


def test_a_mergers_deal_per_path_is_its_replicas_deal_when_the_market_is_fixed(tmp_path):
    import yaml
    from pathlib import Path
    from sim import api
    examples = Path(__file__).resolve().parent.parent / "configs" / "examples"
    for name in ("horizontal_common", "horizontal_merger", "horizontal_standalone"):
        (tmp_path / f"{name}.yaml").write_text((examples / f"{name}.yaml").read_text())
    common = yaml.safe_load((tmp_path / "horizontal_common.yaml").read_text())
    for c in common["companies"]:
        c["terminal_value"] = {"method": "per_mw", "usd_per_mw": 8e6}
    common["paths"] = {"count": 5}
    (tmp_path / "horizontal_common.yaml").write_text(yaml.safe_dump(common))
    exp = api.run(tmp_path / "horizontal_merger.yaml", replicas=2)
    merged, base = exp.variants
    for name in ("deal_npv_usd", "deal_npv_with_terminal_usd", "npv_with_terminal_usd"):
        np.testing.assert_array_equal(merged.path_metrics[name], merged.metrics[name][merged.paths.replica])
    c = exp.summary["paths"]["comparison"]["npv_usd"]
    delta = merged.metrics["npv_usd"] - base.metrics["npv_usd"]
    assert c["delta"] == pytest.approx(delta[[0, 1, 0, 1, 0]].mean(), rel=1e-12)


def test_a_default_for_an_unknown_tenant_is_a_config_error_naming_its_place(base):
    from sim.errors import ConfigError
    with pytest.raises(ConfigError, match=r"paths\.tenant_default_per_year\.nobody: unknown tenant 'nobody'"):
        _scenario(base, tenant_default_per_year={"nobody": 0.1})
