"""EASY backfill and FIFO job for job against independent references.

The references are the textbook count-based algorithms for whole-node jobs (Lifka 1995;
Mu'alem and Feitelson 2001), a few dozen lines each, sharing nothing with the engine but the
jobs' times: when the head of the queue does not fit, its shadow time is the earliest
estimated end of running jobs at which enough nodes are free for it; the extra nodes are
those free then beyond its need; a waiting job may start now if it fits now and ends (by its
estimate) before the shadow time, or uses no more than the extra nodes (which it then uses
up). Random whole-node workloads (8-64 GPUs on 32 nodes of 8 GPUs, load about 0.85, user
estimates 1-3x the run time) are written as SWF files and replayed through `sim.api`; every
job's start, read back from jobs.csv, must be the reference's.
"""
from __future__ import annotations

import csv
import heapq
import math

import numpy as np
import pytest
import yaml

from sim import api
from sim.config.loading import load_scenario
from sim.engine.workload import job_stream

NODES, GPUS_PER_NODE = 32, 8


def reference_schedule(submit, nodes, run, estimate, total_nodes, easy: bool) -> list[float]:
    """Start time of every job (jobs in submit order, all of whole nodes)."""
    n = len(submit)
    start = [math.nan] * n
    free = total_nodes
    est_end = {}                    # running job -> estimated end
    ends: list = []                 # (end, job) of running jobs
    queue: list[int] = []

    def launch(job, now):
        nonlocal free
        free -= nodes[job]
        start[job] = now
        est_end[job] = now + estimate[job]
        heapq.heappush(ends, (now + run[job], job))

    def schedule(now):
        while queue and nodes[queue[0]] <= free:          # FIFO: the head, while it fits
            launch(queue.pop(0), now)
        if not easy or not queue:
            return
        need, avail = nodes[queue[0]], free
        for shadow, job in sorted((e, j) for j, e in est_end.items()):
            avail += nodes[job]
            if avail >= need:
                break
        extra = free + sum(nodes[j] for j, e in est_end.items() if e <= shadow) - need
        for job in list(queue[1:]):
            if nodes[job] > free:
                continue
            if now + estimate[job] <= shadow:              # ends before the head's start
                queue.remove(job)
                launch(job, now)
            elif nodes[job] <= min(free, extra):           # runs past it on extra nodes
                queue.remove(job)
                launch(job, now)
                extra -= nodes[job]

    arrival = 0
    while arrival < n or ends:
        if ends and (arrival == n or ends[0][0] <= submit[arrival]):
            now, job = heapq.heappop(ends)
            free += nodes[job]
            del est_end[job]
        else:
            now, job = submit[arrival], arrival
            arrival += 1
            queue.append(job)
        schedule(now)
    return start


def whole_node_swf(path, seed: int, jobs: int, load: float = 0.85) -> None:
    """Random whole-node jobs in SWF: Poisson arrivals, lognormal run times (mean 1 h),
    1-8 nodes, requested time 1-3x the run time. Times in fractional seconds (no ties)."""
    rng = np.random.default_rng(seed)
    nodes = rng.integers(1, 9, jobs)
    run_s = rng.lognormal(np.log(3600.0) - 0.5, 1.0, jobs)
    rate_per_s = load * NODES / (nodes.mean() * run_s.mean())
    submit_s = np.cumsum(rng.exponential(1.0 / rate_per_s, jobs))
    requested_s = run_s * rng.uniform(1.0, 3.0, jobs)
    lines = ["; Version: 2.2", "; random whole-node jobs for the EASY reference test"]
    for k in range(jobs):
        gpus = int(nodes[k]) * GPUS_PER_NODE
        lines.append(f"{k + 1} {float(submit_s[k])!r} -1 {float(run_s[k])!r} {gpus} -1 -1 {gpus} {float(requested_s[k])!r} -1 1 "
                     f"{k % 7} -1 -1 -1 -1 -1 -1")
    path.write_text("\n".join(lines) + "\n")


def replay_config(folder, trace, policy: str, horizon_h: float):
    config = {
        "scenario": f"easy-ref-{policy}", "start": "2026-01-05", "horizon": horizon_h, "seed": 1, "replicas": 1,
        "companies": [{"name": "a"}],
        "sites": [{"name": "s1", "owner": "a", "critical_it_mw": 10.0, "pue": 1.0,
                   "energy_price": {"flat_usd_per_mwh": 50.0}, "carbon": {"flat_kg_per_mwh": 400.0}}],
        "node_types": [{"name": "g", "gpus_per_node": GPUS_PER_NODE, "gpu_idle_w": 100.0, "gpu_max_w": 500.0}],
        "deployments": [{"site": "s1", "node_type": "g", "nodes": NODES}],
        "tenants": [{"name": "users", "provider": "a",
                     "workload": {"node_type": "g", "trace": {"path": str(trace), "format": "swf"}}}],
        "scheduler": {"policy": policy, "backfill_window": 100000},
    }
    path = folder / f"{policy}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("policy", ["easy_backfill", "fifo"])
def test_replay_matches_the_textbook_algorithm_job_for_job(tmp_path, seed, policy):
    trace = tmp_path / "jobs.swf"
    whole_node_swf(trace, seed, jobs=3000)
    config = replay_config(tmp_path, trace, policy, horizon_h=2000.0)
    s = load_scenario(config)
    w = s.tenants[0].workload
    js = job_stream(s, "users", w, 1, 0)      # the times exactly as the engine reads them
    expected = reference_schedule(js.submit_h.tolist(), (js.gpus // GPUS_PER_NODE).tolist(), js.duration_h.tolist(),
                                  js.estimate_h.tolist(), NODES, easy=policy == "easy_backfill")
    assert max(js.submit_h) + 200 < s.horizon_h and not any(math.isnan(x) for x in expected)
    exp = api.run(config, out=tmp_path / "out")
    with open(tmp_path / "out" / exp.name / "jobs.csv", newline="") as f:
        got = [float(r["start_h"]) for r in csv.DictReader(f)]
    assert len(got) == len(expected)
    # The engine's clock reaches an arrival as now + (submit - now), which can differ from the
    # submit time in the last bit; any scheduling difference is hours, not 1e-9 h.
    differ = [k for k, (a, b) in enumerate(zip(got, expected)) if abs(a - b) > 1e-9]
    waited = sum(b > s + 1e-9 for b, s in zip(expected, js.submit_h.tolist()))
    assert waited > len(expected) // 5, "the workload must queue for the test to say anything"
    assert not differ, (f"{len(differ)} of {len(expected)} starts differ; first job {differ[0]}: "
                        f"engine {got[differ[0]]}, reference {expected[differ[0]]}")
