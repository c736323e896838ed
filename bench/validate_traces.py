"""Generate docs/validation.md: the simulator against what was published about the
shipped GPU-cluster traces (../shared/data/, see its README).

For each trace: the loaded job table against the numbers its README documents;
replays (FIFO, on the cluster the trace's owners or their successors describe)
against the published statistics, with the difference and an explanation of
every gap; recorded against simulated waits where the trace records start
times; and the fitted synthetic workload against the trace. About half a minute
on 2 cores.

    python bench/validate_traces.py [--out docs/validation.md]
"""
from __future__ import annotations

import argparse
import copy
import csv
import datetime as dt
import gzip
import json
import os
import sys
import time

import numpy as np
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from sim.config.loading import load_scenario, scenario_from_dict  # noqa: E402
from sim.inputs.fit import duration_block, fit_trace, model_gpu_h, render  # noqa: E402
from sim.engine.model import simulate  # noqa: E402
from sim.engine.records import JobTable  # noqa: E402
from sim.metering.jobstats import censored_wait_h  # noqa: E402
from sim.inputs.nodelists import load_node_list  # noqa: E402
from sim.inputs.traces import load_trace  # noqa: E402
from sim.inputs.traces.alibaba_openb import openb_pods  # noqa: E402
from bench.fleet import one_site  # noqa: E402

DATA = os.path.normpath(os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "..", "shared",
                                    "data"))
PHILLY = os.path.join(DATA, "philly", "philly_jobs.csv.gz")
OPENB = os.path.join(DATA, "alibaba-gpu-2023")
COMMAND = "python bench/validate_traces.py"


# ---------------------------------------------------------------- formatting

def table(headers, rows) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def n0(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:,.0f}"


def n1(x) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:,.1f}"


def n3(x) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.3g}"


def pct(x) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.1f} %"


def rel(published, got) -> str:
    """got - published, relative to published."""
    if published is None or got is None or not np.isfinite(published) or not np.isfinite(got):
        return "n/a"
    if published == 0:
        return "0" if got == 0 else f"{got:+,.3g}"
    return f"{100 * (got - published) / published:+.1f} %"


def rel_rounded(published, got, digits: int) -> str:
    """As `rel`, with got first rounded as the published figure was (e.g. to 10 s)."""
    return rel(published, round(got, digits))


# ---------------------------------------------------------------- run helpers

def waits_h(run, horizon_h):
    """Wait of every job that was not rejected; jobs still queued count with their wait so far."""
    ok = run.jobs["state"] != JobTable.REJECTED
    return censored_wait_h(run.jobs, horizon_h)[ok], ok


def mean_allocated(run, t0_h, t1_h) -> float:
    """Time-average GPUs allocated to jobs over [t0_h, t1_h)."""
    iv = run.intervals
    overlap = np.clip(np.minimum(iv["job_end_h"], t1_h) - np.maximum(iv["job_start_h"], t0_h), 0, None)
    return float((overlap * iv["job_gpus"]).sum() / (t1_h - t0_h))


def peak_concurrent(start, end, weight) -> float:
    """Largest sum of `weight` over intervals [start, end) alive at once."""
    times = np.concatenate([start, end])
    delta = np.concatenate([weight, -weight])
    order = np.lexsort((delta, times))  # at equal times, ends (negative) first
    return float(np.cumsum(delta[order]).max(initial=0.0))


def gpu_hours(gpus, duration_s) -> float:
    return float((gpus * duration_s).sum()) / 3600.0


SIZE_CLASSES = (("1", 1, 1), ("2-4", 2, 4), ("5-8", 5, 8), ("9-32", 9, 32), ("33+", 33, 10**9))


# ---------------------------------------------------------------- Philly

PHILLY_README = {  # ../shared/data/README.md, measured by the data's curators from this very file
    "jobs": 82_247, "gpu_h": 978_078, "median_s": 1_144, "p90_s": 11_265, "p99_s": 254_758,
    "counts": {1: 76_627, 2: 1_818, 4: 1_870, 8: 1_643, 16: 199, 32: 67, 64: 6, 128: 3},
}


def read_csv_rows(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as handle:
        return list(csv.DictReader(handle))


def philly_vc_scenario(trace, vc_nodes: dict[str, int]) -> dict:
    """One partition (company, site, scheduler) per Philly virtual cluster of Helios' list; the
    trace's VCs missing from that list get a tenant with no capacity: their jobs are rejected."""
    base = yaml.safe_load(open(os.path.join(ROOT, "configs", "examples", "philly_replay.yaml")))
    s = copy.deepcopy(base)
    s["scenario"] = "philly_per_vc"
    site, workload = base["sites"][0], base["tenants"][0]["workload"]
    workload = dict(workload, trace=dict(workload["trace"], path=PHILLY))
    s["companies"] = [{"name": f"vc_{vc}"} for vc in vc_nodes] + [{"name": "unlisted"}]
    s["sites"] = [dict(site, name=f"site_{vc}", owner=f"vc_{vc}", critical_it_mw=1.0) for vc in vc_nodes]
    s["deployments"] = [{"site": f"site_{vc}", "node_type": "P100x8", "nodes": n} for vc, n in vc_nodes.items()]
    s["tenants"] = [{"name": f"t_{vc}", "provider": f"vc_{vc}",
                     "workload": dict(workload, trace=dict(workload["trace"], select=[vc]))} for vc in vc_nodes]
    others = sorted(set(trace.tenant.tolist()) - set(vc_nodes))
    if others:
        s["tenants"].append({"name": "t_unlisted", "provider": "unlisted",
                             "workload": dict(workload, trace=dict(workload["trace"], select=others))})
    s["scheduler"] = {"policy": "fifo", "scope": "per_company"}
    return s, others


def fitted_workloads(trace):
    """The fitted block as written, with empirical durations, and one block per size class."""
    fit = fit_trace(trace.submit_s, trace.duration_s, trace.gpus, trace.clock_origin_s)
    text = render(fit, trace_path=PHILLY, fmt="philly", node_type="P100x8", durations="auto", command="",
                  rows_skipped=0, rows_left_out=0, selected=None, first_clock_s=trace.clock_origin_s)
    block = yaml.safe_load(text)["workload"]
    empirical = dict(block, duration_h=yaml.safe_load(duration_block(fit, "empirical")))
    classes = []
    for _, lo, hi in (("1", 1, 1), ("2-8", 2, 8), ("9+", 9, 10**9)):
        keep = (trace.gpus >= lo) & (trace.gpus <= hi)
        f = fit_trace(trace.submit_s[keep], trace.duration_s[keep], trace.gpus[keep], trace.clock_origin_s)
        b = yaml.safe_load(render(f, trace_path=PHILLY, fmt="philly", node_type="P100x8", durations="empirical",
                                  command="", rows_skipped=0, rows_left_out=0, selected=None,
                                  first_clock_s=None))["workload"]
        classes.append(b)
    return fit, block, empirical, classes


def synthetic_run(base: dict, workloads: list[dict], horizon_d: float):
    s = copy.deepcopy(base)
    s["horizon"] = f"{horizon_d}d"
    s["tenants"] = [{"name": f"fit{i}", "provider": "msr", "workload": dict(w, utilization=0.47)}
                    for i, w in enumerate(workloads)]
    scenario = scenario_from_dict(s)
    return scenario, simulate(scenario, 0, 0)


def philly_section() -> tuple[str, list[list[str]]]:
    trace = load_trace(PHILLY, "philly")
    d = trace.duration_s
    out = []
    summary = []

    # -- 1.1 loaded vs documented
    q50, q90, q99 = np.percentile(d, [50, 90, 99])
    counts = dict(zip(*np.unique(trace.gpus, return_counts=True)))
    rows = [["jobs", n0(PHILLY_README["jobs"]), n0(len(trace)), rel(PHILLY_README["jobs"], len(trace))],
            ["GPU-hours", n0(PHILLY_README["gpu_h"]), n0(gpu_hours(trace.gpus, d)),
             rel(PHILLY_README["gpu_h"], round(gpu_hours(trace.gpus, d)))],
            ["median duration (s)", n0(PHILLY_README["median_s"]), n0(q50), rel(PHILLY_README["median_s"], q50)],
            ["p90 duration (s)", n0(PHILLY_README["p90_s"]), n1(q90), rel_rounded(PHILLY_README["p90_s"], q90, 0)],
            ["p99 duration (s)", n0(PHILLY_README["p99_s"]), n1(q99), rel_rounded(PHILLY_README["p99_s"], q99, 0)]]
    for g, c in sorted(counts.items()):
        doc = PHILLY_README["counts"].get(int(g))
        rows.append([f"jobs with {g} GPUs", n0(doc) if doc else "\"a few\"", n0(c), rel(doc, c) if doc else "-"])
    first = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=trace.clock_origin_s)
    last = first + dt.timedelta(seconds=float(trace.submit_s.max()))
    rows.append(["submit dates", "2017-09-04 to 2017-12-22", f"{first:%Y-%m-%d} to {last:%Y-%m-%d}", "-"])
    out += ["### 1.1 The job table as loaded, against its documented description", "",
            "Documented: `../shared/data/README.md` (the numbers its curators measured on this file). "
            "`sim.inputs.traces.load_trace(..., 'philly')` must reproduce them exactly; a p90/p99 that differs in "
            "the first decimal is the README's rounding of numpy's interpolated percentile.", "",
            table(["statistic", "documented", "loaded", "difference"], rows), ""]
    loader_ok = all(r[3] in ("+0.0 %", "-") for r in rows)
    summary.append(["Philly job table", "loader vs README: jobs, GPU-hours, GPU-count mix, duration quantiles",
                    "identical" if loader_ok else "DIFFERS (see 1.1)"])

    # -- 1.2 replay vs published
    s = load_scenario(os.path.join(ROOT, "configs", "examples", "philly_replay.yaml"))
    t0 = time.perf_counter()
    pooled = simulate(s, 0, 0)
    pooled_s = time.perf_counter() - t0
    vc_nodes = {r["vc"]: int(r["node num"]) for r in read_csv_rows(os.path.join(DATA, "helios", "philly_vc_nodes.csv"))}
    vc_dict, unlisted = philly_vc_scenario(trace, vc_nodes)
    s_vc = scenario_from_dict(vc_dict)
    per_vc = simulate(s_vc, 0, 0)
    acme = {r["id"]: r for r in read_csv_rows(os.path.join(DATA, "acme", "cluster_summary.csv"))}["Philly"]
    curve = [r for r in read_csv_rows(os.path.join(DATA, "acme", "cdf_utilization_power.csv.gz"))
             if r["cluster"] == "Philly" and r["metric"] == "gpu_util_pct"]
    util_v = np.array([float(r["value"]) for r in curve])
    util_f = np.array([float(r["cdf_pct"]) for r in curve]) / 100
    util_mean = float(np.sum(0.5 * (util_v[1:] + util_v[:-1]) * np.diff(util_f))) / 100  # mean of the CDF
    pub_gpu_s = sum(float(acme[k]) for k in ("complete_gpu_time", "cancel_gpu_time", "fail_gpu_time"))
    w_pool, _ = waits_h(pooled, s.horizon_h)
    w_vc, ok_vc = waits_h(per_vc, s_vc.horizon_h)
    rejected_vc = int((per_vc.jobs["state"] == JobTable.REJECTED).sum())
    # node activity recorded by Helios (busy nodes per minute), 2017-10-03 to 2017-12-15
    seq = read_csv_rows(os.path.join(DATA, "helios", "philly_node_sequence.csv.gz"))
    active = np.array([float(r["active"]) for r in seq])
    total = np.array([float(r["total"]) for r in seq])
    seq_t0 = dt.datetime.fromisoformat(seq[0]["time"])
    seq_t1 = dt.datetime.fromisoformat(seq[-1]["time"])
    origin = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=trace.clock_origin_s)  # replay hour 0
    w0, w1 = ((x - origin).total_seconds() / 3600 for x in (seq_t0, seq_t1))
    gpus_total = 8 * sum(vc_nodes.values())
    alloc_window = mean_allocated(pooled, w0, w1) / gpus_total
    span_h = float(trace.submit_s.max()) / 3600
    alloc_span = mean_allocated(pooled, 0, span_h) / gpus_total
    rows = [
        ["GPU jobs", n0(float(acme["gpu_job_num"])), n0(len(trace)), "", rel(float(acme["gpu_job_num"]), len(trace))],
        ["GPU-hours (completed + cancelled + failed)", n0(pub_gpu_s / 3600), n0(gpu_hours(trace.gpus, d)), "",
         rel(pub_gpu_s / 3600, gpu_hours(trace.gpus, d))],
        ["mean run time (s)", n0(float(acme["avg_run_time_gpu"])), n0(d.mean()), "",
         rel(float(acme["avg_run_time_gpu"]), d.mean())],
        ["median run time (s)", n0(float(acme["med_run_time_gpu"])), n0(np.median(d)), "",
         rel(float(acme["med_run_time_gpu"]), np.median(d))],
        ["mean GPUs per job", n3(float(acme["avg_gpu_num"])), n3(trace.gpus.mean()), "",
         rel(float(acme["avg_gpu_num"]), trace.gpus.mean())],
        ["largest job (GPUs)", n0(float(acme["max_gpu"])), n0(trace.gpus.max()), "", rel(float(acme["max_gpu"]),
                                                                                       trace.gpus.max())],
        ["mean queueing delay (s)", n0(float(acme["avg_que_time_gpu"])), n0(3600 * w_pool.mean()),
         n0(3600 * w_vc.mean()), f"{rel(float(acme['avg_que_time_gpu']), 3600 * w_pool.mean())} / "
                                 f"{rel(float(acme['avg_que_time_gpu']), 3600 * w_vc.mean())}"],
        ["median queueing delay (s)", n0(float(acme["med_que_time_gpu"])), n0(3600 * np.median(w_pool)),
         n0(3600 * np.median(w_vc)), f"{rel(float(acme['med_que_time_gpu']), 3600 * np.median(w_pool))} / "
                                     f"{rel(float(acme['med_que_time_gpu']), 3600 * np.median(w_vc))}"],
        ["p99 queueing delay (s)", "not published", n0(3600 * np.percentile(w_pool, 99)),
         n0(3600 * np.percentile(w_vc, 99)), "-"],
        ["jobs that waited at all", "not published", pct(np.mean(w_pool > 0)), pct(np.mean(w_vc > 0)), "-"],
        [f"busy share, {seq_t0:%Y-%m-%d} to {seq_t1:%Y-%m-%d}", f"{pct(np.mean(active / total))} of nodes active "
         f"(mean {active.mean():.0f} of {total.mean():.0f})", f"{pct(alloc_window)} of GPUs allocated", "",
         "see below"],
        ["GPU utilization while allocated", f"{pct(util_mean)} (mean of Acme's Philly CDF)",
         f"{s.tenants[0].workload.utilization:g} (an input, not an output)", "", "-"],
    ]
    out += ["### 1.2 Replay on 2,816 GPUs against the published Philly statistics", "",
            "Published: the Philly row of Acme's `cluster_summary.csv` (Hu et al., NSDI 2024; the same job set as "
            "Helios' Philly study, Hu et al., SC 2021) and Helios' per-minute busy-node series "
            "(`helios/philly_node_sequence.csv.gz`). Replays: `configs/examples/philly_replay.yaml` (one FIFO "
            "queue over the 352 eight-GPU nodes) and the same jobs with one FIFO partition per virtual cluster, "
            f"sized by Helios' `philly_vc_nodes.csv` ({len(vc_nodes)} VCs). Jobs are replayed with their recorded "
            f"submit times and durations; every job has ended by the end of the trace. The {len(unlisted)} VCs of "
            f"the trace that Helios' list does not size ({', '.join(unlisted)}) have no partition: their "
            f"{rejected_vc} jobs are rejected and reported (`jobs_rejected`), not dropped, and left out of the "
            "per-VC waits.", "",
            table(["statistic", "published (Philly)", "replay, pooled", "replay, per VC", "difference"], rows), "",
            "Why the replay waits far less than Philly did:", "",
            f"- This job table is not the job set behind the published numbers (README): it has "
            f"{len(trace) / float(acme['gpu_job_num']):.0%} of the jobs and "
            f"{gpu_hours(trace.gpus, d) / (pub_gpu_s / 3600):.0%} of the GPU-hours. On 2,816 GPUs it offers an average "
            f"load of {pct(alloc_span)} over its {span_h / 24:.0f} days, so a FIFO queue over whole GPUs rarely "
            "forms: queueing delay is a function of load, and the load is missing, not the scheduler.",
            f"- Helios' busy-node series says Philly kept {active.mean():.0f} of about {total.mean():.0f} nodes "
            f"active ({pct(np.mean(active / total))}) over the same weeks; the replay holds {pct(alloc_window)} of "
            f"its GPUs, {alloc_window * gpus_total:,.0f} on average: {alloc_window * gpus_total / 8:.0f} nodes if "
            "packed, many more if spread one job per node. The engine does not record busy nodes, so the series "
            "neither confirms nor contradicts the replay; note too that it counts about "
            f"{total.mean():.0f} nodes where Helios' VC list sizes the cluster at {gpus_total // 8}.",
            "- Philly's own scheduler added delay the engine does not model: locality constraints for multi-GPU "
            "jobs (Jeon et al. describe jobs waiting for GPUs close together), virtual-cluster quotas, and "
            f"failures and retries ({pct(float(acme['fail_rate_gpu']))} of the published GPU jobs failed, "
            f"{pct(float(acme['cancel_rate_gpu']))} were cancelled). The per-VC replay bounds the quota effect "
            "from the pessimistic side (fixed partitions that never lend idle GPUs): waits appear in the busiest "
            "partitions but stay far below the published ones.",
            f"- The replay puts the first job at 00:00 of 2017-09-04; it was submitted at {origin:%H:%M}, so clock "
            "hours shift by that much (waits do not depend on it).", ""]
    summary.append(["Philly replay", "waits, job counts, GPU-hours, busy share vs Acme/Helios' Philly",
                    f"mean wait {3600 * w_pool.mean():,.0f} s pooled, {3600 * w_vc.mean():,.0f} s per VC, vs "
                    f"{float(acme['avg_que_time_gpu']):,.0f} s published: this file carries "
                    f"{gpu_hours(trace.gpus, d) / (pub_gpu_s / 3600):.0%} of the published GPU-hours (load "
                    f"{pct(alloc_span)} of 2,816 GPUs)"])

    # -- 1.3 GPU-hour shares by job size
    rows = []
    total_h = gpu_hours(trace.gpus, d)
    j = pooled.jobs
    done = j["state"] == JobTable.COMPLETED
    replay_h = float((j["gpus"] * j["duration_h"])[done].sum())
    for name, lo, hi in SIZE_CLASSES:
        k = (trace.gpus >= lo) & (trace.gpus <= hi)
        kr = done & (j["gpus"] >= lo) & (j["gpus"] <= hi)
        wk = (j["gpus"] >= lo) & (j["gpus"] <= hi)
        w_all, _ = waits_h(pooled, s.horizon_h)
        w_vc_all = np.where(np.isnan(per_vc.jobs["start_h"]), s_vc.horizon_h, per_vc.jobs["start_h"]) \
            - per_vc.jobs["submit_h"]
        vk = wk & ok_vc
        rows.append([name, n0(k.sum()), pct(k.mean()), pct(gpu_hours(trace.gpus[k], d[k]) / total_h),
                     pct(float((j["gpus"] * j["duration_h"])[kr].sum()) / replay_h),
                     n0(3600 * w_all[wk].mean()), n0(3600 * w_vc_all[vk].mean()) if vk.any() else "n/a"])
    out += ["### 1.3 GPU-hours and waits by job size", "",
            "No GPU-hour shares by job size were published for this job set, so the trace's own shares are the "
            "reference; the replay must reproduce them (durations are replayed exactly and every job completes "
            "within the horizon). Mean waits by size show where the little queueing there is falls: in the "
            "per-VC replay, on jobs of 5 GPUs or more, which need a whole free node or several in a small "
            "partition.", "",
            table(["GPUs per job", "jobs", "job share", "GPU-hour share (trace)", "GPU-hour share (replay)",
                   "mean wait pooled (s)", "mean wait per VC (s)"], rows), "",
            f"Replay: {int(done.sum()):,} of {j['submit_h'].size:,} jobs completed in the pooled replay "
            f"({pooled_s:.1f} s of simulation).", ""]

    # -- 1.4 fitted synthetic workload
    fit, block, empirical, classes = fitted_workloads(trace)
    base = yaml.safe_load(open(os.path.join(ROOT, "configs", "examples", "philly_replay.yaml")))
    span_d = round(fit.span_h / 24, 1)
    variants = [("trace replay", None), ("fit as written (lognormal)", [block]),
                ("fit, empirical durations", [empirical]), ("fit per size class (1, 2-8, 9+ GPUs), empirical", classes)]
    rows = []
    for name, workloads in variants:
        if workloads is None:
            sc, run = s, pooled
        else:
            sc, run = synthetic_run(base, workloads, span_d + 30)
        jb = run.jobs
        inside = jb["submit_h"] < fit.span_h
        dur_s = 3600 * jb["duration_h"][inside]
        w, _ = waits_h(run, sc.horizon_h)
        rows.append([name, n0(inside.sum()), n0(float((jb["gpus"] * jb["duration_h"])[inside].sum())),
                     n0(np.median(dur_s)), n0(np.percentile(dur_s, 99)), n3(jb["gpus"][inside].mean()),
                     n0(3600 * w.mean())])
    out += ["### 1.4 The fitted synthetic workload against the trace", "",
            "`python -m sim fit ../shared/data/philly/philly_jobs.csv.gz --format philly` fits the synthetic "
            f"model: {fit.rate_per_h:.2f} jobs/h, diurnal amplitude {fit.diurnal_amplitude:.2f} peaking at "
            f"{fit.peak_hour:.1f} h (trace clock), weekly amplitude {fit.weekly_amplitude:.2f}, the GPU-count mix, "
            f"and durations lognormal (mean {fit.lognormal_mean_h:.2f} h, sigma {fit.lognormal_sigma:.2f}; "
            f"log-likelihood {fit.loglik_lognormal:,.0f} against {fit.loglik_exponential:,.0f} for the "
            f"exponential). Each variant below runs {span_d} days of arrivals on the same 2,816 GPUs "
            "(FIFO, seed 0) and is compared over the jobs submitted within the trace's span.", "",
            table(["workload", "jobs", "GPU-hours", "median duration (s)", "p99 duration (s)", "mean GPUs",
                   "mean wait (s)"], rows), "",
            f"The fit reproduces the job count and the GPU-count mix; the lognormal's median is "
            f"{rows[1][3]} s against the trace's {rows[0][3]} s, the empirical version's {rows[2][3]} s. It does "
            "not reproduce the GPU-hours: "
            f"the block as written implies {model_gpu_h(fit, 'auto') / fit.trace_gpu_h:.2f}x the trace's "
            f"GPU-hours. Two causes: the lognormal that wins on likelihood has a mean of "
            f"{fit.lognormal_mean_h:.2f} h against the trace's {fit.exponential_mean_h:.2f} h (the heavy tail "
            "counts for little in likelihood and for everything in GPU-hours), and the model draws GPU count and "
            "duration independently while in Philly larger jobs run much longer. Empirical durations fix the "
            "first; fitting size classes separately (`--gpus 1-1`, `--gpus 2-8`, `--gpus 9-1000`, one tenant "
            "each) fixes most of the second (within a class a lognormal can be far worse: for 2-8 GPU jobs its "
            "mean is tens of times the trace's, which is why the classes use empirical durations here). "
            "`python -m sim fit` prints this GPU-hour check in its output.", ""]
    classes_h = float(sum(model_gpu_h(fit_trace(trace.submit_s[k], d[k], trace.gpus[k], None), "empirical")
                          for k in ((trace.gpus == 1), (trace.gpus >= 2) & (trace.gpus <= 8), trace.gpus >= 9)))
    summary.append(["Philly fit", "synthetic workload fitted by `python -m sim fit` vs the trace",
                    f"jobs and GPU mix match; GPU-hours {model_gpu_h(fit, 'auto') / fit.trace_gpu_h:.2f}x "
                    f"as written, {classes_h / fit.trace_gpu_h:.2f}x fitted per size class with empirical durations"])
    return "\n".join(out), summary


# ---------------------------------------------------------------- Alibaba openb

OPENB_README = {  # ../shared/data/README.md
    "default": {"tasks": 8_152, "cpu_only": 1_088, "sharing": 3_078, "multi": 75, "gpus": 6_086.8,
                "share_pct": 28.5, "multi_pct": 7.3, "cpu_pct": 17.9},
    "gpushare40": {"tasks": 8_152, "share_pct": 40, "gpus": 5_641}, "gpushare60": {"tasks": 8_152, "share_pct": 60,
                                                                                    "gpus": 4_908},
    "gpushare80": {"tasks": 8_152, "share_pct": 80, "gpus": 4_408}, "gpushare100": {"tasks": 8_152,
                                                                                   "share_pct": 100, "gpus": 3_953},
    "multigpu20": {"multi_pct": 20}, "multigpu30": {"multi_pct": 30}, "multigpu40": {"multi_pct": 40},
    "multigpu50": {"multi_pct": 50},
    "gpuspec10": {"tasks": 8_152, "spec_pct": 10}, "gpuspec20": {"tasks": 8_152, "spec_pct": 20},
    "gpuspec25": {"tasks": 8_152, "spec_pct": 25}, "gpuspec33": {"tasks": 8_152, "spec_pct": 34},
    "cpu050": {"tasks": 7_439, "cpu_pct": 6.1}, "cpu100": {"tasks": 7_853, "cpu_pct": 13.1},
    "cpu200": {"tasks": 8_832, "cpu_pct": 29.0}, "cpu250": {"tasks": 9_420, "cpu_pct": 38.5},
}
OPENB_NODES_README = {"G2": (549, 4_392), "T4": (404, 842), "P100": (134, 265), "G3": (39, 312),
                      "V100M16": (55, 195), "V100M32": (30, 204), "A10": (2, 2)}
PAI_README = {"MISC": (280, 8), "P100": (798, 2), "T4": (497, 2), "V100": (104, 8), "V100M32": (135, 8)}


def _doc(value, got, fmt=n0) -> str:
    return f"{fmt(value)} / {fmt(got)}" if value is not None else f"- / {fmt(got)}"


def openb_section() -> tuple[str, list[list[str]]]:
    out, summary = [], []
    nodes = load_node_list(os.path.join(OPENB, "openb_node_list_gpu_node.csv.gz"))
    all_nodes = load_node_list(os.path.join(OPENB, "openb_node_list_all_node.csv.gz"))
    cluster_cpu = float(nodes.cpu_cores.sum())

    # -- 2.1 pod lists
    rows, worst = [], 0.0
    for variant, doc in OPENB_README.items():
        path = os.path.join(OPENB, f"openb_pod_list_{variant}.csv.gz")
        pods = openb_pods(path)
        req = pods.gpu_request
        total = req.sum()
        sharing = (pods.num_gpu == 1) & (pods.gpu_milli < 1000)
        multi = pods.num_gpu > 1
        gpu_tasks = pods.num_gpu > 0
        got = {"tasks": pods.num_gpu.size, "gpus": total, "share_pct": 100 * req[sharing].sum() / total,
               "multi_pct": 100 * req[multi].sum() / total,
               "spec_pct": 100 * np.mean(pods.gpu_spec[gpu_tasks] != ""),
               "cpu_pct": 100 * pods.cpu_milli[~gpu_tasks].sum() / 1000 / cluster_cpu}
        for key in ("gpus", "share_pct", "multi_pct", "spec_pct", "cpu_pct", "tasks"):
            if key in doc:
                worst = max(worst, abs(got[key] - doc[key]) / max(abs(doc[key]), 1e-9))
        try:
            t = load_trace(path, "alibaba_openb")
            replay = f"{len(t):,} GPU pods ({t.rows_left_out:,} CPU-only left out)"
        except Exception as exc:  # the multigpu variants have no time columns
            replay = "not a schedule: " + str(exc).split(": ", 2)[-1].split(":")[0]
        rows.append([variant, _doc(doc.get("tasks"), got["tasks"]), _doc(doc.get("gpus"), got["gpus"], n1),
                     _doc(doc.get("share_pct"), got["share_pct"], n1), _doc(doc.get("multi_pct"), got["multi_pct"], n1),
                     _doc(doc.get("spec_pct"), got["spec_pct"], n1), _doc(doc.get("cpu_pct"), got["cpu_pct"], n1),
                     replay])
    out += ["### 2.1 The pod lists as loaded, against the README", "",
            "The `alibaba_openb` loader leaves CPU-only pods out (counted in `rows_left_out`) and gives a "
            "GPU-sharing pod one whole GPU; the table checks the raw request columns it reads.", "",
            "Each cell is documented / loaded. GPU request counts a sharing pod at its fraction (`gpu_milli`); "
            "shares are of the GPU request (sharing pods, multi-GPU pods), of GPU pods (`gpu_spec` set) and of "
            f"the GPU nodes' {cluster_cpu:,.0f} CPU cores (CPU-only pods). The multigpu variants' task counts "
            "are documented only as a range (8,324-9,061).", "",
            table(["variant", "tasks", "GPUs requested", "sharing % of request", "multi-GPU % of request",
                   "gpu_spec % of GPU pods", "CPU-only % of cluster CPU", "as a trace"], rows), "",
            f"Largest relative difference from a documented figure: {100 * worst:.2f} % (the README rounds).", ""]
    summary.append(["Alibaba openb pod lists (17)", "loader vs README: tasks, GPU request, sharing/multi-GPU/"
                    "gpu_spec/CPU shares", f"agree within {100 * worst:.1f} % (the README rounds shares to whole percents)"])

    # -- 2.2 node lists
    shape = nodes.shape()
    rows = []
    for model, (doc_nodes, doc_gpus) in OPENB_NODES_README.items():
        sizes = shape.get(model, {})
        rows.append([model, _doc(doc_nodes, sum(sizes.values())), _doc(doc_gpus, sum(g * c for g, c in sizes.items())),
                     ", ".join(f"{c} x {g}" for g, c in sizes.items())])
    rows.append(["all GPU nodes", _doc(1_213, nodes.gpus.size), _doc(6_212, int(nodes.gpus.sum())),
                 f"{cluster_cpu:,.0f} CPU cores (documented 107,018)"])
    rows.append(["all nodes (all_node list)", _doc(1_523, all_nodes.gpus.size), _doc(6_212, int(all_nodes.gpus.sum())),
                 f"{int((all_nodes.gpus == 0).sum())} CPU-only nodes (documented 310)"])
    pai = load_node_list(os.path.join(DATA, "alibaba-pai-2020", "pai_machine_spec.csv.gz"))
    pai_shape = pai.shape()
    for model, (doc_nodes, per) in PAI_README.items():
        rows.append([f"PAI 2020 {model}", _doc(doc_nodes, sum(pai_shape.get(model, {}).values())),
                     _doc(doc_nodes * per, sum(g * c for g, c in pai_shape.get(model, {}).items())),
                     ", ".join(f"{c} x {g}" for g, c in pai_shape.get(model, {}).items())])
    rows.append(["PAI 2020 all machines", _doc(1_897, pai.gpus.size), _doc(6_742, int(pai.gpus.sum())),
                 f"{int((pai.gpus == 0).sum())} CPU-only (documented 83)"])
    out += ["### 2.2 Node lists (cluster shapes), against the README", "",
            "`sim.inputs.nodelists.load_node_list` reads FGD's openb node lists and the PAI 2020 machine spec "
            "(`alibaba-pai-2020/`, no job table shipped) and returns GPUs per node by model "
            "(`NodeList.shape()`), the shape a replay's deployments are built from. Cells: documented / loaded.", "",
            table(["model", "nodes", "GPUs", "GPUs per node (nodes x GPUs)"], rows), ""]
    summary.append(["Alibaba node lists (openb, PAI 2020)", "nodes and GPUs by model vs README",
                    "identical" if all(r[1].split(" / ")[0] == r[1].split(" / ")[1] and
                                       r[2].split(" / ")[0] == r[2].split(" / ")[1] for r in rows) else "see 2.2"])

    # -- 2.3 replay of the default list on the trace's own 8-GPU nodes; recorded vs simulated waits
    path = os.path.join(OPENB, "openb_pod_list_default.csv.gz")
    trace = load_trace(path, "alibaba_openb")
    pods = openb_pods(path)
    milli = pods.gpu_milli[pods.num_gpu > 0]
    eight = {m: sizes[8] for m, sizes in shape.items() if 8 in sizes}
    n8 = sum(eight.values())
    s = scenario_from_dict(one_site(
        "openb_replay", "150d", n8, {"trace": {"path": path, "format": "alibaba_openb"}},
        start="2023-01-02", company="alibaba", site="pai", tenant="openb", critical_it_mw=10.0, usd_per_mwh=60.0,
        kg_per_mwh=500.0, node_type={"name": "gpu8", "gpus_per_node": 8, "gpu_idle_w": 60.0, "gpu_max_w": 300.0},
        scheduler={"policy": "fifo", "scope": "pooled"}, replicas=1))
    run = simulate(s, 0, 0)
    order = np.argsort(trace.submit_s, kind="stable")   # the replay's job order
    rec_wait = trace.wait_s[order]
    sim_wait, _ = waits_h(run, s.horizon_h)
    sim_wait = sim_wait * 3600
    scheduled = np.isfinite(rec_wait)
    sched_at = trace.submit_s + np.nan_to_num(trace.wait_s, nan=0.0)
    end = trace.submit_s + np.where(np.isfinite(trace.wait_s), trace.wait_s, 0) + trace.duration_s
    ok = np.isfinite(trace.wait_s)
    peak_whole = peak_concurrent(sched_at[ok], end[ok], trace.gpus[ok].astype(float))
    peak_frac = peak_concurrent(sched_at[ok], end[ok], (trace.gpus * np.where(trace.gpus == 1, milli, 1000) / 1000)[ok])
    iv = run.intervals
    peak_sim = peak_concurrent(iv["job_start_h"], iv["job_end_h"], iv["job_gpus"])
    rw, sw = rec_wait[scheduled], sim_wait[scheduled]
    raw = read_csv_rows(path)  # every pod, CPU-only included, as the README measured
    all_wait = np.array([float(r["scheduled_time"]) - float(r["creation_time"]) for r in raw if r["scheduled_time"]])
    rows = [[f"every scheduled pod, CPU-only included ({all_wait.size:,}; README: median 2 s, p99 about 890 s)",
             f"median {n1(np.median(all_wait))}, p99 {n1(np.percentile(all_wait, 99))}", "-", "-"],
            [f"GPU pods scheduled ({int(scheduled.sum()):,}):", "", "", ""],
            ["median wait (s)", n1(np.median(rw)), n1(np.median(sw)), n1(np.median(sw) - np.median(rw))],
            ["mean wait (s)", n1(rw.mean()), n1(sw.mean()), n1(sw.mean() - rw.mean())],
            ["p90 wait (s)", n1(np.percentile(rw, 90)), n1(np.percentile(sw, 90)), "-"],
            ["p99 wait (s)", n1(np.percentile(rw, 99)), n1(np.percentile(sw, 99)), "-"],
            ["share that waited > 10 s", pct(np.mean(rw > 10)), pct(np.mean(sw > 10)), "-"],
            [f"pods never scheduled ({int((~scheduled).sum()):,}, Pending)", "waited until deleted: mean "
             f"{n0(np.mean(trace.duration_s[order][~scheduled]))} s", f"mean wait {n1(sim_wait[~scheduled].mean())} s, "
             "then replayed as running", "-"],
            ["peak GPUs held at once", f"{peak_whole:,.0f} whole ({peak_frac:,.1f} by request)",
             f"{peak_sim:,.0f} (Pending pods included, every pod started at creation)", "-"]]
    out += ["### 2.3 Replay of the default pod list; recorded against simulated waits", "",
            "openb records when each pod was created and scheduled, so waits can be compared pod by pod. The "
            f"replay runs the {len(trace):,} GPU pods of `openb_pod_list_default` (CPU-only pods left out, "
            "sharing pods on a whole GPU) on the trace's own 8-GPU nodes "
            f"({', '.join(f'{m} {c}' for m, c in eight.items())}: "
            f"{n8} nodes, {8 * n8:,} GPUs; the engine gives a workload one node type, and every pod fits one "
            "8-GPU node), FIFO, with recorded submit times and durations.", "",
            table(["statistic", "recorded", "replay", "difference"], rows), "",
            "The recorded waits are not capacity queueing: the pods alive at once never hold more than "
            f"{peak_whole:,.0f} whole GPUs ({peak_frac:.1f} by request; README: about 66) of the cluster's "
            "6,212, so the replay starts every pod "
            "on arrival. What the recorded seconds-to-minutes measure is Kubernetes' own scheduling latency and "
            "the constraints the engine does not model (CPU and memory per node, `gpu_spec`, GPU sharing). "
            "Pods that stayed Pending cannot have lacked free GPUs in total either; the replay runs them for their "
            "time "
            "pending (the loader's rule: duration from creation when never scheduled), so their GPU use in the "
            f"replay did not happen; it is small (mean {np.mean(trace.duration_s[order][~scheduled]):,.0f} s each). "
            "The replay's peak differs from the recorded "
            "one because it starts every pod at creation rather than at its recorded schedule time. A planner "
            "should not read openb's time columns as a load: the FGD paper samples the list as a distribution, "
            "and `python -m sim fit` can turn it into one.", ""]
    summary.append(["Alibaba openb replay", "recorded vs simulated waits, pod by pod",
                    f"GPU pods' recorded waits median {np.median(rw):.0f} s, p99 {np.percentile(rw, 99):,.0f} s; "
                    f"replay {np.median(sw):.0f} s and {np.percentile(sw, 99):,.0f} s: the "
                    f"trace holds at most {peak_whole:.0f} GPUs at once, its waits are scheduler latency"])

    fgd, fgd_summary = fgd_section()
    out += fgd
    summary.append(fgd_summary)
    return "\n".join(out), summary


FGD_COMMAND = ("python -m sim pack ../shared/data/alibaba-gpu-2023/openb_pod_list_default.csv.gz "
               "--nodes ../shared/data/alibaba-gpu-2023/openb_node_list_gpu_node.csv.gz "
               "--published docs/data/fgd_allocation_published.csv --out results")


def fgd_section() -> tuple[list[str], list[str]]:
    """The FGD paper's experiment, run by the documented command itself (into a scratch folder),
    its figure copied to docs/fgd_allocation.png."""
    import shlex
    import shutil
    import tempfile

    from sim.cli.main import main as cli_main
    from sim.output.packing import LABELS, SHOWN_AT

    with tempfile.TemporaryDirectory() as scratch:
        argv = shlex.split(FGD_COMMAND)[4:-2] + ["--out", scratch, "--quiet"]
        argv = [a.replace("../shared", os.path.relpath(os.path.join(DATA, ".."), ROOT)) for a in argv]
        cwd = os.getcwd()
        os.chdir(ROOT)
        try:
            if cli_main(["pack", *argv]) != 0:
                raise SystemExit("the packing experiment failed")
        finally:
            os.chdir(cwd)
        folder = os.path.join(scratch, "packing")
        with open(os.path.join(folder, "packing.json")) as f:
            meta = json.load(f)
        shutil.copy(os.path.join(folder, "allocation.png"), os.path.join(ROOT, "docs", "fgd_allocation.png"))
    ours, theirs = meta["median_allocated_pct"], meta["published_median_allocated_pct"]
    rows = []
    for rule, ours_at in ours.items():
        row = [LABELS[rule]]
        for p in SHOWN_AT:
            mine, pub = ours_at[str(p)], theirs.get(rule, {}).get(str(p))
            row += [f"{mine:.2f}", "-" if pub is None else f"{pub:.2f}",
                    "-" if pub is None else f"{mine - pub:+.2f}"]
        rows.append(row)
    heads = ["rule"] + [f"{h} at {p} %" for p in SHOWN_AT for h in ("fleetsim", "published", "gap")]
    gaps = [abs(ours[r][str(p)] - theirs[r][str(p)]) for r in theirs for p in SHOWN_AT if r in ours]
    out = ["### 2.4 FGD's experiment: GPU allocation as the cluster fills, by placement rule", "",
           f"Command: `{FGD_COMMAND}` (writes `results/packing/`; about 80 s on 2 cores). "
           "Weng et al., \"Beware of Fragmentation\" (FGD, USENIX ATC 2023), figure 7(a) and its artifact: tasks "
           "drawn from `openb_pod_list_default` arrive in a random order (the list shuffled, then topped up with "
           "pods drawn from it at random) until they ask for 130 % of the 6,212 GPUs of "
           "`openb_node_list_gpu_node` (1,213 nodes, CPU, memory and GPU models); none leaves, and a task that "
           "fits no node (CPU, memory, GPU model, enough GPUs each with its share free) is left out. Each node "
           "rule is the paper's simulator's score (`sim.engine.packing`), whole-number scores, ties to the first "
           "node of the list. Curves: the median over seeds 42-51 of the GPU allocated at each arrived "
           "workload, binned as the paper's analysis bins them. Published: the authors' per-seed curves "
           "(`experiments/analysis/expected_results/analysis_allo_discrete.csv` of "
           "`hkust-adsl/kubernetes-scheduler-simulator` at 8f3d641, Apache 2.0), the default-trace rows in "
           "`docs/data/fgd_allocation_published.csv`. First fit is ours only.", "",
           table(heads, rows), "",
           "![GPU allocation against arrived workload, fleetsim and published](fgd_allocation.png)", "",
           f"Every published median is matched within {max(gaps):.2f} points of the cluster's GPUs, and the "
           "order of the rules is the paper's, FGD first (about 95 % allocated against 93 % for best fit, "
           "i.e. about 2 % of the GPUs, 130 of them, that the other rules strand). The gaps that remain: "
           "the random streams differ (our seeds do not replay Go's, so each seed's order of tasks differs; "
           "the random rule moves most), and GPU packing and GPU clustering come out about 0.6 points below "
           "the paper, dot product about 0.4 above. For those three rules most nodes tie on the whole-number "
           "score, so which node wins a tie decides much. The paper's simulator gives a tie to the lowest node "
           "name, and so does ours; a cause we suspect but have not tested is the Kubernetes default score "
           "plugins that the artifact leaves enabled (weight 1 against the rule's 1,000), which can split some "
           "of those ties differently and are not modelled here.", ""]
    summary = ["FGD's experiment (openb, 1,213 nodes)",
               "GPU allocated vs arrived workload, 7 placement rules, median of 10 seeds, vs the authors' curves",
               f"within {max(gaps):.2f} points for all 6 published rules; FGD "
               f"{ours['fgd']['130']:.1f} % (published {theirs['fgd']['130']:.1f} %) at 130 % arrived"]
    return out, summary


# ---------------------------------------------------------------- summary-only data

def helios_acme_section() -> str:
    helios = read_csv_rows(os.path.join(DATA, "helios", "helios_cluster_summary.csv"))
    rows = [[r["id"], n0(float(r["gpu_num"])), n0(float(r["gpu_job_num"])), n0(float(r["avg_run_time_gpu"])),
             n0(float(r["med_run_time_gpu"])), n0(float(r["avg_que_time_gpu"])), n0(float(r["med_que_time_gpu"])),
             n3(float(r["avg_gpu_num"]))] for r in helios]
    earth = read_csv_rows(os.path.join(DATA, "helios", "earth_cluster_gpu_number.csv"))
    totals = [int(r["total"]) for r in earth]
    acme = read_csv_rows(os.path.join(DATA, "acme", "cluster_summary.csv"))
    arows = [[r["id"], n0(float(r["gpu_job_num"])), n0(float(r["avg_run_time_gpu"])), n0(float(r["avg_que_time_gpu"])),
              n0(float(r["med_que_time_gpu"])), n3(float(r["avg_gpu_num"]))] for r in acme]
    return "\n".join([
        "## 3. Helios and Acme: published summaries, no job logs", "",
        "`helios/` and `acme/` ship the authors' per-cluster statistics, not job logs, so nothing here can be "
        "replayed against them. They are used as published references: Acme's Philly row in 1.2, Helios' "
        "Philly VC sizes (`philly_vc_nodes.csv`) as the Philly cluster shape, Helios' busy-node series in 1.2, "
        "and the mean of Acme's Philly GPU-utilization curve (47 %) as the replay's `utilization`. "
        f"The Earth capacity series (`earth_cluster_gpu_number.csv`) reads as {len(totals)} days from "
        f"{earth[0]['date']} to {earth[-1]['date']}, {min(totals):,} to {max(totals):,} GPUs (documented: 181 "
        f"days, 784 to 1,208; the file's `total` is {max(totals):,} on {sum(t == max(totals) for t in totals)} "
        "days, so the README's upper figure is off).", "",
        "Helios (Hu et al., SC 2021), GPU jobs:", "",
        table(["cluster", "GPUs", "GPU jobs", "mean run (s)", "median run (s)", "mean queue (s)", "median queue (s)",
               "mean GPUs"], rows), "",
        "Acme (Hu et al., NSDI 2024), GPU jobs:", "",
        table(["cluster", "GPU jobs", "mean run (s)", "mean queue (s)", "median queue (s)", "mean GPUs"], arows), "",
        "## 4. SWF", "",
        "No Standard Workload Format log is shipped. The SWF loader is checked on hand-written files "
        "(`tests/test_traces.py`: header comments, the 18 fields, -1 as missing, status codes, partial "
        "executions, every bad-row kind), and a hand-built SWF log replayed under FIFO on 2 nodes x 4 GPUs "
        "gives exactly the start times computed by hand (`test_fifo_replay_matches_hand_computed_starts`). "
        "`bench/replay.py` times the Philly replay under FIFO and EASY backfill.", ""])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "validation.md"))
    args = p.parse_args()
    t0 = time.perf_counter()
    philly, s1 = philly_section()
    openb, s2 = openb_section()
    rest = helios_acme_section()
    wall = time.perf_counter() - t0
    text = "\n".join([
        "# Validation against the shipped GPU-cluster traces", "",
        f"Generated by `{COMMAND}` (from the repository root; {wall:.0f} s on {os.cpu_count()} CPU cores). "
        "Do not edit by hand: "
        "change the script and run it again. The traces and what was published about them are described in "
        "`../shared/data/README.md`; every published number below is read from the files there or quoted from "
        "that README.", "",
        "## Summary", "",
        table(["trace", "compared", "result"], s1 + s2), "",
        "## 1. Microsoft Philly (`philly/philly_jobs.csv.gz`)", "", philly,
        "## 2. Alibaba PAI openb (`alibaba-gpu-2023/`) and PAI 2020 machines", "", openb,
        rest])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as handle:
        handle.write(text)
    print(f"wrote {args.out} in {wall:.1f} s")


if __name__ == "__main__":
    main()
