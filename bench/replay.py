"""Replay speed of the largest shipped trace (issue 6): jobs per second on one core.

Replays the Microsoft Philly job table (82,247 jobs; ../shared/data/philly/) on the
2,816 GPUs (352 x 8) of Helios' Philly study, one pooled queue, under each policy
(fifo, easy_backfill: a policy this build does not have is reported, not run), at
the recorded pace and with submit gaps compressed (`time_scale` < 1) so queues form.
Timed: `sim.engine.model.simulate` of one replica, in this process (one core), the trace
already read (loading is timed apart). Target: at least 50,000 jobs/s.

    python bench/replay.py [--time-scales 1,0.15] [--policies fifo,easy_backfill]

Last line: `replay_jobs_per_s=<slowest run that was made>`.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sim.config.loading import scenario_from_dict  # noqa: E402
from sim.errors import ConfigError  # noqa: E402
from sim.metering.jobstats import censored_wait_h  # noqa: E402
from sim.engine.model import simulate  # noqa: E402
from sim.engine.records import JobTable  # noqa: E402
from sim.inputs.traces import load_trace  # noqa: E402
from bench.fleet import one_site  # noqa: E402

PHILLY = os.path.normpath(os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "..", "shared",
                                      "data", "philly", "philly_jobs.csv.gz"))
TARGET = 50_000


def philly_scenario(policy: str, time_scale: float, path: str = PHILLY) -> dict:
    horizon_d = 110 * time_scale + 60  # every job submitted, and room for the queue to drain
    return one_site("philly_bench", f"{horizon_d:.0f}d", 352, {
        "trace": {"path": path, "format": "philly", "time_scale": time_scale}},
        start="2017-09-04", company="msr", site="philly", tenant="philly", critical_it_mw=2.0, usd_per_mwh=60.0,
        node_type={"name": "P100x8", "gpus_per_node": 8, "gpu_idle_w": 50.0, "gpu_max_w": 250.0},
        scheduler={"policy": policy, "scope": "pooled"}, replicas=1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--time-scales", default="1,0.15", help="comma-separated time_scale values")
    p.add_argument("--policies", default="fifo,easy_backfill", help="comma-separated scheduler policies")
    p.add_argument("--trace", default=PHILLY)
    args = p.parse_args()

    t0 = time.perf_counter()
    trace = load_trace(args.trace, "philly")
    print(f"trace: {args.trace}: {len(trace):,} jobs, read in {time.perf_counter() - t0:.2f} s")
    rates = []
    for policy in args.policies.split(","):
        for scale in (float(x) for x in args.time_scales.split(",")):
            try:
                s = scenario_from_dict(philly_scenario(policy, scale, args.trace))
            except ConfigError as exc:
                print(f"{policy:14s} time_scale {scale:<5g} not run: {exc}")
                continue
            t0 = time.perf_counter()
            run = simulate(s, 0, 0)
            wall = time.perf_counter() - t0
            n = run.jobs["submit_h"].size
            wait = censored_wait_h(run.jobs, s.horizon_h)[run.jobs["state"] != JobTable.REJECTED]
            rates.append(n / wall)
            print(f"{policy:14s} time_scale {scale:<5g} {n:,} jobs in {wall:.2f} s = {n / wall:,.0f} jobs/s "
                  f"(mean wait {wait.mean():.2f} h, {np.mean(wait > 0):.0%} of jobs waited; "
                  f"target {TARGET:,} jobs/s: {'met' if n / wall >= TARGET else 'NOT met'})")
    if rates:
        print(f"replay_jobs_per_s={min(rates):.0f}")


if __name__ == "__main__":
    main()
