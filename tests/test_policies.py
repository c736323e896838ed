"""Scheduling policies on hand-built job lists with known schedules (exact start
times), as SimPy's own tests do; and policies told apart on random workloads."""
import copy
import math

import numpy as np
import pytest
import simpy

from sim.config.loading import scenario_from_dict
from sim.engine.fleet import Pool
from sim.engine.model import simulate
from sim.engine.records import JobTable, Recorder
from sim.engine.reservations import Reservation
from sim.engine.scheduler import Scheduler
from sim.engine.stranding import StrandingMeter

ON_DEMAND, SPOT = 1, 2


def run(base, jobs, nodes=1, gpus_per_node=4, fail=(), horizon=200.0, reservation=(), fail_gpus=(), **scheduler):
    """jobs: dicts with t (submit h), g (GPUs), d (duration h) and optional tier, tenant,
    est (runtime estimate h), ckpt (checkpoint interval h). fail: (time h, node) pairs.
    reservation: (time h, GPUs held, GPUs guaranteed) steps of one reservation (profile 9).
    fail_gpus: (time h, node, GPUs, repair h) outages of part of a node."""
    base["scheduler"] = {"scope": "pooled", **scheduler}
    cfg = scenario_from_dict(base).scheduler
    env = simpy.Environment()
    n = len(jobs)
    table = JobTable([j["t"] for j in jobs], [j["g"] for j in jobs], [j["d"] for j in jobs],
                     [j.get("tenant", 0) for j in jobs], ["g"] * n, [j.get("tier", ON_DEMAND) for j in jobs],
                     [0.5] * n, estimate_h=[j.get("est", j["d"]) for j in jobs],
                     checkpoint_h=[j.get("ckpt", float("nan")) for j in jobs])
    rec = Recorder()
    sched = Scheduler(env, cfg, table, rec, StrandingMeter(), weights=[1.0, 1.0])
    sched.pool("g", gpus_per_node).plan_nodes("s1", nodes)
    sched.track_nodes = bool(fail) or bool(fail_gpus)
    sched.nodes_online("g", "s1", nodes, 0, None)

    def arrivals():
        for k, j in enumerate(jobs):
            yield env.timeout(j["t"] - env.now)
            sched.submit(k)

    def failure(t, node):
        yield env.timeout(t)
        sched.fail_node("g", node)

    def reserve():
        res = Reservation(9, "g", None)
        for t, held, guaranteed in reservation:
            yield env.timeout(t - env.now)
            sched.set_reservation(res, held, guaranteed)

    def partial(t, node, gpus, repair_h):
        yield env.timeout(t)
        outage = sched.fail_gpus("g", node, gpus)
        yield env.timeout(repair_h)
        sched.repair_gpus(outage)

    env.process(arrivals())
    env.process(reserve())
    for args in fail_gpus:
        env.process(partial(*args))
    for t, node in fail:
        env.process(failure(t, node))
    env.run(until=horizon)
    sched.finish(horizon)
    return table, rec


def starts(table):
    return [round(x, 9) for x in table.start]


def test_fifo_blocks_behind_the_head(base):
    jobs = [dict(t=0, g=2, d=10), dict(t=1, g=4, d=5), dict(t=2, g=2, d=3), dict(t=3, g=2, d=20)]
    table, _ = run(base, jobs, policy="fifo")
    assert starts(table) == [0, 10, 15, 15]


def test_easy_backfill_starts_a_short_job_without_delaying_the_head(base):
    jobs = [dict(t=0, g=2, d=10), dict(t=1, g=4, d=5), dict(t=2, g=2, d=3), dict(t=3, g=2, d=20)]
    table, _ = run(base, jobs, policy="easy_backfill")
    # C (2 GPUs, 3 h) ends by 5 <= the head's shadow time 10: backfilled at 2.
    # D (20 h) would hold the head's node past 10: it waits. The head starts at 10 as under FIFO.
    assert starts(table) == [0, 10, 2, 15]


def test_easy_backfill_keeps_long_jobs_off_the_heads_nodes(base):
    # 3 nodes x 4 GPUs. A and A2 fill two nodes; the head B needs two whole nodes: it gets
    # node Z now and A's node at 10. C (long) may not take Z; D (ends at 6 <= 10) may.
    jobs = [dict(t=0, g=4, d=10), dict(t=0, g=4, d=20), dict(t=1, g=8, d=5), dict(t=2, g=4, d=100),
            dict(t=3, g=2, d=3)]
    easy, _ = run(base, jobs, nodes=3, policy="easy_backfill")
    fifo, _ = run(base, jobs, nodes=3, policy="fifo")
    assert starts(easy) == [0, 0, 10, 15, 3]
    assert starts(fifo) == [0, 0, 10, 15, 15]


def test_easy_backfill_trusts_estimates(base):
    # D's estimate (3 h) is what counts, even though the head's start is what must not move
    jobs = [dict(t=0, g=2, d=10, est=10), dict(t=1, g=4, d=5), dict(t=2, g=2, d=3, est=30)]
    table, _ = run(base, jobs, policy="easy_backfill")
    assert starts(table) == [0, 10, 15]   # estimated 30 h > shadow: not backfilled


def test_priority_preempts_the_most_recent_spot_job(base):
    jobs = [dict(t=0, g=2, d=10, tier=SPOT), dict(t=1, g=2, d=10, tier=SPOT), dict(t=2, g=2, d=1)]
    table, _ = run(base, jobs, policy="priority")
    assert starts(table) == [0, 1, 2]
    assert table.preemptions == [0, 1, 0]
    # the spot job resumes at 3 with 9 h left: suspend and resume loses nothing
    assert table.end[1] == pytest.approx(12.0) and table.end[0] == pytest.approx(10.0)
    no_preemption, _ = run(copy.deepcopy(base), jobs, policy="priority", preemption=False)
    assert starts(no_preemption) == [0, 1, 10]


def test_priority_classes_preempt_only_lower_preemptible_classes(base):
    """Classes serving > training > research (preemptible) on one 4-GPU node: serving takes the
    research job's GPUs (the most recent preemptible one), never training's; research, though
    preemptible itself, may not preempt anyone above it."""
    classes = [{"name": "serving"}, {"name": "training"}, {"name": "research", "preemptible": True}]
    serving, training, research = 1, 2, 3
    jobs = [dict(t=0, g=2, d=10, tier=training), dict(t=1, g=2, d=10, tier=research),
            dict(t=2, g=2, d=1, tier=serving), dict(t=2.5, g=2, d=1, tier=serving)]
    table, _ = run(base, jobs, policy="priority", classes=classes)
    assert table.preemptions == [0, 1, 0, 0]
    # serving job 2 preempts research at 2; serving job 3 waits for it (training is not
    # preemptible) and goes before research at 3; research resumes at 4 with 9 h left
    assert starts(table) == [0, 1, 2, 3]
    assert table.end == pytest.approx([10.0, 13.0, 3.0, 4.0])
    # a higher class preempts a lower preemptible one whatever its own preemptibility
    jobs = [dict(t=0, g=4, d=10, tier=research), dict(t=1, g=2, d=1, tier=training)]
    table, _ = run(copy.deepcopy(base), jobs, policy="priority", classes=classes)
    assert table.preemptions == [1, 0] and starts(table) == [0, 1]


def test_priority_does_not_preempt_spot_work_that_would_not_make_room(base):
    """Two 8-GPU nodes, each with a 5-GPU on-demand job and a 2-GPU spot job. A 6-GPU on-demand
    job cannot fit even with both spot jobs gone (3 GPUs per node): nothing is preempted."""
    jobs = [dict(t=0, g=5, d=50), dict(t=0, g=5, d=50), dict(t=0.1, g=2, d=50, tier=SPOT),
            dict(t=0.2, g=2, d=50, tier=SPOT), dict(t=1, g=6, d=1)]
    table, _ = run(base, jobs, nodes=2, gpus_per_node=8, policy="priority")
    assert table.preemptions == [0, 0, 0, 0, 0]
    assert starts(table) == [0, 0, 0.1, 0.2, 50]


def test_las_demotes_a_long_job_and_promotes_a_new_one(base):
    # one GPU; threshold 2 GPU-h: L reaches it at t=2, is demoted, and S (level 0) preempts it
    jobs = [dict(t=0, g=1, d=10), dict(t=1, g=1, d=1)]
    las, _ = run(base, jobs, gpus_per_node=1, policy="las", las_thresholds_gpu_h=[2.0])
    fifo, _ = run(copy.deepcopy(base), jobs, gpus_per_node=1, policy="fifo")
    assert starts(las) == [0, 2] and las.end == pytest.approx([11.0, 3.0]) and las.preemptions == [1, 0]
    assert starts(fifo) == [0, 10] and fifo.end == pytest.approx([10.0, 11.0])
    jct = lambda t: np.mean(np.array(t.end) - np.array(t.submit))
    assert jct(las) < jct(fifo)   # 6.5 h against 10 h


def test_fair_share_serves_the_tenant_holding_less(base):
    jobs = [dict(t=0, g=1, d=1, tenant=0) for _ in range(4)] + [dict(t=0.5, g=1, d=1, tenant=1)]
    fair, _ = run(base, jobs, gpus_per_node=2, policy="fair_share")
    fifo, _ = run(copy.deepcopy(base), jobs, gpus_per_node=2, policy="fifo")
    assert starts(fair) == [0, 0, 1, 2, 1]
    assert starts(fifo) == [0, 0, 1, 1, 2]


def test_failed_node_restarts_from_checkpoint_and_counts_badput(base):
    # two 1-GPU nodes; the job's node fails at 7 h; checkpoints every 3 h: 1 h is lost
    table, rec = run(base, [dict(t=0, g=1, d=10, ckpt=3.0)], nodes=2, gpus_per_node=1, fail=[(7.0, 1)])
    assert table.restarts == [1] and table.badput == [pytest.approx(1.0)]
    assert table.end == [pytest.approx(11.0)]   # restarts at 7 on the other node with 4 h left
    iv = rec.arrays()
    held = ((iv["job_end_h"] - iv["job_start_h"]) * iv["job_gpus"]).sum()
    assert held == pytest.approx(10.0 + 1.0)    # useful + badput, nothing twice
    assert iv["down_start_h"].tolist() == [7.0] and iv["down_end_h"].tolist() == [200.0]


def test_an_outage_of_part_of_a_node_restarts_its_jobs_and_keeps_the_rest_serving(base):
    """One 8-GPU node; 4 of its GPUs fail at 3 h for 2 h. A (4 GPUs) and B (2 GPUs) restart:
    A fits in the 4 GPUs left at once, B waits for the repair at 5 h."""
    jobs = [dict(t=0, g=4, d=10, ckpt=1.0), dict(t=0, g=2, d=10, ckpt=1.0)]
    table, rec = run(base, jobs, nodes=1, gpus_per_node=8, fail_gpus=[(3.0, 0, 4, 2.0)])
    assert table.restarts == [1, 1] and table.run_start == [3.0, 5.0]
    assert table.end == [pytest.approx(10.0), pytest.approx(12.0)]   # hourly checkpoints: nothing lost at 3 h
    iv = rec.arrays()
    assert (iv["down_start_h"].tolist(), iv["down_end_h"].tolist(), iv["down_gpus"].tolist()) == ([3.0], [5.0], [4.0])


def test_placement_strategies_choose_different_nodes():
    chosen = {}
    for placement in ("best_fit", "first_fit", "frag_aware"):
        pool = Pool("g", 4, placement)
        pool.add_nodes("s1", 3, 0, None)
        pool.take(0, 1)       # node 0: 3 free
        pool.take(1, 2)       # node 1: 2 free; node 2: 4 free
        for _ in range(50):
            pool.note_request(2)   # the workload asks mostly for 2 GPUs
        chosen[placement] = pool.place(1)[0][0]
    # best fit leaves the fewest free: node 1 (2 -> 1). First fit: node 0. Fragmentation-aware,
    # with stranded(f) = f * P(request > f) and requests {0..5: 1 each, 2: +50} (56 in all):
    # node 1 (2 -> 1): 1*53/56 - 2*3/56 = 0.84; node 0 (3 -> 2): 2*3/56 - 3*2/56 = 0;
    # node 2 (4 -> 3): 3*2/56 - 4*1/56 = 0.036. It keeps node 1's pair for the next 2-GPU job.
    assert chosen == {"best_fit": 1, "first_fit": 0, "frag_aware": 0}


def _heavy(base, policy, **extra):
    base["horizon"] = "20d"
    base["node_types"][0]["gpus_per_node"] = 8
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 4}]
    base["tenants"] = [{"name": "w", "provider": "a", "workload": {
        "node_type": "g", "arrival_rate_per_h": 2.2, "runtime_estimate_factor": 1.0,
        "gpus": {"dist": "empirical", "values": [1, 2, 4, 8, 16, 32], "weights": [30, 20, 20, 15, 10, 5]},
        "duration_h": {"dist": "lognormal", "mean": 2.0, "sigma": 1.8}, **extra}}]
    base["scheduler"] = {"policy": policy, "scope": "pooled", "las_thresholds_gpu_h": [4.0, 40.0]}
    return scenario_from_dict(base)


def _metrics(run, horizon_h):
    j, iv = run.jobs, run.intervals
    done = j["state"] == JobTable.COMPLETED
    jct = (j["end_h"] - j["submit_h"])[done].mean()
    busy = ((iv["job_end_h"] - iv["job_start_h"]) * iv["job_gpus"]).sum() / (32 * horizon_h)
    return jct, busy, j["start_h"]


def test_policies_are_distinguishable_on_a_heavy_tailed_workload(base):
    results = {}
    for policy in ("fifo", "easy_backfill", "las"):
        s = _heavy(copy.deepcopy(base), policy)
        results[policy] = [_metrics(simulate(s, 3, k), s.horizon_h) for k in range(3)]
    mean = lambda p, i: np.mean([r[i] for r in results[p]])
    assert mean("las", 0) < 0.8 * mean("fifo", 0)          # LAS cuts mean completion time
    assert mean("easy_backfill", 1) > mean("fifo", 1) + 0.02  # backfill raises utilization
    for a, b in (("fifo", "easy_backfill"), ("fifo", "las"), ("easy_backfill", "las")):
        assert not np.array_equal(results[a][0][2], results[b][0][2], equal_nan=True), (a, b)


def test_maintenance_window_preempts_without_loss(base):
    """A window takes the site's only node offline from day 1 for 6 h: the running job is
    preempted (no work lost), waits out the window, and finishes 6 h late."""
    base["horizon"] = "3d"
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 1}]
    base["maintenance"] = [{"site": "s1", "start": "2026-01-06", "duration": "6h"}]
    base["tenants"] = [{"name": "w", "provider": "a", "workload": {
        "node_type": "g", "arrival_rate_per_h": 1.0, "gpus": {"dist": "fixed", "value": 1},
        "duration_h": {"dist": "fixed", "value": 30.0}}}]
    s = scenario_from_dict(base)
    run = simulate(s, 4, 0)
    j = run.jobs
    assert j["start_h"][0] < 24 < j["start_h"][0] + 30   # job 0 runs when the window opens at 24 h
    assert j["preemptions"][0] == 1 and j["restarts"][0] == 0 and j["badput_gpu_h"][0] == 0
    assert j["end_h"][0] == pytest.approx(j["start_h"][0] + 30.0 + 6.0)
    assert np.nanmin(j["start_h"][1:]) == pytest.approx(j["end_h"][0])   # nobody ran on the node meanwhile
    iv = run.intervals
    assert iv["down_start_h"].tolist() == [24.0] and iv["down_end_h"].tolist() == [30.0]


def test_the_readme_policy_example_runs(base):
    """The README's custom policy, executed as written."""
    import re
    from pathlib import Path
    from sim.engine.policies import POLICIES
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.search(r"```python\n(from sim.engine.policies import POLICIES, Fifo.*?)```", readme, re.S).group(1)
    exec(code, {})
    try:
        jobs = [dict(t=0, g=4, d=10), dict(t=1, g=4, d=8, est=8), dict(t=2, g=4, d=2, est=2)]
        table, _ = run(base, jobs, policy="shortest_first")
        assert starts(table) == [0, 12, 10]   # the 2 h job jumps the 8 h one
    finally:
        POLICIES.pop("shortest_first", None)


# Hours at which a reservation of 8 GPUs with a diurnal profile (mean 0.5, amplitude 1, peak at
# 12:00, no noise) holds round(4 (1 + cos(2 pi (h - 12) / 24))) GPUs in use: 0 at h=0, 1 at h=2, ...
DIURNAL_IN_USE = [(0, 0), (2, 1), (4, 2), (5, 3), (6, 4), (7, 5), (8, 6), (9, 7), (11, 8),
                  (14, 7), (16, 6), (17, 5), (18, 4), (19, 3), (20, 2), (22, 1), (23, 0)]


def test_a_reservation_lends_idle_gpus_to_spot_only_and_reclaims_them(base):
    """Two 8-GPU nodes; a reservation guaranteed 8 GPUs uses 0 at first. On-demand C (8 GPUs,
    t=0.25) starts: the 8 left free can still be reclaimed. On-demand D (t=0.3) must not take
    them; spot B (t=0.5) may (backfilled behind D), is preempted at h=2 when the tenant needs
    1 GPU, and resumes at h=23 when the tenant's use is back to 0. Never short: shortfall 0."""
    jobs = [dict(t=0.25, g=8, d=100), dict(t=0.3, g=8, d=100, tenant=1),
            dict(t=0.5, g=8, d=100, tier=SPOT, tenant=1)]
    steps = [(h, held, 8) for h, held in DIURNAL_IN_USE]
    table, rec = run(base, jobs, nodes=2, gpus_per_node=8, horizon=30.0, reservation=steps,
                     policy="easy_backfill")
    assert starts(table)[0] == 0.25
    assert math.isnan(table.start[1])                       # D never takes the lent GPUs
    assert (table.start[2], table.preemptions[2], table.run_start[2]) == (0.5, 1, 23.0)
    held = rec.arrays()
    assert held["shortfall_gpus"].sum() == 0
    reserved_gpu_h = ((held["reserved_end_h"] - held["reserved_start_h"]) * held["reserved_gpus"]).sum()
    hand = sum(g * (b - a) for (a, g), (b, _) in zip(DIURNAL_IN_USE, DIURNAL_IN_USE[1:] + [(30.0, 0)]))
    assert reserved_gpu_h == pytest.approx(hand)


def test_on_demand_does_not_preempt_spot_running_on_lent_gpus(base):
    """Under priority with preemption, on-demand D (t=1) finds spot B on the only GPUs left,
    which are lent: preempting B would leave the reservation unable to reclaim them, so D
    waits and B runs until the reservation itself takes a GPU back at h=2."""
    jobs = [dict(t=0.25, g=8, d=100), dict(t=0.5, g=8, d=100, tier=SPOT, tenant=1),
            dict(t=1.0, g=8, d=100, tenant=1)]
    steps = [(h, held, 8) for h, held in DIURNAL_IN_USE]
    table, rec = run(base, jobs, nodes=2, gpus_per_node=8, horizon=30.0, reservation=steps, policy="priority")
    a = rec.arrays()
    spot_segments = sorted(zip(a["job_start_h"][a["job_tenant"] == 1], a["job_end_h"][a["job_tenant"] == 1]))
    assert spot_segments[0] == (0.5, 2.0) and table.preemptions[1] == 1
    assert math.isnan(table.start[2])


def test_easy_backfill_does_not_let_a_guarded_failure_skip_spot_work(base):
    """One 8-GPU node, 6 GPUs lent by a reservation using none. At 1 h the node is free: the
    on-demand jobs (8 and 4 GPUs) may not start, since they would take lent GPUs, but that says
    nothing about spot work: the 6-GPU spot job starts at 1 h."""
    jobs = [dict(t=0, g=8, d=1, tier=SPOT, tenant=1), dict(t=0.1, g=8, d=10), dict(t=0.2, g=4, d=10),
            dict(t=0.3, g=6, d=10, tier=SPOT, tenant=1)]
    table, _ = run(base, jobs, nodes=1, gpus_per_node=8, horizon=30.0, reservation=[(0, 0, 6)],
                   policy="easy_backfill")
    assert starts(table)[0] == 0 and starts(table)[3] == 1.0
    assert math.isnan(table.start[1]) and math.isnan(table.start[2])


def test_without_lending_the_reserved_gpus_stay_idle(base):
    jobs = [dict(t=0.25, g=8, d=100), dict(t=0.5, g=8, d=100, tier=SPOT, tenant=1)]
    table, _ = run(base, jobs, nodes=2, gpus_per_node=8, horizon=30.0, reservation=[(0, 8, 8)],
                   policy="easy_backfill")
    assert starts(table)[0] == 0.25 and math.isnan(table.start[1])


def _outages(base, **node_type):
    """40 one-GPU nodes for 100 days, a site that would keep 20% spares, no jobs."""
    base["horizon"] = "100d"
    base["sites"][0]["spare_fraction"] = 0.2
    base["node_types"] = [dict(base["node_types"][0], **node_type)]
    base["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 40}]
    iv = simulate(scenario_from_dict(base), 1, 0).intervals
    return iv, 40 * 2400.0


def test_interruptions_take_nodes_down_for_their_recovery_only(base):
    """Each node alternates up (exponential, mean 1/rate) and down (exponential, mean recovery):
    down a share rate x recovery / (1 + rate x recovery) of the time; no spare is held back."""
    rate_h, recovery_h = 0.1, 1.0
    iv, node_h = _outages(copy.deepcopy(base), interruptions_per_gpu_year=rate_h * 8760,
                          interruption_recovery_h=recovery_h)
    down_share = ((iv["down_end_h"] - iv["down_start_h"]) * iv["down_gpus"]).sum() / node_h
    assert down_share == pytest.approx(rate_h * recovery_h / (1 + rate_h * recovery_h), rel=0.05)
    # hardware failures at the same rate and repair time hold 8 of the 40 nodes back as spares;
    # a spare replaces each failed node at once, so 32 stay in service and fail at 32 x rate:
    # 3.2 nodes in repair on average (the spares rarely run out: P(Poisson(3.2) > 8) < 1%)
    iv, _ = _outages(copy.deepcopy(base), failures_per_gpu_year=rate_h * 8760, repair_h=recovery_h)
    in_repair = ((iv["down_end_h"] - iv["down_start_h"]) * iv["down_gpus"]).sum() / 2400.0
    assert in_repair == pytest.approx(32 * rate_h * recovery_h, rel=0.05)


def test_outages_of_a_failure_domain_smaller_than_the_node(base):
    """8-GPU nodes, 4-GPU failure domain, 0.01 faults per GPU-hour, 1 h repairs. A node has
    0, 1 or 2 outages (a fault on a node with no working GPUs left does nothing): a birth-death
    chain with births at 8 x 0.01 = 0.08 per hour in states 0 and 1 and deaths at k per hour,
    so pi1 = 0.08 pi0, pi2 = 0.0032 pi0, and 4 (pi1 + 2 pi2) GPUs of 8 are down on average.
    No spares are held back (they are whole nodes)."""
    iv, _ = _outages(copy.deepcopy(base), gpus_per_node=8, interruptions_per_gpu_year=0.01 * 8760,
                     interruption_recovery_h=1.0, failure_domain_gpus=4)
    pi0 = 1 / (1 + 0.08 + 0.0032)
    want = 4 * (0.08 + 2 * 0.0032) * pi0 / 8
    down_share = ((iv["down_end_h"] - iv["down_start_h"]) * iv["down_gpus"]).sum() / (40 * 8 * 2400.0)
    assert set(iv["down_gpus"].tolist()) == {4.0}
    assert down_share == pytest.approx(want, rel=0.05)


def test_easy_backfill_a_long_jobs_failure_does_not_block_a_short_one(base):
    """Two 4-GPU nodes. B ends at 5; the 8-GPU head H then waits for A (ends at 10) with
    both nodes reserved. In the pass at 5, long L (1 GPU, 20 h) must avoid them and fails;
    short S (1 GPU, 2 h) ends before 10 and may use them: it starts at 5, H still at 10."""
    jobs = [dict(t=0, g=4, d=10), dict(t=0, g=4, d=5), dict(t=1, g=8, d=1), dict(t=2, g=1, d=20),
            dict(t=3, g=1, d=2)]
    table, _ = run(base, jobs, nodes=2, gpus_per_node=4, policy="easy_backfill")
    assert starts(table) == [0, 0, 10, 11, 5]


@pytest.mark.parametrize("window", [1, 3, 64])
def test_easy_backfill_shortcuts_change_no_schedule(base, window):
    """EASY's shortcuts (an arrival tries only itself; failed sizes skip bigger jobs; the
    shadow looked up only when a job could fit) against the plain algorithm: every
    arrival dispatches the whole queue, every job in the window is tried, in repeated
    passes until one starts nothing. Same start times, job for job, on an overloaded
    heavy-tailed workload with gang jobs in pods and runtime estimates off by up to 3x."""
    from sim.engine.policies import EasyBackfill, POLICIES

    class PlainEasy(EasyBackfill):
        def on_arrival(self, sched, node_type, job):
            sched.dispatch(node_type)

        def _backfill(self, sched, node_type):
            q = self.queue
            while True:
                shadow_h, reserved = sched.shadow(q[0])
                started = [job for job in list(q)[1:self.config.backfill_window + 1]
                           if sched.try_start(job, avoid=reserved if self.jobs.estimate_left(job) > shadow_h - sched.env.now
                                              else frozenset())]
                for job in started:
                    q.remove(job)
                if not started or len(q) < 2:
                    return

    base["node_types"][0]["nodes_per_pod"] = 2
    fast = _heavy(copy.deepcopy(base), "easy_backfill", runtime_estimate_factor=2.0, arrival_rate_per_h=4.0,
                  gang_in_pod=True)
    fast = fast.model_copy(update={"scheduler": fast.scheduler.model_copy(update={"backfill_window": window})})
    POLICIES["plain_easy"] = PlainEasy
    try:
        plain = fast.model_copy(update={"scheduler": fast.scheduler.model_copy(update={"policy": "plain_easy"})})
        a, b = simulate(fast, 3, 0).jobs, simulate(plain, 3, 0).jobs
    finally:
        POLICIES.pop("plain_easy")
    assert np.isnan(a["start_h"]).sum() > 10                     # overloaded: the window matters
    np.testing.assert_array_equal(a["start_h"], b["start_h"])
