"""Engine throughput against a bare SimPy M/M/c loop on the same jobs (DESIGN §10).

Both run FIFO on c single-GPU servers over the same arrival and duration draws,
in one process, so they must also agree on every job's wait. Prints jobs per
second for each, the linear-cost check (10x jobs, at most 11x time), and as
its last line `engine_vs_bare_simpy=<ratio of jobs/s>`.

    python bench/engine.py [--jobs 200000] [--gpus 64] [--load 0.85]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import simpy

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sim.config import scenario_from_dict  # noqa: E402
from sim.model import simulate  # noqa: E402
from sim.workload import job_stream  # noqa: E402

SEED = 1


def scenario(jobs: int, gpus: int, load: float):
    rate = load * gpus  # mean duration 1 h
    return scenario_from_dict({
        "scenario": "bench", "start": "2026-01-01", "horizon": jobs / rate,
        "companies": [{"name": "c"}],
        "sites": [{"name": "s", "owner": "c", "critical_it_mw": 1000.0,
                   "energy_price": {"flat_usd_per_mwh": 50.0}, "carbon": {"flat_kg_per_mwh": 400.0}}],
        "node_types": [{"name": "g", "gpus_per_node": 8, "gpu_idle_w": 100.0, "gpu_max_w": 700.0}],
        "deployments": [{"site": "s", "node_type": "g", "nodes": gpus // 8}],
        "tenants": [{"name": "t", "provider": "c", "workload": {
            "node_type": "g", "arrival_rate_per_h": rate, "gpus": {"dist": "fixed", "value": 1},
            "duration_h": {"dist": "exponential", "mean": 1.0}}}],
    })


def bare_simpy(submit: np.ndarray, duration: np.ndarray, servers: int, horizon: float) -> np.ndarray:
    """The textbook SimPy M/M/c: one process per job on a Resource."""
    env = simpy.Environment()
    res = simpy.Resource(env, capacity=servers)
    start = np.full(submit.size, np.nan)

    def job(i, d):
        with res.request() as req:
            yield req
            start[i] = env.now
            yield env.timeout(d)

    def source():
        for i, (t, d) in enumerate(zip(submit.tolist(), duration.tolist())):
            yield env.timeout(t - env.now)
            env.process(job(i, d))

    env.process(source())
    env.run(until=horizon)
    return start


def measure(jobs: int, gpus: int, load: float):
    s = scenario(jobs, gpus, load)
    stream = job_stream(s, "t", s.tenants[0].workload, SEED, 0)
    t0 = time.perf_counter()
    bare_start = bare_simpy(stream.submit_h, stream.duration_h, gpus, s.horizon_h)
    t_bare = time.perf_counter() - t0
    t0 = time.perf_counter()
    run = simulate(s, SEED, 0)  # includes drawing the jobs and building its tables
    t_engine = time.perf_counter() - t0
    n = stream.submit_h.size
    both = ~np.isnan(bare_start) & ~np.isnan(run.jobs["start_h"])
    agree = np.abs(bare_start[both] - run.jobs["start_h"][both]).max(initial=0.0)
    return n, t_bare, t_engine, agree, int(both.sum())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=200_000)
    p.add_argument("--gpus", type=int, default=64)
    p.add_argument("--load", type=float, default=0.85)
    args = p.parse_args()

    small = measure(args.jobs // 10, args.gpus, args.load)
    n, t_bare, t_engine, agree, compared = measure(args.jobs, args.gpus, args.load)
    print(f"jobs: {n:,} on {args.gpus} GPUs at load {args.load}")
    print(f"bare SimPy M/M/c loop: {t_bare:.2f} s, {n / t_bare:,.0f} jobs/s")
    print(f"fleetsim engine:       {t_engine:.2f} s, {n / t_engine:,.0f} jobs/s")
    print(f"start times agree on {compared:,} jobs to within {agree:.2e} h")
    print(f"linear in jobs: 10x jobs took {t_engine / small[2]:.2f}x the time (target <= 11)")
    print(f"engine_vs_bare_simpy={(n / t_engine) / (n / t_bare):.2f}")


if __name__ == "__main__":
    main()
