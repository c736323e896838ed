"""Kernel throughput against this machine's memory-copy bandwidth (DESIGN §10).

In one run: a plain large array copy measures the copy bandwidth (bytes read plus
bytes written, per second); then the fused energy pipeline
(`kernels.energy.energy_by_bin`: GPU power with node overhead, facility energy with
an hourly temperature-driven PUE, energy cost and carbon against hourly series,
summed per replica, site and month) runs on a batch of sites x hours x replicas,
and its bytes moved (every input read once, the output written once) per second
are compared with the copy. The last line is `kernels_vs_copy_bandwidth=<ratio>`
(target >= 0.5). With --backend cupy the same runs on the GPU, and the NumPy twin
on the same batch gives `cupy_vs_numpy=<speedup>` (target >= 30).

    python bench/kernels.py [--sites 50] [--hours 105120] [--replicas R] [--backend numpy|cupy]

--replicas defaults to as many as fit (at most 1000) in half the free host memory for
NumPy, or in 80% of the free GPU memory for CuPy (its kernel makes no large temporaries).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kernels import BackendError, get_backend  # noqa: E402
from kernels.energy import energy_by_bin, seasonal_pue  # noqa: E402
from kernels.power import per_gpu_coefficients  # noqa: E402

COPY_BYTES = 1 << 30          # each of source and destination


def usable_bytes(name: str, xp) -> int:
    """What a batch may take: 80% of free GPU memory, half the available host memory."""
    if name == "cupy":
        return int(0.8 * xp.cuda.runtime.memGetInfo()[0])
    with open("/proc/meminfo") as f:
        info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f}
    return info["MemAvailable"] // 2


def synchronize(name: str, xp) -> None:
    if name == "cupy":
        xp.cuda.get_current_stream().synchronize()


def best_of(repeat: int, name: str, xp, fn) -> float:
    best = float("inf")
    for _ in range(repeat):
        synchronize(name, xp)
        t0 = time.perf_counter()
        fn()
        synchronize(name, xp)
        best = min(best, time.perf_counter() - t0)
    return best


def copy_bandwidth(name: str, xp, repeat: int = 5) -> float:
    """Bytes read + written per second by a plain copy of a large array."""
    src = xp.ones(COPY_BYTES // 8, dtype=xp.float64)
    dst = xp.empty_like(src)
    xp.copyto(dst, src)                                    # touch the pages once
    seconds = best_of(repeat, name, xp, lambda: xp.copyto(dst, src))
    return 2 * src.nbytes / seconds


def month_edges(n_hours: int) -> list[int]:
    """Hours where each calendar month starts from 2026-01-01, and the end."""
    start, edges, month = dt.datetime(2026, 1, 1), [0], 1
    while True:
        month += 1
        first = dt.datetime(2026 + (month - 1) // 12, (month - 1) % 12 + 1, 1)
        hours = int((first - start).total_seconds() // 3600)
        if hours >= n_hours:
            return edges + [n_hours]
        edges.append(hours)


def make_batch(xp, sites: int, hours: int, replicas: int):
    """A synthetic batch with the shapes and value ranges of a real one: GPUs online per
    site, busy-GPU sums per replica with diurnal load and replica-to-replica spread,
    hourly temperature (for the PUE), price and carbon."""
    h = xp.arange(hours, dtype=xp.float64)[None, :]
    s = xp.arange(sites, dtype=xp.float64)[:, None]
    day = 2 * xp.pi * h / 24
    year = 2 * xp.pi * h / 8760
    online = 8000.0 + 200.0 * s + 0.01 * h                                    # (S, H)
    temperature = 15.0 + 10.0 * xp.sin(year - 1.9) + 6.0 * xp.sin(day - 2.0) + 0.1 * s
    price = 55.0 + 20.0 * xp.sin(day - 1.5) + 0.2 * s
    carbon = 380.0 + 60.0 * xp.cos(day) - 0.5 * s
    load = 0.7 + 0.1 * xp.sin(day - 2.5)                                     # (S, H) mean utilization
    busy_curve = xp.empty((replicas, sites, hours), dtype=xp.float64)
    busy_linear = xp.empty((replicas, sites, hours), dtype=xp.float64)
    for r in range(replicas):   # replica r runs a little hotter or cooler than the mean
        u = load * (0.9 + 0.2 * r / max(replicas - 1, 1))
        busy_linear[r] = online * u
        busy_curve[r] = busy_linear[r] * u                                    # a square power curve
    static_w, curve_w, linear_w = per_gpu_coefficients(
        xp.full(sites, 200.0), xp.full(sites, 1200.0), xp.full(sites, 20000.0), xp.full(sites, 37600.0),
        xp.full(sites, 72.0))
    pue = seasonal_pue(temperature, 1.15, 0.01, 18.0)
    return (online, busy_curve, busy_linear, static_w, curve_w, linear_w, pue, price, carbon)


def time_pipeline(name: str, xp, batch, edges, repeat: int) -> tuple[float, int]:
    out = energy_by_bin(*batch, edges)                     # warm up (and compile, on the GPU)
    seconds = best_of(repeat, name, xp, lambda: energy_by_bin(*batch, edges))
    moved = sum(a.nbytes for a in batch) + out.nbytes
    return seconds, moved


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sites", type=int, default=50)
    p.add_argument("--hours", type=int, default=105120)
    p.add_argument("--replicas", type=int, default=None)
    p.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    try:
        name, xp = get_backend(args.backend)
    except BackendError as exc:
        print(f"bench/kernels.py: {exc}", file=sys.stderr)
        sys.exit(2)
    per_replica = 2 * args.sites * args.hours * 8
    replicas = args.replicas or max(1, min(1000, usable_bytes(name, xp) // per_replica))
    edges = month_edges(args.hours)

    copy_bps = copy_bandwidth(name, xp)
    print(f"copy ({name}): {2 * COPY_BYTES / 2**30:.0f} GiB read + written, best of 5: {copy_bps / 1e9:.1f} GB/s")
    how = "given" if args.replicas else "as many as fit in memory"
    print(f"batch: {args.sites} sites x {args.hours} hours x {replicas} replicas ({how}), "
          f"{len(edges) - 1} monthly bins, {replicas * per_replica / 1e9:.1f} GB of hourly busy sums")
    batch = make_batch(xp, args.sites, args.hours, replicas)
    seconds, moved = time_pipeline(name, xp, batch, edges, args.repeat)
    kernel_bps = moved / seconds
    print(f"energy pipeline ({name}): best of {args.repeat}: {seconds:.3f} s, {moved / 1e9:.1f} GB moved, "
          f"{kernel_bps / 1e9:.1f} GB/s")
    if name == "cupy":
        del batch
        np_name, numpy = get_backend("numpy")
        np_replicas = max(1, min(replicas, usable_bytes(np_name, numpy) // per_replica))
        np_seconds, _ = time_pipeline(np_name, numpy, make_batch(numpy, args.sites, args.hours, np_replicas),
                                      edges, 1)
        np_seconds *= replicas / np_replicas
        same = "the same batch" if np_replicas == replicas else f"{np_replicas} of its replicas, scaled by replicas"
        print(f"energy pipeline (numpy twin, on {same}): {np_seconds:.3f} s")
        print(f"cupy_vs_numpy={np_seconds / seconds:.1f}")
    print(f"kernels_vs_copy_bandwidth={kernel_bps / copy_bps:.2f}")


if __name__ == "__main__":
    main()
