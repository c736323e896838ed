"""Invariants of DESIGN §9 on random small scenarios (hypothesis)."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.config.loading import scenario_from_dict
from sim.experiment.runner import run_variants
from sim.engine.records import JobTable


@st.composite
def scenarios(draw):
    n = draw(st.sampled_from([1, 2, 4, 8]))
    two = draw(st.booleans())
    companies = [{"name": "a"}, {"name": "b"}] if two else [{"name": "a"}]
    site = {"critical_it_mw": 10.0, "energy_price": {"flat_usd_per_mwh": 50.0}, "carbon": {"flat_kg_per_mwh": 300.0}}
    sites = [dict(site, name="s1", owner="a")] + ([dict(site, name="s2", owner="b")] if two else [])
    deployments = [{"site": "s1", "node_type": "g", "nodes": draw(st.integers(1, 5))}]
    if two:
        deployments.append({"site": "s2", "node_type": "g", "nodes": draw(st.integers(1, 5)),
                            "start": f"2026-01-0{draw(st.integers(1, 4))}"})
    values = draw(st.lists(st.integers(1, 3 * n), min_size=1, max_size=4, unique=True))
    tenants = []
    for i, company in enumerate(c["name"] for c in companies):
        tenants.append({"name": f"w{i}", "provider": company, "workload": {
            "node_type": "g", "tier": draw(st.sampled_from(["on_demand", "spot"])),
            "arrival_rate_per_h": draw(st.floats(0.2, 4.0)), "diurnal_amplitude": draw(st.floats(0, 1)),
            "gpus": {"dist": "empirical", "values": values},
            "duration_h": {"dist": draw(st.sampled_from(["exponential", "lognormal"])),
                           "mean": draw(st.floats(0.2, 12.0)), **({"sigma": 1.0} if False else {})}}})
        if tenants[-1]["workload"]["duration_h"]["dist"] == "lognormal":
            tenants[-1]["workload"]["duration_h"]["sigma"] = draw(st.floats(0.2, 2.0))
    if draw(st.booleans()):
        tenants.append({"name": "res", "provider": "a", "reservation": {
            "node_type": "g", "gpus": {"2026-01-01": draw(st.integers(0, 6 * n)), "2026-01-03": draw(st.integers(0, 6 * n))},
            "term": f"{draw(st.integers(1, 6))}d", "utilization": {"mean": draw(st.floats(0, 1)), "noise_sd": 0.1},
            "lend_idle": draw(st.booleans())}})
    for t in tenants:
        if "workload" in t:
            t["workload"]["runtime_estimate_factor"] = draw(st.sampled_from([1.0, 1.5, 3.0]))
            t["workload"]["gang_in_pod"] = draw(st.booleans())
            if draw(st.booleans()):
                t["workload"]["checkpoint_interval_h"] = draw(st.floats(0.1, 5.0))
    for site in sites:
        site["spare_fraction"] = draw(st.sampled_from([0.0, 0.2]))
    return {
        "scenario": "prop", "start": "2026-01-01", "horizon": f"{draw(st.integers(2, 7))}d",
        "companies": companies, "sites": sites,
        "node_types": [{"name": "g", "gpus_per_node": n, "gpu_idle_w": 60.0, "gpu_max_w": 400.0,
                        "node_base_w": 300.0, "node_dynamic_w": 200.0,
                        "nodes_per_pod": draw(st.sampled_from([None, 1, 2])),
                        "failures_per_gpu_year": draw(st.sampled_from([0.0, 20.0, 200.0])),
                        "repair_h": draw(st.floats(1.0, 48.0)),
                        "interruptions_per_gpu_year": draw(st.sampled_from([0.0, 100.0])),
                        "interruption_recovery_h": draw(st.floats(0.1, 4.0)),
                        "failure_domain_gpus": draw(st.sampled_from([None, 1]))}],
        "deployments": deployments, "tenants": tenants,
        "maintenance": [{"site": "s1", "start": f"2026-01-0{draw(st.integers(1, 3))}",
                         "duration": f"{draw(st.integers(1, 30))}h",
                         "node_fraction": draw(st.sampled_from([0.5, 1.0]))}] if draw(st.booleans()) else [],
        "scheduler": {"policy": draw(st.sampled_from(["fifo", "priority", "easy_backfill", "las", "fair_share"])),
                      "placement": draw(st.sampled_from(["best_fit", "first_fit", "frag_aware"])),
                      "las_thresholds_gpu_h": [1.0, 8.0],
                      "scope": draw(st.sampled_from(["pooled", "per_company"]))},
    }


def _max_concurrent(starts, ends, gpus):
    """Exact peak of a sum of intervals: sweep the edges, ends before starts at a tie."""
    t = np.concatenate([ends, starts])
    d = np.concatenate([-gpus, gpus])
    order = np.lexsort((d, t))
    return np.cumsum(d[order]).max(initial=0.0)


@given(scenarios(), st.integers(0, 10_000))
def test_invariants_hold(data, seed):
    s = scenario_from_dict(data)
    # run_variants itself raises on broken conservation, capacity or energy-floor invariants
    _, (v,) = run_variants([s], seed=seed, replicas=1, backend="numpy", workers=1)
    run = v.runs[0]
    iv = run.intervals
    for d, dep in enumerate(s.deployments):
        cap = dep.nodes * s.node_types[0].gpus_per_node
        online_h = max(0.0, s.hours_from_start(s.deployment_start(dep)))
        mine_j = iv["job_deployment"] == d
        mine_r = iv["reserved_deployment"] == d
        starts = np.concatenate([iv["job_start_h"][mine_j], iv["reserved_start_h"][mine_r]])
        ends = np.concatenate([iv["job_end_h"][mine_j], iv["reserved_end_h"][mine_r]])
        gpus = np.concatenate([iv["job_gpus"][mine_j], iv["reserved_gpus"][mine_r]])
        assert _max_concurrent(starts, ends, gpus) <= cap          # allocated never exceeds online
        assert (starts >= online_h - 1e-9).all()                    # nothing runs before it is online
        # nor on a node that is down: allocations plus down GPUs never exceed the deployment
        mine_d = iv["down_deployment"] == d
        assert _max_concurrent(np.concatenate([starts, iv["down_start_h"][mine_d]]),
                               np.concatenate([ends, iv["down_end_h"][mine_d]]),
                               np.concatenate([gpus, iv["down_gpus"][mine_d]])) <= cap
    j = run.jobs
    state = j["state"]
    assert np.isin(state, [JobTable.QUEUED, JobTable.RUNNING, JobTable.COMPLETED, JobTable.REJECTED]).all()
    started = ~np.isnan(j["start_h"])
    assert (j["start_h"][started] >= j["submit_h"][started]).all()
    done = state == JobTable.COMPLETED
    interrupted = (j["preemptions"] + j["restarts"]) > 0
    took = j["end_h"][done] - j["start_h"][done]
    np.testing.assert_allclose(took[~interrupted[done]], j["duration_h"][done][~interrupted[done]], rtol=1e-9, atol=1e-9)
    assert (took >= j["duration_h"][done] - 1e-9).all()
    np.testing.assert_allclose(j["attained_gpu_h"][done], (j["gpus"] * j["duration_h"])[done], rtol=1e-9, atol=1e-9)
    assert not started[state == JobTable.REJECTED].any()
    assert (np.isnan(j["start_h"]) | interrupted)[state == JobTable.QUEUED].all()
    # no GPU-hour counted twice: what the allocation intervals held for jobs is exactly
    # the useful work done plus the work lost to failures
    busy_gpu_h = ((iv["job_end_h"] - iv["job_start_h"]) * iv["job_busy_gpus"]).sum()
    np.testing.assert_allclose(busy_gpu_h, j["attained_gpu_h"].sum() + j["badput_gpu_h"].sum(), rtol=1e-9, atol=1e-6)
    if s.node_types[0].failures_per_gpu_year == 0 and s.node_types[0].interruptions_per_gpu_year == 0:
        assert j["restarts"].sum() == 0
        if not s.maintenance:
            assert iv["down_gpus"].size == 0
    # a job larger than every site's eventual capacity is rejected, and only such jobs
    n = s.node_types[0].gpus_per_node
    biggest = max(d.nodes for d in s.deployments) * n
    per_pod = s.node_types[0].nodes_per_pod
    biggest_pod = max(min(d.nodes, per_pod or d.nodes) for d in s.deployments) * n
    in_pod = np.array([bool(t.workload and t.workload.gang_in_pod) for t in s.tenants])[j["tenant"]] \
        if j["tenant"].size else np.zeros(0, dtype=bool)
    too_big = np.where(in_pod & (j["gpus"] > n), j["gpus"] > biggest_pod, j["gpus"] > biggest)
    if s.scheduler.scope == "pooled":
        assert ((state == JobTable.REJECTED) == too_big).all()
    assert v.metrics["energy_it_mwh"][0] > 0
    assert 0.0 <= v.metrics["gpu_utilization"][0] <= 1.0 + 1e-12
    # per-tenant metrics add up to the fleet's
    m = {k: x[0] for k, x in v.metrics.items()}
    if len(s.tenants) > 1:
        shares = sum(m[f"gpu_utilization[{t.name}]"] for t in s.tenants)
        np.testing.assert_allclose(shares, m["gpu_utilization"], rtol=1e-9, atol=1e-12)
    by_tenant = [t.name for t in s.tenants if f"preemptions[{t.name}]" in m]
    if by_tenant:
        for metric in ("preemptions", "restarts"):
            assert sum(m[f"{metric}[{name}]"] for name in by_tenant) == m[metric]
        done_by = {name: ((state == JobTable.COMPLETED) & (j["tenant"] == i)).sum()
                   for i, name in enumerate(t.name for t in s.tenants)}
        weighted = sum(m[f"mean_jct_h[{name}]"] * done_by[name] for name in by_tenant if done_by[name])
        if done.sum():
            np.testing.assert_allclose(weighted / done.sum(), m["mean_jct_h"], rtol=1e-9)


@st.composite
def lending_scenarios(draw):
    """One pool; reservations that lend their idle GPUs, contracted from the start for the whole
    horizon and together within the fleet; spot and on-demand work that would fill it."""
    n = draw(st.sampled_from([1, 2, 4, 8]))
    nodes = draw(st.integers(2, 6))
    levels = draw(st.lists(st.integers(1, n * nodes), min_size=1, max_size=2).filter(lambda v: sum(v) <= n * nodes))
    tenants = [{"name": f"r{i}", "provider": "a", "reservation": {
        "node_type": "g", "gpus": gpus, "lend_idle": True,
        "utilization": {"mean": draw(st.floats(0.05, 0.95)), "diurnal_amplitude": draw(st.floats(0, 1)),
                        "noise_sd": draw(st.sampled_from([0.0, 0.2])), "peak_hour": draw(st.floats(0, 23))}}}
        for i, gpus in enumerate(levels)]
    for tier in ("spot", "on_demand"):
        tenants.append({"name": tier, "provider": "a", "workload": {
            "node_type": "g", "tier": tier, "arrival_rate_per_h": draw(st.floats(0.5, 6.0)),
            "gpus": {"dist": "empirical", "values": draw(st.lists(st.integers(1, 2 * n), min_size=1, max_size=3,
                                                                   unique=True))},
            "duration_h": {"dist": "exponential", "mean": draw(st.floats(0.5, 8.0))}}})
    return {
        "scenario": "lend", "start": "2026-01-01", "horizon": f"{draw(st.integers(1, 4))}d",
        "companies": [{"name": "a"}],
        "sites": [{"name": "s1", "owner": "a", "critical_it_mw": 10.0, "energy_price": {"flat_usd_per_mwh": 50.0},
                   "carbon": {"flat_kg_per_mwh": 300.0}}],
        "node_types": [{"name": "g", "gpus_per_node": n, "gpu_idle_w": 60.0, "gpu_max_w": 400.0}],
        "deployments": [{"site": "s1", "node_type": "g", "nodes": nodes}],
        "tenants": tenants,
        "scheduler": {"policy": draw(st.sampled_from(["fifo", "priority", "easy_backfill", "las", "fair_share"])),
                      "placement": draw(st.sampled_from(["best_fit", "first_fit", "frag_aware"])),
                      "las_thresholds_gpu_h": [1.0, 8.0]},
    }


@given(lending_scenarios(), st.integers(0, 10_000))
def test_lent_gpus_always_come_back(data, seed):
    """Whatever the policy, placement and load, a reservation that lends its idle GPUs gets
    them back whenever its use rises: free plus spot GPUs always cover what is lent, so with
    its level within the fleet from the start it is never short."""
    s = scenario_from_dict(data)
    _, (v,) = run_variants([s], seed=seed, replicas=1, backend="numpy", workers=1)
    assert v.metrics["reserved_shortfall_gpu_hours"][0] == 0
