"""GPU sharing in the time-based engine: jobs that ask for a share of one GPU plus CPU and
memory, on node types with CPU and memory (DESIGN §3).

Checked against queueing theory (shares of one GPU and CPU-bound jobs are M/M/c queues with
the right c), against an independent FIFO event loop over the loop port of the FGD paper's
placement rules (every start, job for job), and by hand for energy and money of jobs that
share a GPU."""
from __future__ import annotations

import csv
import heapq
import math
from collections import deque

import numpy as np
import pytest
import yaml

from sim import api
from sim.cli.main import main
from sim.config.loading import load_scenario, scenario_from_dict
from sim.engine.model import simulate
from sim.engine.packing import TypicalRequests
from sim.engine.records import JobTable
from sim.engine.sharing import Request
from sim.engine.workload import job_stream
from sim.errors import ConfigError
from tests import packing_reference as ref
from tests.queueing import mmc_mean_wait
from tests.test_queueing import _assert_within_4_se, _mean_wait_h

REPLICAS = 8


def _sharing(base, nodes, gpus_per_node, node_cpu=None, **workload):
    nt = base["node_types"][0]
    nt.update(gpus_per_node=gpus_per_node, gpu_sharing=True)
    if node_cpu is not None:
        nt["cpu_cores"] = node_cpu
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": nodes}]
    base["tenants"] = [{"name": "t", "provider": "a", "workload": {"node_type": "g", **workload}}]
    return base


@pytest.mark.parametrize("share, cpu, nodes, cpu_cores, c", [
    (0.5, None, 2, None, 4),    # halves of two GPUs: four servers
    (0.1, 4, 1, 12, 3),         # a tenth of one GPU each, but 4 of the node's 12 cores: three servers
])
def test_shared_gpus_and_cpu_bound_jobs_queue_as_mmc(base, share, cpu, nodes, cpu_cores, c):
    mu, rho, horizon_h = 1.0, 0.75, 4000.0
    lam = rho * c * mu
    extra = {"cpu_cores": {"dist": "fixed", "value": cpu}} if cpu else {}
    config = _sharing(base, nodes, 1, node_cpu=cpu_cores, arrival_rate_per_h=lam,
                      gpus={"dist": "fixed", "value": share}, duration_h={"dist": "exponential", "mean": 1 / mu},
                      **extra)
    config.update(horizon=horizon_h, warmup=0.1 * horizon_h)
    s = scenario_from_dict(config)
    waits = np.array([_mean_wait_h(s, simulate(s, 11, k)) for k in range(REPLICAS)])
    _assert_within_4_se(waits, mmc_mean_wait(c, lam, mu))


# ---------------------------------------------------------------- job for job against a reference

def reference_fifo(submit, duration, requests, nodes, rule, kinds) -> list[float]:
    """Start of every job under FIFO (head-of-line blocking), placing by the loop port of the
    paper simulator's rules; a finished job gives its node back what it took."""
    start = [math.nan] * len(submit)
    queue: deque[int] = deque()
    ends: list = []
    placed = {}

    def dispatch(now):
        while queue:
            where = ref.place(nodes, requests[queue[0]], rule, kinds)
            if where is None:
                return
            job = queue.popleft()
            start[job], placed[job] = now, where
            heapq.heappush(ends, (now + duration[job], job))

    arrival = 0
    while arrival < len(submit) or ends:
        if ends and (arrival == len(submit) or ends[0][0] <= submit[arrival]):
            now, job = heapq.heappop(ends)
            (n, ids), r = placed.pop(job), requests[job]
            node = nodes[n]
            node["cpu"] += r.cpu
            node["mem"] += r.memory
            for i in ids:
                node["gpus"][i] += r.milli
            node["tags"][r.tag] -= 1
        else:
            now, job = submit[arrival], arrival
            arrival += 1
            queue.append(job)
        dispatch(now)
    return start


def _mixed_config(tmp_path, rule: str, horizon_h: float = 1500.0):
    config = {
        "scenario": f"share-{rule}", "start": "2026-01-05", "horizon": horizon_h, "seed": 3, "replicas": 1,
        "companies": [{"name": "a"}],
        "sites": [{"name": "s1", "owner": "a", "critical_it_mw": 10.0, "pue": 1.0,
                   "energy_price": {"flat_usd_per_mwh": 50.0}, "carbon": {"flat_kg_per_mwh": 400.0}}],
        "node_types": [{"name": "g", "gpus_per_node": 4, "gpu_idle_w": 100.0, "gpu_max_w": 500.0,
                        "gpu_sharing": True, "cpu_cores": 32, "memory_gib": 128}],
        "deployments": [{"site": "s1", "node_type": "g", "nodes": 6}],
        "tenants": [{"name": "t", "provider": "a", "workload": {
            "node_type": "g", "arrival_rate_per_h": 14.0,
            "gpus": {"dist": "empirical", "values": [0.25, 0.5, 0.3, 1, 2, 4], "weights": [4, 3, 2, 3, 1, 1]},
            "cpu_cores": {"dist": "empirical", "values": [2, 4, 8, 16]},
            "memory_gib": {"dist": "empirical", "values": [8, 16, 32]},
            "duration_h": {"dist": "lognormal", "mean": 1.0, "sigma": 1.0}}}],
        "scheduler": {"sharing_placement": rule},
    }
    path = tmp_path / f"{rule}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.mark.parametrize("rule", ["fgd", "best_fit", "gpu_packing", "first_fit"])
def test_fifo_over_shared_gpus_matches_a_reference_loop_job_for_job(tmp_path, rule):
    path = _mixed_config(tmp_path, rule)
    s = load_scenario(path)
    js = job_stream(s, "t", s.tenants[0].workload, s.seed, 0)   # the jobs exactly as the engine draws them
    requests = [Request(int(c), int(m), int(g), int(k)) for c, m, g, k in
                zip(js.cpu_milli, js.memory_mib, js.gpus, js.gpu_milli)]
    typical = TypicalRequests.of(requests)
    kinds = [((int(c), int(g), int(m), models), float(p)) for c, g, m, models, p in
             zip(typical.cpu, typical.gpus, typical.milli, typical.models, typical.share)]
    nodes = [{"cpu": 32000, "mem": 128 * 1024, "gpus": [1000] * 4, "model": "g", "tags": {}} for _ in range(6)]
    expected = reference_fifo(js.submit_h.tolist(), js.duration_h.tolist(), requests, nodes, rule, kinds)
    exp = api.run(path, out=tmp_path / "out")
    with open(tmp_path / "out" / exp.name / "jobs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    got = [float(r["start_h"] or "nan") for r in rows]
    assert [float(r["gpu_share"]) for r in rows] == [r.total_milli / 1000 for r in requests]
    finite = [k for k, x in enumerate(expected) if not math.isnan(x) and x < s.horizon_h]
    differ = [k for k in finite if abs(got[k] - expected[k]) > 1e-9]
    waited = sum(expected[k] > js.submit_h[k] + 1e-9 for k in finite)
    assert waited > len(finite) // 5, "the workload must queue for the test to say anything"
    assert not differ, (f"{len(differ)} of {len(finite)} starts differ; first job {differ[0]}: "
                        f"engine {got[differ[0]]}, reference {expected[differ[0]]}")


@pytest.mark.parametrize("policy", ["easy_backfill", "priority", "las", "fair_share"])
def test_every_policy_runs_over_shared_gpus(tmp_path, policy):
    """Every policy keeps every node within its CPU, memory and GPU shares (the node table
    raises otherwise) and every job's state; EASY lets jobs past a blocked head."""
    path = _mixed_config(tmp_path, "fgd", horizon_h=600.0)
    config = yaml.safe_load(path.read_text())
    config["scheduler"]["policy"] = policy
    config["tenants"][0]["workload"]["runtime_estimate_factor"] = 2.0
    config["tenants"].append({"name": "u", "provider": "a", "workload": {
        **config["tenants"][0]["workload"], "tier": "spot", "arrival_rate_per_h": 4.0}})
    s = scenario_from_dict(config)
    run = simulate(s, 1, 0)
    jobs = run.jobs
    done = jobs["state"] == JobTable.COMPLETED
    assert done.sum() > 0.8 * done.size
    if policy == "easy_backfill":
        started = np.where(np.isnan(jobs["start_h"]), np.inf, jobs["start_h"])
        overtook = (started[1:] < np.maximum.accumulate(started)[:-1]).sum()
        assert overtook > 10
    if policy in ("priority", "las"):
        assert jobs["preemptions"].sum() > 0


# ---------------------------------------------------------------- energy and money by hand

OPENB_HEADER = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time," \
               "scheduled_time"


def _two_pod_trace(tmp_path):
    """Two pods from hour 0 to hour 10: a quarter and a half of one GPU, 1 core and 2 GiB each."""
    path = tmp_path / "pods.csv"
    path.write_text(OPENB_HEADER + "\np1,1000,2048,1,250,,LS,Succeeded,0,36000,0"
                                   "\np2,1000,2048,1,500,,LS,Succeeded,0,36000,0\n")
    return path


def _trace_config(base, trace, **trace_options):
    base.update(horizon=20.0, replicas=1)
    base["node_types"][0].update(gpus_per_node=1, gpu_idle_w=100.0, gpu_max_w=700.0)
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 1}]
    base["tenants"] = [{"name": "t", "provider": "a", "workload": {
        "node_type": "g", "utilization": 0.8, "price_usd_per_gpu_hour": 2.0,
        "trace": {"path": str(trace), "format": "alibaba_openb", **trace_options}}}]
    return base


def test_a_shared_gpu_is_as_busy_as_the_sum_of_its_jobs_shares(tmp_path, base):
    """One GPU, a quarter and a half of it used for 10 h of a 20 h horizon, the jobs at 80%
    load: IT power (100 + 600 x 0.75 x 0.8) W for 10 h, then 100 W idle; revenue $2 x 7.5 GPU-h."""
    config = _trace_config(base, _two_pod_trace(tmp_path))
    config["node_types"][0].update(gpu_sharing=True, cpu_cores=2)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    m = api.run(path).variants[0].metrics
    assert m["energy_it_mwh"][0] == pytest.approx(((100 + 600 * 0.75 * 0.8) * 10 + 100 * 10) / 1e6, rel=1e-12)
    assert m["gpu_utilization"][0] == pytest.approx(7.5 / 20, rel=1e-12)
    assert m["revenue_usd"][0] == pytest.approx(2.0 * 7.5, rel=1e-12)
    assert m["mean_wait_h"][0] == 0.0


def test_cpu_keeps_a_second_share_off_a_full_node(tmp_path, base):
    """With one core per node, the second pod waits for the first although the GPU has room."""
    config = _trace_config(base, _two_pod_trace(tmp_path))
    config["node_types"][0].update(gpu_sharing=True, cpu_cores=1)
    run = simulate(scenario_from_dict(config), 1, 0)
    assert run.jobs["start_h"].tolist() == [0.0, 10.0]


def test_whole_gpus_gives_each_pod_a_gpu_as_before(tmp_path, base):
    config = _trace_config(base, _two_pod_trace(tmp_path), whole_gpus=True)
    config["node_types"][0]["gpus_per_node"] = 2
    run = simulate(scenario_from_dict(config), 1, 0)
    assert run.jobs["gpu_share"].tolist() == [1.0, 1.0]
    assert run.jobs["start_h"].tolist() == [0.0, 0.0]


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("change, message", [
    (lambda c: [c["node_types"][0].pop(k) for k in ("gpu_sharing", "cpu_cores")],
     r"workload.gpus: asks for a share of one GPU, but node type 'g' does not share GPUs"),
    (lambda c: c["tenants"][0]["workload"].update(gpus={"dist": "fixed", "value": 0.0005}), "thousandths"),
    (lambda c: c["node_types"][0].update(gpus_per_node=16), "at most 8"),
    (lambda c: c["node_types"][0].update(failure_domain_gpus=1), "fails as a whole"),
    (lambda c: c["tenants"][0].update(reservation={"node_type": "g", "gpus": 1}), "reservations hold whole GPUs"),
])
def test_sharing_config_errors_name_the_field(base, change, message):
    config = _sharing(base, 1, 2, node_cpu=8, arrival_rate_per_h=1.0, gpus={"dist": "fixed", "value": 0.5},
                      duration_h={"dist": "fixed", "value": 1.0})
    scenario_from_dict(config)   # valid as it is
    change(config)
    with pytest.raises(ConfigError, match=message):
        scenario_from_dict(config)


def test_cpu_on_a_node_type_without_sharing_is_an_error(base):
    base["node_types"][0]["cpu_cores"] = 8
    with pytest.raises(ConfigError, match=r"node_types\[0\].*set gpu_sharing: true"):
        scenario_from_dict(base)


def test_a_sharing_trace_on_whole_gpus_is_a_one_line_error(tmp_path, base, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_trace_config(base, _two_pod_trace(tmp_path))))
    assert main([str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "2 jobs of" in err and "whole_gpus: true" in err
    assert not (tmp_path / "out").exists()


def test_a_node_lists_cpu_is_each_nodes_own(tmp_path, base):
    """Two one-GPU T4 nodes of 4 and 8 cores from a node list: two pods of 6 cores fit only on
    the second, one after the other, though both GPUs have room."""
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,4000,65536,1,T4\nn1,8000,65536,1,T4\nn2,96000,65536,8,V100\n")
    pods = tmp_path / "pods.csv"
    pods.write_text(OPENB_HEADER + "\np1,6000,2048,1,250,,LS,Succeeded,0,36000,0"
                                   "\np2,6000,2048,1,250,,LS,Succeeded,0,36000,0\n")
    config = _trace_config(base, pods)
    config["node_types"][0]["gpu_sharing"] = True
    config["deployments"] = [{"site": "s1", "node_type": "g", "nodes_from": {"path": str(nodes), "models": ["T4"]}}]
    run = simulate(scenario_from_dict(config), 1, 0)
    assert run.jobs["start_h"].tolist() == [0.0, 10.0]
    config["node_types"][0]["cpu_cores"] = 8   # the node type's CPU, where given, is every node's
    run = simulate(scenario_from_dict(config), 1, 0)
    assert run.jobs["start_h"].tolist() == [0.0, 0.0]
