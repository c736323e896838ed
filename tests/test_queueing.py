"""The engine against queueing theory (DESIGN §9). Tolerances are 4 standard
errors of the replica means; the first 10% of the horizon is the scenario's `warmup`, which
the job metrics leave out."""
import numpy as np
import pytest

from sim.config.loading import scenario_from_dict
from sim.engine.model import simulate
from sim.metering.jobstats import job_metrics
from tests.queueing import erlang_c, mmc_mean_wait, priority_mmc_waits

REPLICAS = 8
WARMUP = 0.10


def test_erlang_c_known_value():
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9, rel=1e-12)
    assert erlang_c(1, 0.5) == pytest.approx(0.5, rel=1e-12)  # M/M/1: P(wait) = rho


def _pool(base, name, company, nodes, gpus_per_node, lam, mu, tier="on_demand"):
    base["tenants"].append({"name": name, "provider": company, "workload": {
        "node_type": "g", "tier": tier, "arrival_rate_per_h": lam, "gpus": {"dist": "fixed", "value": 1},
        "duration_h": {"dist": "exponential", "mean": 1.0 / mu}}})
    return base


def _mmc(base, c, gpus_per_node, lam, mu, horizon_h):
    base["horizon"] = horizon_h
    base["warmup"] = WARMUP * horizon_h
    base["node_types"][0]["gpus_per_node"] = gpus_per_node
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": c // gpus_per_node}]
    return _pool(base, "t", "a", c, gpus_per_node, lam, mu)


def _mean_wait_h(s, run, tenant=None):
    """The model's own mean wait (after the warm-up) of every job, or of one tenant's."""
    metrics = job_metrics(s, run.jobs)
    return metrics["mean_wait_h" if tenant is None else f"mean_wait_h[{s.tenants[tenant].name}]"]


def _replica_means(s, horizon_h, tenant=None):
    return np.array([_mean_wait_h(s, simulate(s, 11, k), tenant) for k in range(REPLICAS)])


def _assert_within_4_se(samples, expected):
    se = samples.std(ddof=1) / np.sqrt(samples.size)
    assert abs(samples.mean() - expected) < 4 * se, (samples.mean(), expected, se)
    # and the test has teeth: the error bar is small against the value itself
    assert 4 * se < 0.25 * expected


@pytest.mark.parametrize("c, gpus_per_node, rho", [(4, 1, 0.75), (16, 8, 0.85)])
def test_mmc_mean_wait_matches_erlang_c(base, c, gpus_per_node, rho):
    mu = 1.0
    lam = rho * c * mu
    horizon_h = 6000.0
    s = scenario_from_dict(_mmc(base, c, gpus_per_node, lam, mu, horizon_h))
    _assert_within_4_se(_replica_means(s, horizon_h), mmc_mean_wait(c, lam, mu))


def _two_clouds(base, scope, c, lam, mu, horizon_h, merged):
    base["horizon"] = horizon_h
    base["warmup"] = WARMUP * horizon_h
    base["scenario"] = "merged" if merged else "standalone"
    base["companies"] = [{"name": "a"}, {"name": "b"}]
    site = base["sites"][0]
    base["sites"] = [dict(site, name="s1", owner="a"), dict(site, name="s2", owner="b")]
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": c}, {"site": "s2", "node_type": "g", "nodes": c}]
    _pool(base, "ta", "a", c, 1, lam, mu)
    _pool(base, "tb", "b", c, 1, lam, mu)
    base["scheduler"] = {"policy": "fifo", "scope": scope}
    if merged:
        base["merger"] = {"into": "a", "members": ["a", "b"]}
    return scenario_from_dict(base)


def test_pooling_two_mmc_into_one_mm2c(base):
    import copy
    c, mu, rho, horizon_h = 4, 1.0, 0.8, 5000.0
    lam = rho * c * mu
    standalone = _two_clouds(copy.deepcopy(base), "per_company", c, lam, mu, horizon_h, merged=False)
    merged = _two_clouds(copy.deepcopy(base), "pooled", c, lam, mu, horizon_h, merged=True)
    w_alone = _replica_means(standalone, horizon_h)
    w_pooled = _replica_means(merged, horizon_h)
    _assert_within_4_se(w_alone, mmc_mean_wait(c, lam, mu))
    _assert_within_4_se(w_pooled, mmc_mean_wait(2 * c, 2 * lam, mu))
    # common random numbers: the same jobs arrive in both, so the paired gain is tight
    gain = w_alone - w_pooled
    expected = mmc_mean_wait(c, lam, mu) - mmc_mean_wait(2 * c, 2 * lam, mu)
    _assert_within_4_se(gain, expected)


PRIORITY_C, PRIORITY_HORIZON_H = 4, 6000.0
PRIORITY_LAMS = [1.5, 1.7]   # on-demand (high) then spot (low), mu = 1; total load 0.8


def _two_classes(base, preemption: bool):
    """Replicated runs of an M/M/4 with an on-demand and a spot class under `priority`."""
    base["horizon"] = PRIORITY_HORIZON_H
    base["warmup"] = WARMUP * PRIORITY_HORIZON_H
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": PRIORITY_C}]
    _pool(base, "high", "a", PRIORITY_C, 1, PRIORITY_LAMS[0], 1.0, tier="on_demand")
    _pool(base, "low", "a", PRIORITY_C, 1, PRIORITY_LAMS[1], 1.0, tier="spot")
    base["scheduler"] = {"policy": "priority", "scope": "pooled", "preemption": preemption}
    s = scenario_from_dict(base)
    runs = [simulate(s, 5, k) for k in range(REPLICAS)]
    waits = [np.array([_mean_wait_h(s, r, tenant) for r in runs]) for tenant in (0, 1)]
    return runs, waits


def test_nonpreemptive_priority_matches_cobham(base):
    expected = priority_mmc_waits(PRIORITY_C, PRIORITY_LAMS, 1.0)
    _, waits = _two_classes(base, preemption=False)
    for samples, want in zip(waits, expected):
        _assert_within_4_se(samples, want)
    # and FIFO would not separate them: the low class waits longer only under priority
    assert expected[1] > 2 * expected[0]


def test_engine_matches_textbook_simpy_job_for_job():
    """FIFO on c single-GPU servers: the engine's start times equal SimPy's Resource loop's."""
    from bench.engine import SEED, bare_simpy, scenario
    from sim.engine.workload import job_stream
    s = scenario(20_000, 16, 0.9)
    stream = job_stream(s, "t", s.tenants[0].workload, SEED, 0)
    expected = bare_simpy(stream.submit_h, stream.duration_h, 16, s.horizon_h)
    got = simulate(s, SEED, 0).jobs["start_h"]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert (got - stream.submit_h > 0).mean() > 0.3  # a real queue formed


def test_preemptive_priority_high_class_sees_only_itself(base):
    """Preemptive-resume priority with equal exponential service: the high class waits
    exactly as in an M/M/c carrying its load alone; the low class waits longer than
    without preemption (Cobham's value)."""
    runs, (high, _) = _two_classes(base, preemption=True)
    _assert_within_4_se(high, mmc_mean_wait(PRIORITY_C, PRIORITY_LAMS[0], 1.0))
    # Delay (time in the system not in service) is conserved across these disciplines, so
    # what the high class gains the low class pays: its delay exceeds Cobham's wait.
    def low_delay(run):
        j = run.jobs
        done = (j["state"] == 2) & (j["tenant"] == 1) & (j["submit_h"] >= WARMUP * PRIORITY_HORIZON_H)
        return (j["end_h"] - j["submit_h"] - j["duration_h"])[done].mean()
    low = np.array([low_delay(r) for r in runs])
    cobham_low = priority_mmc_waits(PRIORITY_C, PRIORITY_LAMS, 1.0)[1]
    assert low.mean() - 4 * low.std(ddof=1) / np.sqrt(low.size) > cobham_low
    assert sum(r.jobs["preemptions"].sum() for r in runs) > 100
    assert (np.concatenate([r.jobs["preemptions"][r.jobs["tier"] == 1] for r in runs]) == 0).all()


THREE_LAMS = [0.8, 1.0, 1.2]   # serving, training, research on M/M/4, mu = 1; total load 0.75


def test_three_priority_classes_match_cobham(base):
    """Any number of ordered classes: three non-preemptive classes on M/M/4 wait as Cobham's
    formula says, each within 4 standard errors of replicated runs (their own `mean_wait_h[class]`)."""
    base["horizon"] = PRIORITY_HORIZON_H
    base["warmup"] = WARMUP * PRIORITY_HORIZON_H
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": PRIORITY_C}]
    names = ["serving", "training", "research"]
    for name, lam in zip(names, THREE_LAMS):
        _pool(base, name, "a", PRIORITY_C, 1, lam, 1.0, tier=name)
    base["scheduler"] = {"policy": "priority", "scope": "pooled", "preemption": False,
                         "classes": [{"name": n} for n in names]}
    s = scenario_from_dict(base)
    runs = [simulate(s, 9, k) for k in range(REPLICAS)]
    per_class = [np.array([job_metrics(s, r.jobs)[f"mean_wait_h[{n}]"] for r in runs]) for n in names]
    expected = priority_mmc_waits(PRIORITY_C, THREE_LAMS, 1.0)
    for samples, want in zip(per_class, expected):
        _assert_within_4_se(samples, want)
    assert expected[2] > 3 * expected[0]   # the classes are told apart
