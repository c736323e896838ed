"""The money over market paths (kernels.paths) at scale, against this machine's copy bandwidth.

In one run: the reference standalone config's engine replicas are simulated once
(`--replicas`, 2 by default), then `--paths` market paths (100,000 by default) x its 144
months x its companies go through `kernels.paths.path_money` in batches of `--batch` paths:
statements, debt month by month, covenants, default, NPV and terminal value. Printed: the
paths per second of the kernel alone (the host's draws are timed apart), its bytes moved (each
path's input lines read once and its output lines written once) per second over the copy
bandwidth as `paths_vs_copy_bandwidth=`, and with --backend cupy the NumPy twin on one batch
gives `cupy_vs_numpy=` (target at least 30).

    python bench/paths.py [--paths 100000] [--batch 25000] [--replicas 2] [--backend numpy|cupy]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.kernels import best_of, copy_bandwidth, synchronize  # noqa: E402
from kernels import get_backend, to_host  # noqa: E402
from kernels.debt import LINES  # noqa: E402
from kernels.paths import path_money  # noqa: E402
from sim.config.schema import MarketPaths  # noqa: E402
from sim.experiment.runner import run_experiment  # noqa: E402
from sim.money.debt import debt_terms, loan_schedules  # noqa: E402
from sim.money.finance import month_grid  # noqa: E402
from sim.money.paths import _base, _terminal_terms, market_draws  # noqa: E402
from sim.money.valuation import discount_factors  # noqa: E402

CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs", "standalone.yaml")


def kernel_inputs(v, spec: MarketPaths, first: int, count: int):
    """Host inputs of `count` paths from path `first`, for the variant's first replica group."""
    s = v.scenario
    (idx, acct) = v.groups[0]
    g = month_grid(v.scenarios[idx[0]], acct)
    M = v.finance.lines["fcf_usd"].shape[2]
    draws = market_draws(spec, 0.043, s.seed, M, range(first, first + count))
    rates = [next(c.discount_rate for c in s.companies if c.name == n) for n in g.companies]
    base = _base(s, v.finance)
    # every path on the group's first replica: one loan schedule for the batch
    replica = np.full(count, idx[0], dtype=np.int64)
    return (base, replica, draws, debt_terms(s, g, loan_schedules(s, acct.month_starts[0], g)),
            discount_factors(rates, M), _terminal_terms(s, g.companies))


def on(xp, inputs):
    base, replica, draws, terms, discount, tv = inputs
    debt = {k: ({n: xp.asarray(a) for n, a in x.items()} if isinstance(x, dict) else xp.asarray(x))
            for k, x in terms.items()}
    return ({k: xp.asarray(a) for k, a in base.items()}, xp.asarray(replica),
            *(xp.asarray(draws[k]) for k in ("gpu_factor", "power_factor", "alive", "sofr_shift")), debt,
            xp.asarray(discount), {k: xp.asarray(a) for k, a in tv.items()})


def bytes_moved(count: int, C: int, M: int, K: int) -> int:
    """Inputs read once (six (C, M) lines and K tenants' per path, four (M,) draws) and outputs
    written once (the debt kernel's lines, fcf and three (C,) values)."""
    return 8 * count * ((6 + K) * C * M + 3 * M + K * M + (len(LINES) + 1) * C * M + 3 * C)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paths", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=25_000)
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--backend", default="numpy", choices=("numpy", "cupy"))
    args = ap.parse_args(argv)
    name, xp = get_backend(args.backend)
    exp = run_experiment(CONFIG, replicas=args.replicas)
    v = exp.variants[0]
    spec = v.scenario.paths
    C, M = len(v.finance.companies), v.finance.lines["fcf_usd"].shape[2]
    K = len(spec.tenant_default_per_year)
    print(f"config={os.path.basename(CONFIG)} replicas={args.replicas} companies={C} months={M} "
          f"tenants_that_may_default={K} backend={name}")
    kernel_s = draws_s = 0.0
    first_batch = None
    done = 0
    while done < args.paths:
        count = min(args.batch, args.paths - done)
        t0 = time.perf_counter()
        inputs = kernel_inputs(v, spec, done, count)
        draws_s += time.perf_counter() - t0
        device = on(xp, inputs)
        first_batch = first_batch or (inputs, device)
        kernel_s += best_of(1, name, xp, lambda: to_host(path_money(*device)["npv"]))
        done += count
    rate = args.paths / kernel_s
    moved = bytes_moved(args.paths, C, M, K) / kernel_s
    bandwidth = copy_bandwidth(name, xp)
    print(f"paths={args.paths} kernel_s={kernel_s:.2f} host_draws_s={draws_s:.2f} paths_per_s={rate:,.0f}")
    print(f"copy_bandwidth_GBps={bandwidth / 1e9:.1f} kernel_GBps={moved / 1e9:.2f}")
    if name == "cupy":
        inputs, device = first_batch
        synchronize(name, xp)
        gpu = best_of(3, name, xp, lambda: path_money(*device))
        cpu = best_of(1, "numpy", np, lambda: path_money(*on(np, inputs)))
        print(f"cupy_vs_numpy={cpu / gpu:.1f}")
    print(f"paths_vs_copy_bandwidth={moved / bandwidth:.3f}")


if __name__ == "__main__":
    main()
