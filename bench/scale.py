"""Scale-out of replicas on the reference case (DESIGN §10, §11): wall time per replica
with 1, 2 and 4 local worker processes, the scaling efficiency, and the linear-cost
check (10x replicas, at most 11x time). A replica here is one replica of the whole
case: merged and standalone, simulated, cached and accounted as `python -m sim` does.

The last line is `replicas_per_s_ratio_4_vs_1=<ratio>`, with the core count on the
line before it: the ratio can approach the number of cores, no more (about 2 on 2).

    python bench/scale.py [--config configs/merged.yaml] [--replicas 4] [--repeat 2] [--executor local|dask]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sim.experiment.executors import machine_workers  # noqa: E402
from sim.config.variants import setup  # noqa: E402
from sim.experiment.runner import run_setup  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(config: str, replicas: int, workers: int, executor: str, repeat: int = 1) -> float:
    """Wall time to simulate and account `replicas` replicas of the config and its baseline
    (best of `repeat` runs: other load on the machine only ever adds time)."""
    plan = setup(config, replicas=replicas)
    best = float("inf")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as cache:
            t0 = time.perf_counter()
            run_setup(plan, backend="numpy", workers=workers, executor=executor, cache_root=cache)
            best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=os.path.join(ROOT, "configs", "merged.yaml"))
    p.add_argument("--replicas", type=int, default=4, help="replicas per timing (default 4)")
    p.add_argument("--executor", choices=("local", "dask"), default="local")
    p.add_argument("--repeat", type=int, default=2, help="best of this many timings of each case (default 2)")
    args = p.parse_args()
    cores = machine_workers()
    variants = len(setup(args.config).variants)
    print(f"{os.path.relpath(args.config, ROOT)}: {variants} variant(s) per replica, {cores} cores, "
          f"executor {args.executor}")

    rate = {}
    for workers in (1, 2, 4):
        wall = timed(args.config, args.replicas, workers, args.executor, args.repeat)
        rate[workers] = args.replicas / wall
        speedup = rate[workers] / rate[1]
        print(f"{workers} worker(s): {wall:6.1f} s for {args.replicas} replicas, {wall / args.replicas:5.2f} s per "
              f"replica, speedup {speedup:.2f}x, efficiency {speedup / min(workers, cores):.0%} of "
              f"{min(workers, cores)} usable core(s)")

    small, large = 1, 10
    t_small = timed(args.config, small, cores, args.executor, args.repeat)
    t_large = timed(args.config, large, cores, args.executor, args.repeat)
    print(f"linear cost ({cores} workers): {small} replica {t_small:.1f} s, {large} replicas {t_large:.1f} s: "
          f"{large // small}x replicas took {t_large / t_small:.1f}x the time (at most 11x)")
    print(f"cores={cores}")
    print(f"replicas_per_s_ratio_4_vs_1={rate[4] / rate[1]:.2f}")


if __name__ == "__main__":
    main()
