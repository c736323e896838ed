"""Energy, cost and carbon of whole runs against hand computation (DESIGN §5, §9).
The kernels themselves are tested against loops in tests/test_kernels.py."""
import copy

import numpy as np
import pytest

from sim.config.loading import scenario_from_dict
from sim.experiment.runner import run_variants


def _fleet(base, curve="linear", util=0.5, reserve=True, pue=1.25, price=None):
    base["sites"][0].update(pue=pue)
    return scenario_from_dict(_fleet_dict(base, curve, util, reserve, price))


def _fleet_dict(base, curve="linear", util=0.5, reserve=True, price=None):
    """Ten 8-GPU nodes for ten days; a reservation of all 80 GPUs at utilization `util`."""
    base["horizon"] = "10d"
    base["sites"][0].update(energy_price=price or {"flat_usd_per_mwh": 60.0}, carbon={"flat_kg_per_mwh": 400.0})
    base["node_types"] = [{"name": "g", "gpus_per_node": 8, "gpu_idle_w": 100, "gpu_max_w": 700,
                           "node_base_w": 1000, "node_dynamic_w": 1200, "power_curve": curve}]
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 10}]
    if reserve:
        base["tenants"] = [{"name": "r", "provider": "a", "reservation": {
            "node_type": "g", "gpus": 80, "utilization": {"mean": util}}}]
    return base


def _metrics(s, replicas=1):
    _, (v,) = run_variants([s], seed=3, replicas=replicas, backend="numpy", workers=1)
    return {k: float(a[0]) for k, a in v.metrics.items()}


def test_fixed_busy_fleet_linear(base):
    m = _metrics(_fleet(base))
    # per GPU 100 + 600 * 0.5 = 400 W; per node 1000 + 1200 * 0.5 = 1600 W
    it_kw = 80 * 0.400 + 10 * 1.600
    assert m["energy_it_mwh"] == pytest.approx(it_kw * 240 / 1000, rel=1e-12)        # 11.52 MWh
    assert m["energy_facility_mwh"] == pytest.approx(1.25 * 11.52, rel=1e-12)
    assert m["energy_cost_usd"] == pytest.approx(14.4 * 60.0, rel=1e-12)             # $864
    assert m["carbon_t"] == pytest.approx(14.4 * 0.400, rel=1e-12)
    assert m["gpu_utilization"] == pytest.approx(1.0, rel=1e-12)


def test_fixed_busy_fleet_square_curve(base):
    m = _metrics(_fleet(base, curve="square"))
    # GPU: 100 + 600 * 0.5^2 = 250 W; the node's dynamic part stays linear in u
    assert m["energy_it_mwh"] == pytest.approx((80 * 0.250 + 10 * 1.600) * 240 / 1000, rel=1e-12)


def test_idle_fleet_draws_exactly_the_idle_floor(base):
    m = _metrics(_fleet(base, reserve=False))
    assert m["energy_it_mwh"] == pytest.approx((80 * 0.100 + 10 * 1.000) * 240 / 1000, rel=1e-12)
    assert m["gpu_utilization"] == 0.0


def test_time_of_use_price(base):
    tou = {"time_of_use": {"peak_usd_per_mwh": 100.0, "offpeak_usd_per_mwh": 40.0,
                           "peak_start_hour": 14, "peak_end_hour": 20}}
    s = _fleet(base, reserve=False, pue=1.0, price=tou)
    s = s.model_copy(update={"horizon": 168.0})          # one week from a Monday
    m = _metrics(s)
    # 18 kW all week; 5 weekdays x 6 peak hours
    assert m["energy_cost_usd"] == pytest.approx(0.018 * (30 * 100.0 + 138 * 40.0), rel=1e-12)


def test_job_energy_equals_sum_over_jobs(base):
    """Random jobs: the kernel's energy equals a per-job hand sum over the job table."""
    base["horizon"] = "5d"
    base["node_types"] = [{"name": "g", "gpus_per_node": 4, "gpu_idle_w": 50, "gpu_max_w": 450,
                           "node_base_w": 200, "node_dynamic_w": 400, "power_curve": "sqrt"}]
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 6}]
    base["tenants"] = [{"name": "w", "provider": "a", "workload": {
        "node_type": "g", "arrival_rate_per_h": 3.0, "utilization": 0.64,
        "gpus": {"dist": "empirical", "values": [1, 2, 3, 8]},
        "duration_h": {"dist": "exponential", "mean": 2.5}}}]
    s = scenario_from_dict(base)
    _, (v,) = run_variants([s], seed=9, replicas=1, backend="numpy", workers=1)
    j = v.runs[0].jobs
    ran = ~np.isnan(j["start_h"])
    hours = np.minimum(np.where(np.isnan(j["end_h"]), 120.0, j["end_h"]), 120.0)[ran] - j["start_h"][ran]
    gpu_h = (j["gpus"][ran] * hours).sum()
    idle_wh = (24 * 50 + 6 * 200) * 120
    busy_wh = gpu_h * ((450 - 50) * np.sqrt(0.64) + 400 / 4 * 0.64)
    assert v.metrics["energy_it_mwh"][0] == pytest.approx((idle_wh + busy_wh) / 1e6, rel=1e-9)
    assert gpu_h > 500  # the case is not trivially idle


def test_nodes_down_for_maintenance_draw_nothing(base):
    """An idle fleet whose whole site is in maintenance for 24 of its 240 hours: powered off
    then, it draws its idle floor for 216 hours only."""
    base["maintenance"] = [{"site": "s1", "start": "2026-01-07", "duration": "24h"}]
    m = _metrics(_fleet(base, reserve=False))
    assert m["energy_it_mwh"] == pytest.approx((80 * 0.100 + 10 * 1.000) * 216 / 1000, rel=1e-12)


def test_seasonal_pue_from_temperature(base, tmp_path):
    """28 C all year with free cooling below 18 C: PUE 1.1 + 0.01 x 10 = 1.2; -5 C would be 1.1."""
    import datetime as dt
    rows = ["timestamp,temp_c"]
    for h in range(8760):
        t = dt.datetime(2025, 1, 1) + dt.timedelta(hours=h)
        rows.append(f"{t:%Y-%m-%d %H:%M},28")
    (tmp_path / "temp.csv").write_text("\n".join(rows) + "\n")
    seasonal = {"min": 1.1, "per_c_above": 0.01, "free_cooling_below_c": 18.0,
                "temperature_series": {"path": str(tmp_path / "temp.csv"), "column": "temp_c"}}
    busy = _metrics(_fleet(copy.deepcopy(base), pue=1.0))
    base["sites"][0]["pue"] = seasonal
    s = scenario_from_dict(_fleet_dict(base))
    m = _metrics(s)
    assert m["energy_facility_mwh"] == pytest.approx(1.2 * busy["energy_it_mwh"], rel=1e-12)
    rows[1:] = [r.rsplit(",", 1)[0] + ",-5" for r in rows[1:]]
    (tmp_path / "cold.csv").write_text("\n".join(rows) + "\n")
    seasonal["temperature_series"]["path"] = str(tmp_path / "cold.csv")
    m = _metrics(scenario_from_dict(_fleet_dict(base)))
    assert m["energy_facility_mwh"] == pytest.approx(1.1 * busy["energy_it_mwh"], rel=1e-12)
