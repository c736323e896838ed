"""`warmup:` leaves the empty start out of the job metrics, and only the job metrics."""
import numpy as np

from sim.config.loading import scenario_from_dict
from sim.engine.model import simulate
from sim.experiment.runner import run_variants
from sim.metering.jobstats import censored_wait_h, job_metrics


def _busy(base, warmup=None):
    base["horizon"] = "20d"
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 4}]
    base["tenants"] = [{"name": "t", "provider": "a", "workload": {
        "node_type": "g", "arrival_rate_per_h": 3.6, "gpus": {"dist": "fixed", "value": 1},
        "duration_h": {"dist": "exponential", "mean": 1.0}}}]
    if warmup is not None:
        base["warmup"] = warmup
    return scenario_from_dict(base)


def test_job_metrics_count_only_jobs_submitted_after_the_warmup(base):
    s = _busy(base, warmup="5d")
    run = simulate(s, 3, 0)
    j = run.jobs
    after = j["submit_h"] >= 120.0
    m = job_metrics(s, j)
    assert m["jobs_submitted"] == after.sum() < j["submit_h"].size
    assert m["mean_wait_h"] == censored_wait_h(j, s.horizon_h)[after].mean()
    assert m["jobs_completed"] == ((j["state"] == 2) & after).sum()


def test_the_warmup_changes_no_fleet_metric(base):
    import copy
    plain, warm = _busy(copy.deepcopy(base)), _busy(copy.deepcopy(base), warmup="5d")
    _, (a, b) = run_variants([plain, warm], seed=3, replicas=1)
    for metric in ("gpu_utilization", "energy_it_mwh", "revenue_usd", "stranded_gpu_hours"):
        np.testing.assert_array_equal(a.metrics[metric], b.metrics[metric])
    assert a.metrics["jobs_submitted"][0] > b.metrics["jobs_submitted"][0]
