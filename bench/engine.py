"""Engine throughput against a bare SimPy M/M/c loop on the same jobs (DESIGN §10).

Both run FIFO on c single-GPU servers over the same arrival and duration draws,
in one process, so they must also agree on every job's wait. Prints jobs per
second for each and the linear-cost check (10x jobs, at most 11x time). Then a
cluster case: 100,000 jobs of 1-512 GPUs on a 50,000-GPU fleet (8-GPU nodes)
under EASY backfill and best-fit placement, with its jobs per second, its ratio
to the bare SimPy loop's, and its linear-cost check three ways: fresh draws at loads 0.95
and 0.90 (from an empty fleet: the longer run meets more congestion), and the same jobs
replayed back to back after a common warm-up (the steady state). The last line is
`engine_vs_bare_simpy=<ratio of jobs/s>` for the M/M/c case.

    python bench/engine.py [--jobs 200000] [--gpus 64] [--load 0.85] [--cluster-jobs 100000]
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time

import numpy as np
import simpy

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sim.config.loading import scenario_from_dict  # noqa: E402
from sim.engine.model import simulate  # noqa: E402
from sim.engine.workload import job_stream  # noqa: E402
from bench.fleet import one_site  # noqa: E402

SEED = 1


def scenario(jobs: int, gpus: int, load: float):
    rate = load * gpus  # mean duration 1 h
    return scenario_from_dict(one_site("bench", jobs / rate, gpus // 8, {
        "arrival_rate_per_h": rate, "gpus": {"dist": "fixed", "value": 1},
        "duration_h": {"dist": "exponential", "mean": 1.0}}))


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


REPEATS = 3  # each timing is the best of 3 runs: the machine is shared and noisy


def best_time(fn, repeats: int = REPEATS):
    """(result, seconds) of the fastest of `repeats` calls."""
    best = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        took = time.perf_counter() - t0
        best = (result, took) if best is None or took < best[1] else best
    return best


def measure(jobs: int, gpus: int, load: float):
    s = scenario(jobs, gpus, load)
    stream = job_stream(s, "t", s.tenants[0].workload, SEED, 0)
    bare_start, t_bare = best_time(lambda: bare_simpy(stream.submit_h, stream.duration_h, gpus, s.horizon_h))
    run, t_engine = best_time(lambda: simulate(s, SEED, 0))  # includes drawing the jobs, building tables
    n = stream.submit_h.size
    both = ~np.isnan(bare_start) & ~np.isnan(run.jobs["start_h"])
    agree = np.abs(bare_start[both] - run.jobs["start_h"][both]).max(initial=0.0)
    return n, t_bare, t_engine, agree, int(both.sum())


def cluster_scenario(jobs: int, policy: str = "easy_backfill", load: float = 0.95):
    """50,000 GPUs; job sizes 1-512 GPUs (mean ~23); lognormal durations (mean 4 h);
    runtime estimates twice the real duration; offered load 0.95: queues form and
    backfill has work to do, yet the system stays stable (at 0.98 fragmentation makes
    the effective capacity smaller than the load and the queue grows without bound)."""
    sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    weights = [40, 10, 10, 15, 8, 6, 5, 3, 2, 1]
    mean_gpus = sum(a * b for a, b in zip(sizes, weights)) / sum(weights)
    rate = load * 50_000 / (mean_gpus * 4.0)
    return scenario_from_dict(one_site("cluster", jobs / rate, 6250, {
        "arrival_rate_per_h": rate, "runtime_estimate_factor": 2.0,
        "gpus": {"dist": "empirical", "values": sizes, "weights": weights},
        "duration_h": {"dist": "lognormal", "mean": 4.0, "sigma": 1.5}},
        scheduler={"policy": policy, "placement": "best_fit", "scope": "pooled", "backfill_window": 64}))


def time_cluster(jobs: int, repeats: int = REPEATS, load: float = 0.95) -> tuple[int, float, float]:
    """(jobs, seconds, share of jobs that waited)."""
    s = cluster_scenario(jobs, load=load)
    run, took = best_time(lambda: simulate(s, SEED, 0), repeats)
    waited = run.jobs["start_h"] > run.jobs["submit_h"]
    return run.jobs["submit_h"].size, took, float(waited.mean())


def cluster_linear(jobs: int, load: float) -> None:
    """10x more jobs over a 10x longer horizon (a shorter base run would be all warm-up:
    the fleet takes days to fill). Both runs are timed once each, interleaved as
    base, long, base, and the base's faster time is kept."""
    n_1, t_1, w_1 = time_cluster(jobs, 1, load)
    n_10, t_10, w_10 = time_cluster(10 * jobs, 1, load)
    t_1 = min(t_1, time_cluster(jobs, 1, load)[1])
    print(f"cluster case linear in jobs at load {load}: {n_10:,} jobs took {t_10 / t_1:.2f}x the time of "
          f"{n_1:,} (target <= 11); jobs that waited: {w_1:.1%} vs {w_10:.1%}")


def write_swf(path: str, submit_h: np.ndarray, duration_h: np.ndarray, gpus: np.ndarray, estimate_h: np.ndarray,
              copies: int, period_h: float) -> None:
    """The jobs as a Standard Workload Format log, `copies` times back to back `period_h` apart."""
    with open(path, "w") as f:
        f.write("; fleetsim bench: a synthetic workload, replicated\n")
        job = 0
        for k in range(copies):
            for t, d, g, e in zip((submit_h + k * period_h) * 3600, duration_h * 3600, gpus, estimate_h * 3600):
                job += 1
                f.write(f"{job} {t:.3f} -1 {d:.3f} {g} -1 -1 {g} {e:.3f} -1 1 1 -1 -1 -1 -1 -1 -1\n")


def replicated_scenario(swf: str, copies: int, period_h: float):
    """The cluster case's fleet, replaying an SWF log (its runtime estimates feed EASY)."""
    s = cluster_scenario(1).model_dump(mode="json", exclude_none=True)
    s["horizon"] = copies * period_h
    workload = s["tenants"][0]["workload"]
    s["tenants"][0]["workload"] = {"node_type": workload["node_type"], "trace": {"path": swf, "format": "swf"}}
    return scenario_from_dict(s)


WARM_COPIES = 4  # replayed copies before the queue settles (jobs that wait per copy: 3%, 9%, 12%, 13%, then 14%)


def cluster_linear_replicated(jobs: int, workdir: str) -> None:
    """Linear cost in the steady state: replay the 1x run's jobs back to back. A run from an
    empty fleet is mostly warm-up (3% of its jobs wait; once the queue settles, after about
    four copies, 14% do), so the first WARM_COPIES copies are a common warm-up: the 1x cost
    is T(warm + 1) - T(warm) and the 10x cost T(warm + 10) - T(warm). Each replay is timed
    once, the short ones best of two."""
    s = cluster_scenario(jobs)
    stream = job_stream(s, "t", s.tenants[0].workload, SEED, 0)
    estimate = stream.duration_h * s.tenants[0].workload.runtime_estimate_factor
    times, waited = {}, {}
    for extra in (0, 1, 10):
        copies = WARM_COPIES + extra
        swf = os.path.join(workdir, f"cluster_x{copies}.swf")
        write_swf(swf, stream.submit_h, stream.duration_h, stream.gpus, estimate, copies, s.horizon_h)
        replay = replicated_scenario(swf, copies, s.horizon_h)
        run, times[extra] = best_time(lambda: simulate(replay, SEED, 0), 2 if extra < 10 else 1)
        after = run.jobs["submit_h"] >= WARM_COPIES * s.horizon_h
        waited[extra] = float((run.jobs["start_h"] > run.jobs["submit_h"])[after].mean()) if extra else math.nan
    one, ten = times[1] - times[0], times[10] - times[0]
    print(f"cluster case linear in jobs in the steady state ({stream.submit_h.size:,} jobs replayed back to back "
          f"after {WARM_COPIES} warm-up copies): 10 copies took {ten / one:.2f}x the time of 1 (target <= 11); "
          f"jobs that waited after the warm-up: {waited[1]:.1%} and {waited[10]:.1%}; "
          f"{stream.submit_h.size / one:,.0f} jobs/s in the steady state")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=200_000)
    p.add_argument("--gpus", type=int, default=64)
    p.add_argument("--load", type=float, default=0.85)
    p.add_argument("--cluster-jobs", type=int, default=100_000, help="0 skips the cluster case")
    p.add_argument("--cluster-linear", action=argparse.BooleanOptionalAction, default=True,
                   help="also time 10x the cluster jobs three ways (about three minutes)")
    args = p.parse_args()

    small = measure(args.jobs // 10, args.gpus, args.load)
    n, t_bare, t_engine, agree, compared = measure(args.jobs, args.gpus, args.load)
    print(f"jobs: {n:,} on {args.gpus} GPUs at load {args.load}")
    print(f"bare SimPy M/M/c loop: {t_bare:.2f} s, {n / t_bare:,.0f} jobs/s")
    print(f"fleetsim engine:       {t_engine:.2f} s, {n / t_engine:,.0f} jobs/s")
    print(f"start times agree on {compared:,} jobs to within {agree:.2e} h")
    print(f"linear in jobs: 10x jobs took {t_engine / small[2]:.2f}x the time (target <= 11)")
    if args.cluster_jobs:
        n_big, t_big, _ = time_cluster(args.cluster_jobs)
        print(f"cluster case, easy_backfill + best_fit, 50,000 GPUs, 1-512 GPU jobs: {n_big:,} jobs in "
              f"{t_big:.2f} s, {n_big / t_big:,.0f} jobs/s, {(n_big / t_big) / (n / t_bare):.2f}x the bare "
              f"SimPy loop's jobs/s")
        if args.cluster_linear:
            # At 0.95 the long run meets longer congested spells than the short one (a heavy-tailed
            # queue near saturation), and each completion while jobs wait costs a backfill pass of
            # up to `backfill_window` jobs; at 0.90 both runs see about the same queueing.
            for load in (0.95, 0.90):
                cluster_linear(args.cluster_jobs, load)
            with tempfile.TemporaryDirectory() as workdir:
                cluster_linear_replicated(args.cluster_jobs, workdir)
    print(f"engine_vs_bare_simpy={(n / t_engine) / (n / t_bare):.2f}")


if __name__ == "__main__":
    main()
