"""The PNG plots of a results folder (matplotlib, headless)."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from matplotlib.ticker import StrMethodFormatter

from ..engine.records import JobTable
from ..experiment.runner import Experiment
from ..experiment.stats import excludes_zero, proportion_ci95
from ..metering.accounting import contracted_gpus_hourly
from ..metering.jobstats import censored_wait_h
from ..metrics import label_of, shown_in, unit_of
from .style import plt
from .tables import KEY_METRICS, significance, unit_scale

LINE = ("-", "--")  # the baseline dashed, so identical curves stay visible
BARS = shown_in("bars")


def _fleet_daily(v):
    d = v.account.daily
    online = d["gpus_online"].sum(axis=0)
    alloc = d["gpus_allocated"].sum(axis=0)
    return online, alloc


def _dates(v, n):
    return np.datetime64(v.scenario.start) + np.arange(n).astype("timedelta64[D]")


def plot_utilization(exp: Experiment, path: Path) -> None:
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    for i, v in enumerate(exp.variants):
        online, alloc = _fleet_daily(v)
        days = _dates(v, online.size)
        with np.errstate(invalid="ignore", divide="ignore"):
            ax1.plot(days, np.where(online > 0, alloc / online, np.nan), label=v.name, lw=1, ls=LINE[i])
        ax2.plot(days, alloc, label=f"{v.name}: allocated", lw=1, ls=LINE[i], color=f"C{i}")
        ax2.plot(days, online, lw=2.2, alpha=0.35, color=f"C{i}", label=f"{v.name}: online")   # fleets may differ
    ax1.set_ylabel("GPU utilization (allocated / online)")
    ax1.set_ylim(0, 1.05)
    ax2.set_ylabel("GPUs")
    ax2.set_xlabel("date")
    ax1.legend()
    ax2.legend()
    ax1.set_title("Fleet utilization, daily mean over replicas")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def wait_tail(waits: np.ndarray, floor_h: float = 1 / 60) -> tuple[np.ndarray, np.ndarray]:
    """The complementary CDF of waits from `floor_h` on: times t (floor_h, then each longer
    wait) and the share of all jobs that waited longer than each, for a post-step plot."""
    waits = np.sort(waits)
    longer = waits[waits > floor_h]
    if waits.size == 0 or longer.size == 0:
        return np.zeros(0), np.zeros(0)
    share = (waits.size - np.searchsorted(waits, longer, side="right")) / waits.size
    return np.concatenate([[floor_h], longer]), np.concatenate([[longer.size / waits.size], share])


def plot_wait_cdf(exp: Experiment, path: Path) -> None:
    """The share of jobs that waited longer than t (complementary CDF, both axes log) per
    variant, and per class where there are several: most jobs start at once, and the tail is
    what a planner reads."""
    fig, ax = plt.subplots(figsize=(8, 5))
    plotted = False
    for i, v in enumerate(exp.variants):
        j = v.runs[0].jobs
        keep = j["state"] != JobTable.REJECTED
        wait = censored_wait_h(j, v.scenario.horizon_h)
        tiers = sorted(set(j["tier"][keep].tolist()))
        groups = [(v.name, keep)] if len(tiers) < 2 else \
            [(f"{v.name}, {v.scenario.scheduler.class_name(t)}", keep & (j["tier"] == t)) for t in tiers]
        for k, (label, mask) in enumerate(groups):
            t, share = wait_tail(wait[mask])
            if t.size < 2:
                continue
            plotted = True
            ax.step(t, share, where="post", label=f"{label}: {share[0]:.2%} of {mask.sum():,} jobs over 1 min",
                    ls=LINE[i], color=f"C{k}" if len(groups) > 1 else f"C{i}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("wait t before first start (h, log scale, from 1 min)")
    ax.set_ylabel("share of jobs waiting longer than t (log)")
    ax.set_title("Job waits: how many wait longer than t, replica 0 (queued jobs censored at the horizon)")
    if plotted:
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no job waited a minute or more", transform=ax.transAxes, ha="center")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_fragmentation(exp: Experiment, path: Path) -> None:
    """GPUs stranded (free while jobs that could use them wait), daily mean over replicas."""
    fig, ax = plt.subplots(figsize=(10, 4))
    for i, v in enumerate(exp.variants):
        daily = np.mean([r.stranded_daily_gpu_h for r in v.runs], axis=0) / 24
        ax.plot(_dates(v, daily.size), daily, label=v.name, ls=LINE[i], lw=1)
    ax.set_ylabel("stranded GPUs (daily mean)")
    ax.set_xlabel("date")
    ax.set_title("GPUs free while jobs wait: fragmentation and capacity split between schedulers")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_energy(exp: Experiment, path: Path) -> None:
    fig, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True)
    for i, v in enumerate(exp.variants):
        months = np.array(v.account.month_starts, dtype="datetime64[D]")
        days = _days_in_months(v)   # per day: months of 28 to 31 days do not zig-zag
        mwh = v.account.monthly["facility_mwh"].mean(axis=0).sum(axis=0) / days
        cost = v.account.monthly["energy_cost_usd"].mean(axis=0).sum(axis=0) / days
        axes[0].step(months, mwh, where="post", label=v.name, ls=LINE[i])
        axes[1].step(months, cost / 1e6, where="post", label=v.name, ls=LINE[i])
        carbon = v.account.daily["carbon_t"].sum(axis=0)
        axes[2].plot(_dates(v, carbon.size), carbon, lw=0.8, label=v.name, ls=LINE[i])
    axes[0].set_ylabel("facility energy\n(MWh / day, monthly mean)")
    axes[1].set_ylabel("energy cost\n(USD M / day, monthly mean)")
    axes[2].set_ylabel("carbon\n(t CO2e / day)")
    axes[2].set_xlabel("date")
    axes[0].set_title("Energy, cost and carbon (mean over replicas)")
    for ax in axes:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _days_in_months(v) -> np.ndarray:
    """Days of each month of the horizon that the model covers (the first and last may be part)."""
    edges = np.array([max(0.0, v.scenario.hours_from_start(m)) for m in v.account.month_starts]
                     + [v.scenario.horizon_h])
    return np.diff(edges) / 24


def plot_finance(exp: Experiment, path: Path) -> None:
    fig, axes = plt.subplots(3, 1, figsize=(10, 8.5), sharex=True)
    for i, v in enumerate(exp.variants):
        months = np.array(v.account.month_starts, dtype="datetime64[D]")
        lines = {k: a.mean(axis=0) for k, a in v.finance.lines.items()}
        for c, company in enumerate(v.finance.companies):
            style = {"label": f"{v.name}: {company}", "ls": LINE[i]}
            axes[0].plot(months, lines["ebitda_usd"][c] / 1e6, **style)
            axes[1].plot(months, np.cumsum(lines["fcf_usd"][c]) / 1e9, **style)
            axes[2].plot(months, lines["dscr_ttm"][c], **style)
    axes[0].set_ylabel("EBITDA\n(USD M / month)")
    axes[1].set_ylabel("cumulative free cash\nflow (USD B)")
    axes[2].set_ylabel("DSCR, trailing\n12 months (x, cut at 5)")
    axes[2].axhline(1.0, color="k", lw=0.8, ls="--")
    axes[2].set_ylim(0, 5)  # above ~5x coverage the exact ratio stops mattering

    axes[2].set_xlabel("month")
    axes[0].set_title("Finance by company (mean over replicas)")
    for ax in axes:
        ax.axhline(0, color="grey", lw=0.5)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _title(metric: str) -> str:
    """A panel's title: the metric's label from the catalogue, capitalised, wrapped."""
    label = label_of(metric)
    return textwrap.fill(label[0].upper() + label[1:], 22)


def plot_comparison(exp: Experiment, path: Path) -> None:
    summary = exp.summary
    metrics = [m for m in BARS if all(m in summary["variants"][v.name]["metrics"] for v in exp.variants)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.6 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        unit = unit_of(metric)
        scale, label = unit_scale(unit, [summary["variants"][v.name]["metrics"][metric]["mean"]
                                          for v in exp.variants])
        for i, v in enumerate(exp.variants):
            m = summary["variants"][v.name]["metrics"][metric]
            mean = m["mean"] if m["mean"] is not None else np.nan
            lo, hi = (np.nan if x is None else x for x in m["ci95"])
            err = [[mean - lo], [hi - mean]] if np.isfinite(lo) else None
            ax.bar(i, mean / scale, yerr=None if err is None else np.array(err) / scale, capsize=4,
                   color=f"C{i}")
        ax.set_xticks(range(len(exp.variants)), [v.name for v in exp.variants], rotation=20)
        ax.set_title(_title(metric), fontsize=9)
        ax.set_ylabel(label)
    fig.suptitle("Variants side by side: means with 95% confidence intervals")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_differences(exp: Experiment, path: Path) -> None:
    """The answer at a glance: each key metric's paired difference with its 95% interval
    against zero (an interval clear of zero is a significant difference)."""
    a, b = (v.name for v in exp.variants)
    comparison = exp.summary["comparison"]
    metrics = [m for m in KEY_METRICS if comparison.get(m) and comparison[m]["delta"] is not None]
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.3 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        c = comparison[metric]
        unit = unit_of(metric)
        scale, label = unit_scale(unit, [c["delta"], *c["ci95"]])
        lo, hi = (np.nan if x is None else x / scale for x in c["ci95"])
        delta = c["delta"] / scale
        clear = excludes_zero(c["ci95"])
        ax.errorbar([0], [delta], yerr=[[delta - lo], [hi - delta]] if np.isfinite(lo) else None, fmt="o",
                    capsize=6, color="C2" if clear else "0.4", ms=7)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks([])
        ax.set_xlim(-1, 1)
        span = max(abs(x) for x in (delta, lo, hi, 0.0) if np.isfinite(x)) or 1.0
        ax.set_ylim(-1.3 * span, 1.3 * span)
        ax.set_ylabel(f"difference ({label})" if label else "difference")
        verdict = "identical" if significance(c) == "no (identical)" else "significant" if clear else "not significant"
        ax.set_title(f"{_title(metric)}\n({verdict})", fontsize=9)
    fig.suptitle(f"{a} minus {b}, paired by replica: difference with its 95% confidence interval "
                 f"(green: the interval excludes zero)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _month_of_day(v, n_days: int) -> np.ndarray:
    """Index into account.month_starts of each day from the start."""
    start = v.scenario.start
    days = np.datetime64(start) + np.arange(n_days).astype("timedelta64[D]")
    months = days.astype("datetime64[M]").astype(np.int64)
    return months - months[0]


def capacity_by_month(v) -> dict[str, np.ndarray]:
    """Monthly capacity sufficiency of a variant. `p_short`: share of replicas in which some
    reserved GPUs asked for were not delivered during the month (the engine's shortfall
    intervals), with its 95% Wilson interval `p_short_lo`, `p_short_hi`; `short_gpu_h`: mean
    undelivered GPU-hours; `online`, `contracted`, `allocated`: mean GPUs online, reserved by
    contract, and allocated (replica mean)."""
    per_replica = v.account.monthly["shortfall_gpu_h"].sum(axis=1)           # (replicas, months)
    n_months = per_replica.shape[1]
    online, alloc = _fleet_daily(v)
    month = _month_of_day(v, online.size)
    days = np.bincount(month, minlength=n_months).astype(np.float64)
    per_month = lambda daily: np.bincount(month, weights=daily, minlength=n_months) / np.maximum(days, 1)
    s = v.scenario
    each = {id(x): x for x in v.scenarios or [s]}   # replicas' plans may add contracts: their mean
    by_plan = {key: contracted_gpus_hourly(x).sum(axis=0) for key, x in each.items()}
    contracted = np.mean([by_plan[id(x)] for x in v.scenarios or [s]], axis=0)
    hour_month = np.repeat(month, 24)[:s.n_hours]
    hours = np.bincount(hour_month, minlength=n_months).astype(np.float64)
    short = (per_replica > 1e-6).sum(axis=0)
    lo, hi = proportion_ci95(short, per_replica.shape[0])
    return {"p_short": short / per_replica.shape[0], "p_short_lo": lo, "p_short_hi": hi,
            "short_gpu_h": per_replica.mean(axis=0),
            "online": per_month(online), "allocated": per_month(alloc),
            "contracted": np.bincount(hour_month, weights=contracted, minlength=n_months) / np.maximum(hours, 1)}


def plot_capacity(exp: Experiment, path: Path) -> None:
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    for i, v in enumerate(exp.variants):
        c = capacity_by_month(v)
        months = np.array(v.account.month_starts, dtype="datetime64[D]")
        ax1.step(months, c["p_short"], where="post", label=v.name, ls=LINE[i], color=f"C{i}")
        ax1.fill_between(months, c["p_short_lo"], c["p_short_hi"], step="post", color=f"C{i}", alpha=0.15,
                         label=f"{v.name}: 95% interval (Wilson)")
        ax2.plot(months, c["allocated"], label=f"{v.name}: allocated", ls=LINE[i], color=f"C{i}")
        ax2.plot(months, c["online"], lw=2.2, alpha=0.35, color=f"C{i}", label=f"{v.name}: online")
        ax2.plot(months, c["contracted"], color=f"C{i + 2}", lw=1, ls=LINE[i], label=f"{v.name}: reserved by contract")
    ax1.set_ylabel("probability that reserved\nGPUs were short (share\nof replicas)")
    ax1.set_ylim(-0.03, 1.03)
    ax1.set_title(f"Is capacity enough? Reserved demand against delivered capacity, by month "
                  f"({exp.replicas} replicas)")
    ax2.set_ylabel("GPUs (monthly mean)")
    ax2.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax2.set_xlabel("month")
    ax1.legend()
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


PLOTS = {"utilization.png": plot_utilization, "wait_cdf.png": plot_wait_cdf, "fragmentation.png": plot_fragmentation,
         "energy.png": plot_energy, "capacity.png": plot_capacity,
         "finance.png": plot_finance, "comparison.png": plot_comparison}
