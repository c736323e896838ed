"""Plots, report.md and a self-contained report.html for an experiment, and the terminal
comparison table. The report opens with the answer (variant against baseline, each
headline metric with its 95% interval and whether the difference is significant), then
capacity sufficiency by month, energy and carbon, finance and sensitivity."""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import StrMethodFormatter  # noqa: E402
import numpy as np  # noqa: E402

from .accounting import contracted_gpus_hourly  # noqa: E402
from .document import Document  # noqa: E402
from .experiment import Experiment  # noqa: E402
from .records import JobTable  # noqa: E402
from .jobstats import censored_wait_h  # noqa: E402
from .policies import TIER_NAMES  # noqa: E402
from .stats import excludes_zero, unit_of  # noqa: E402

HEADLINE = ("gpu_utilization", "mean_wait_h", "p95_wait_h", "p99_wait_h", "mean_jct_h", "mean_bounded_slowdown",
            "sla_attainment", "stranded_gpu_hours", "preemptions", "restarts", "goodput_share",
            "jobs_submitted", "jobs_completed", "jobs_unfinished", "jobs_rejected", "energy_it_mwh",
            "energy_facility_mwh", "energy_cost_usd", "carbon_t", "revenue_usd", "hosting_fees_usd", "ebitda_usd",
            "npv_usd", "min_dscr")
LINE = ("-", "--")  # the baseline dashed, so identical curves stay visible
BARS = ("gpu_utilization", "mean_wait_h", "stranded_gpu_hours", "energy_cost_usd", "ebitda_usd", "npv_usd")


def fmt_value(x, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if unit == "fraction":
        return f"{x:.3f}"
    ax = abs(x)
    if unit == "USD" or ax >= 1e6:
        for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if ax >= div:
                return f"{x / div:,.2f}{suffix}"
    if ax >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def comparison_rows(exp: Experiment) -> list[list[str]]:
    summary = exp.summary
    names = [v.name for v in exp.variants]
    rows = []
    for metric in HEADLINE:
        unit = unit_of(metric)
        cells = [metric, unit]
        present = False
        for name in names:
            m = summary["variants"][name]["metrics"].get(metric)
            present |= m is not None
            cells.append(fmt_value(m["mean"], unit) if m else "-")
        if len(names) == 2:
            c = summary["comparison"].get(metric)
            cells.append(f"{fmt_value(c['delta'], unit)} [{fmt_value(c['ci95'][0], unit)}, "
                         f"{fmt_value(c['ci95'][1], unit)}]" if c else "-")
        if present:
            rows.append(cells)
    return rows


def comparison_header(exp: Experiment) -> list[str]:
    names = [v.name for v in exp.variants]
    head = ["metric", "unit", *names]
    if len(names) == 2:
        head.append(f"{names[0]} - {names[1]} [95% CI]")
    return head


def text_table(exp: Experiment) -> str:
    rows = [comparison_header(exp), *comparison_rows(exp)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def warnings(exp: Experiment) -> list[str]:
    """Plain statements of demand beyond capacity, per variant."""
    out = []
    for v in exp.variants:
        for node_type, load in v.account.offered_load.items():
            if load > 1.0:
                out.append(f"{v.name}: demand exceeds capacity for {node_type}: offered load {load:.2f} "
                           f"of online GPU-hours; queues grow and waits are censored at the horizon")
        short = v.metrics.get("reserved_shortfall_gpu_hours")
        if short is not None and np.nanmean(short) > 0:
            out.append(f"{v.name}: reserved capacity was not delivered in full: "
                       f"{fmt_value(float(np.nanmean(short)))} GPU-hours short (replica mean)")
        unfinished = np.nanmean(v.metrics["jobs_unfinished"])
        submitted = np.nanmean(v.metrics["jobs_submitted"])
        if submitted and unfinished / submitted > 0.05:
            out.append(f"{v.name}: {unfinished / submitted:.0%} of jobs were still queued or running at the horizon")
        rejected = np.nanmean(v.metrics["jobs_rejected"])
        if rejected > 0:
            out.append(f"{v.name}: {rejected:,.0f} jobs can never fit the cluster they were sent to and were "
                       f"rejected (counted in jobs_rejected)")
        skipped = v.metrics.get("trace_rows_skipped")
        if skipped is not None and np.nanmax(skipped) > 0:
            out.append(f"{v.name}: {np.nanmax(skipped):,.0f} bad trace rows were skipped (skip_bad_rows)")
    return out


# ---------------------------------------------------------------- plots

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
        ax2.plot(days, alloc, label=f"{v.name}: allocated", lw=1, ls=LINE[i])
    online, _ = _fleet_daily(exp.variants[0])
    ax2.plot(_dates(exp.variants[0], online.size), online, "k--", lw=1, label="online")
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


def plot_wait_cdf(exp: Experiment, path: Path) -> None:
    """Wait CDF per variant, and per tier where there are both on-demand and spot jobs."""
    fig, ax = plt.subplots(figsize=(8, 5))
    plotted = False
    for i, v in enumerate(exp.variants):
        j = v.runs[0].jobs
        keep = j["state"] != JobTable.REJECTED
        wait = censored_wait_h(j, v.scenario.horizon_h)
        tiers = sorted(set(j["tier"][keep].tolist()))
        groups = [(v.name, keep)] if len(tiers) < 2 else \
            [(f"{v.name}, {TIER_NAMES[t]}", keep & (j["tier"] == t)) for t in tiers]
        for k, (label, mask) in enumerate(groups):
            waits = np.sort(wait[mask])
            if waits.size == 0:
                continue
            plotted = True
            x = np.maximum(waits, 1 / 60)  # zero waits drawn at one minute on the log axis
            ax.step(x, np.arange(1, x.size + 1) / x.size, where="post", label=f"{label} (n={x.size:,})",
                    ls=LINE[i], color=f"C{k}" if len(groups) > 1 else f"C{i}")
    ax.set_xscale("log")
    ax.set_xlabel("wait before first start (h, log scale; waits under 1 min drawn at 1 min)")
    ax.set_ylabel("fraction of jobs")
    ax.set_ylim(0, 1.01)
    ax.set_title("Job wait-time CDF, replica 0 (queued jobs censored at the horizon)")
    if plotted:
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no jobs", transform=ax.transAxes, ha="center")
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
        mwh = v.account.monthly["facility_mwh"].mean(axis=0).sum(axis=0)
        cost = v.account.monthly["energy_cost_usd"].mean(axis=0).sum(axis=0)
        axes[0].plot(months, mwh / 1e3, label=v.name, ls=LINE[i])
        axes[1].plot(months, cost / 1e6, label=v.name, ls=LINE[i])
        carbon = v.account.daily["carbon_t"].sum(axis=0)
        axes[2].plot(_dates(v, carbon.size), carbon, lw=0.8, label=v.name, ls=LINE[i])
    axes[0].set_ylabel("facility energy\n(GWh / month)")
    axes[1].set_ylabel("energy cost\n(USD M / month)")
    axes[2].set_ylabel("carbon\n(t CO2e / day)")
    axes[2].set_xlabel("date")
    axes[0].set_title("Energy, cost and carbon (mean over replicas)")
    for ax in axes:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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


def _usd_scale(values) -> tuple[float, str]:
    """Divisor and unit label for USD amounts: B, M or k as their size needs."""
    top = max([abs(x) for x in values if x is not None and np.isfinite(x)] or [0.0])
    for div, label in ((1e9, "USD B"), (1e6, "USD M"), (1e3, "USD k")):
        if top >= div:
            return div, label
    return 1.0, "USD"


def plot_comparison(exp: Experiment, path: Path) -> None:
    summary = exp.summary
    metrics = [m for m in BARS if all(m in summary["variants"][v.name]["metrics"] for v in exp.variants)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.6 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        unit = unit_of(metric)
        scale, label = _usd_scale([summary["variants"][v.name]["metrics"][metric]["mean"] for v in exp.variants]) \
            if unit == "USD" else (1.0, unit)
        for i, v in enumerate(exp.variants):
            m = summary["variants"][v.name]["metrics"][metric]
            mean = m["mean"] if m["mean"] is not None else np.nan
            lo, hi = (np.nan if x is None else x for x in m["ci95"])
            err = [[mean - lo], [hi - mean]] if np.isfinite(lo) else None
            ax.bar(i, mean / scale, yerr=None if err is None else np.array(err) / scale, capsize=4,
                   color=f"C{i}")
        ax.set_xticks(range(len(exp.variants)), [v.name for v in exp.variants], rotation=20)
        ax.set_title(metric, fontsize=9)
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
        scale, label = _usd_scale([c["delta"], *c["ci95"]]) if unit == "USD" else (1.0, unit)
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
        ax.set_title(metric + ("\n(significant)" if clear else "\n(not significant)"), fontsize=9)
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
    intervals); `short_gpu_h`: mean undelivered GPU-hours; `online`, `contracted`,
    `allocated`: mean GPUs online, reserved by contract, and allocated (replica mean)."""
    per_replica = v.account.monthly["shortfall_gpu_h"].sum(axis=1)           # (replicas, months)
    n_months = per_replica.shape[1]
    online, alloc = _fleet_daily(v)
    month = _month_of_day(v, online.size)
    days = np.bincount(month, minlength=n_months).astype(np.float64)
    per_month = lambda daily: np.bincount(month, weights=daily, minlength=n_months) / np.maximum(days, 1)
    s = v.scenario
    contracted = contracted_gpus_hourly(s).sum(axis=0)
    hour_month = np.repeat(month, 24)[:s.n_hours]
    hours = np.bincount(hour_month, minlength=n_months).astype(np.float64)
    return {"p_short": (per_replica > 1e-6).mean(axis=0), "short_gpu_h": per_replica.mean(axis=0),
            "online": per_month(online), "allocated": per_month(alloc),
            "contracted": np.bincount(hour_month, weights=contracted, minlength=n_months) / np.maximum(hours, 1)}


def plot_capacity(exp: Experiment, path: Path) -> None:
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    for i, v in enumerate(exp.variants):
        c = capacity_by_month(v)
        months = np.array(v.account.month_starts, dtype="datetime64[D]")
        ax1.step(months, c["p_short"], where="post", label=v.name, ls=LINE[i], color=f"C{i}")
        ax2.plot(months, c["allocated"], label=f"{v.name}: allocated", ls=LINE[i], color=f"C{i}")
        if i == 0:
            ax2.plot(months, c["online"], "k-", lw=1.2, label="online")
            ax2.plot(months, c["contracted"], color="C3", lw=1.2, label="reserved by contract")
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
KEY_METRICS = ("npv_usd", "ebitda_usd", "gpu_utilization", "mean_wait_h", "sla_attainment", "energy_cost_usd",
               "carbon_t")


def write_report(exp: Experiment, folder: Path) -> None:
    for name, plot in PLOTS.items():
        plot(exp, folder / name)
    if len(exp.variants) == 2:
        plot_differences(exp, folder / "differences.png")
    doc = report_document(exp)
    (folder / "report.md").write_text(doc.markdown())
    (folder / "report.html").write_text(doc.html(folder))


def _interval(m: dict | None, unit: str) -> str:
    if not m or m.get("mean", m.get("delta")) is None:
        return "-"
    mid = m.get("mean", m.get("delta"))
    lo, hi = m["ci95"]
    return fmt_value(mid, unit) if lo is None else \
        f"{fmt_value(mid, unit)} [{fmt_value(lo, unit)}, {fmt_value(hi, unit)}]"


def significance(c: dict | None) -> str:
    """Whether a paired difference's 95% interval excludes zero."""
    if not c or c["delta"] is None:
        return "-"
    lo, hi = c["ci95"]
    if lo is None:
        return "n/a (one replica)"
    if lo == hi == c["delta"] == 0:
        return "no (identical)"
    return "**yes**" if excludes_zero(c["ci95"]) else "no"


def answer_rows(exp: Experiment) -> tuple[list[str], list[list[str]]]:
    """Headline metrics: each variant's mean [95% CI]; with a baseline, the paired difference
    [95% CI] and whether it is significant."""
    summary = exp.summary
    names = [v.name for v in exp.variants]
    head = ["metric", "unit", *(f"{n} [95% CI]" for n in names)]
    if len(names) == 2:
        head += [f"{names[0]} - {names[1]} [95% CI]", "significant"]
    rows = []
    for metric in HEADLINE:
        unit = unit_of(metric)
        cells = [summary["variants"][n]["metrics"].get(metric) for n in names]
        if not any(cells):
            continue
        row = [f"`{metric}`", unit, *(_interval(m, unit) for m in cells)]
        if len(names) == 2:
            c = summary["comparison"].get(metric)
            row += [_interval(c, unit), significance(c)]
        rows.append(row)
    return head, rows


def _answer_sentences(exp: Experiment) -> list[str]:
    summary = exp.summary
    a, b = (v.name for v in exp.variants)
    out = []
    for metric in KEY_METRICS:
        c = summary["comparison"].get(metric)
        if not c or c["delta"] is None:
            continue
        unit = unit_of(metric)
        sig = significance(c)
        if sig.startswith("no ("):
            verdict = "no difference (identical in every replica)"
        elif sig == "**yes**":
            verdict = f"{a} is {'higher' if c['delta'] > 0 else 'lower'}, **significant**"
        elif sig == "no":
            verdict = "not significant (the interval includes zero)"
        else:
            verdict = sig
        out.append(f"`{metric}` ({unit}): {a} - {b} = {_interval(c, unit)}: {verdict}")
    return out


def _capacity_section(doc: Document, exp: Experiment) -> None:
    doc.heading("Is capacity enough?")
    bullets = []
    for v in exp.variants:
        c = capacity_by_month(v)
        months = v.account.month_starts
        short = np.flatnonzero(c["p_short"] > 0)
        if short.size == 0:
            bullets.append(f"{v.name}: reserved GPUs were delivered in full in every month of every replica "
                           f"({exp.replicas} replicas, {_plural(len(months), 'month')}).")
        else:
            worst = int(np.argmax(c["p_short"]))
            bullets.append(f"{v.name}: reserved GPUs were short in {short.size} of {len(months)} months in at "
                           f"least one replica, first in {months[short[0]]:%Y-%m}; the highest probability is "
                           f"{c['p_short'][worst]:.0%} in {months[worst]:%Y-%m}, with "
                           f"{fmt_value(float(c['short_gpu_h'][worst]))} GPU-hours short that month (replica mean).")
        for node_type, load in v.account.offered_load.items():
            bullets.append(f"{v.name}: offered load on {node_type} is {load:.2f} of online GPU-hours"
                           + (" (demand exceeds capacity)" if load > 1 else "") + ".")
    doc.bullets(bullets + warnings(exp))
    doc.figure("capacity.png", "Top: by month, the share of replicas in which reserved GPUs asked for exceeded "
                               "those delivered (the engine's reservation shortfall). Bottom: GPUs online, "
                               "reserved by contract, and allocated, monthly means.")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _sensitivity_section(doc: Document, exp: Experiment) -> None:
    doc.heading("Sensitivity")
    v = exp.variants[0]
    numeric = {p: np.asarray(x, dtype=np.float64) for p, x in v.samples.items()
               if all(isinstance(y, (int, float)) for y in x)}
    if not v.samples:
        doc.para("This run has no uncertain inputs. Give any number as a distribution (`{dist: normal, mean, "
                 "sd}`, `lognormal`, `uniform`, `triangular`, `choice`) to draw it per replica, or run a sweep "
                 "(`sweep:` or `--sweep key=v1,v2`) for a table and tornado chart of each input's effect.")
        return
    targets = [m for m in ("npv_usd", "gpu_utilization", "mean_wait_h") if m in v.metrics]
    rows = []
    for path, x in v.samples.items():
        cells = [f"`{path}`", fmt_value(float(np.mean(x))) if path in numeric else ", ".join(map(str, x[:4]))]
        cells.append(f"{fmt_value(float(np.min(x)))} .. {fmt_value(float(np.max(x)))}" if path in numeric else "")
        for m in targets:
            cells.append(f"{_rank_correlation(numeric[path], v.metrics[m]):+.2f}" if path in numeric else "-")
        rows.append(cells)
    doc.para(f"Uncertain inputs of {v.name}, drawn once per replica (values of every replica in samples.csv), "
             f"and their rank correlation with the headline metrics across the {exp.replicas} replicas; with "
             f"this few replicas only |r| above about {min(1.0, 2 / math.sqrt(max(exp.replicas, 1))):.2f} "
             f"stands out from noise.")
    doc.table(["input", "mean draw", "range", *(f"r with `{m}`" for m in targets)], rows)


def _rank_correlation(x: np.ndarray, y: np.ndarray) -> float:
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3:
        return float("nan")
    rx, ry = (np.argsort(np.argsort(a[keep])).astype(np.float64) for a in (x, y))
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def report_document(exp: Experiment) -> Document:
    names = [v.name for v in exp.variants]
    paired = len(names) == 2
    doc = Document(f"{names[0]} against {names[1]}" if paired else exp.name)
    doc.heading("The answer")
    if paired:
        doc.para(f"**{names[0]}** against its baseline **{names[1]}** on the same demand: {exp.replicas} paired "
                 f"replicas (common random numbers), seed {exp.seed}, backend {exp.backend}. Differences are "
                 f"{names[0]} minus {names[1]}, with 95% confidence intervals of the paired differences; a "
                 f"difference is significant when its interval excludes zero.")
        doc.bullets(_answer_sentences(exp))
        doc.figure("differences.png", f"{names[0]} minus {names[1]} for the key metrics, paired by replica, with "
                                      f"95% confidence intervals: green where the interval excludes zero.")
    else:
        doc.para(f"{exp.replicas} replicas, seed {exp.seed}, backend {exp.backend}; means with 95% confidence "
                 f"intervals across replicas.")
    doc.table(*answer_rows(exp))
    doc.figure("comparison.png", "Headline metrics side by side: means with 95% confidence intervals.")
    _capacity_section(doc, exp)
    doc.heading("Energy and carbon")
    energy = []
    for v in exp.variants:
        m = exp.summary["variants"][v.name]["metrics"]
        energy.append(f"{v.name}: facility energy {_interval(m.get('energy_facility_mwh'), 'MWh')} MWh, energy "
                      f"cost USD {_interval(m.get('energy_cost_usd'), 'USD')}, carbon "
                      f"{_interval(m.get('carbon_t'), 't CO2e')} t CO2e (means [95% CI]).")
    doc.bullets(energy)
    doc.figure("energy.png", "Facility energy (IT energy x PUE), its cost at each site's price, and carbon at "
                             "each site's grid intensity.")
    finance = _finance_notes(exp)
    if not finance:
        doc.heading("Finance")
    doc.markdown_lines(finance)
    doc.figure("finance.png", "Monthly EBITDA, cumulative free cash flow and trailing-twelve-month debt service "
                              "coverage by company.")
    _sensitivity_section(doc, exp)
    doc.heading("Operations")
    doc.figure("utilization.png", "Fleet utilization: GPUs allocated (to reservations and jobs) over GPUs online, "
                                  "daily.")
    doc.figure("wait_cdf.png", "Wait before start of every job of replica 0; jobs still queued at the horizon "
                               "count with their wait so far.")
    doc.figure("fragmentation.png", "GPUs free while jobs that could use them were queued, in any scheduler of "
                                    "the variant.")
    _tenant_section(doc, exp)
    doc.heading("Definitions")
    doc.bullets([
        "`gpu_utilization`: allocated GPU-hours / online GPU-hours.",
        "waits: start minus submit; jobs still queued at the horizon are censored at the horizon.",
        "`sla_attainment`: GPU-hour weighted: reserved GPU-hours delivered plus GPU-hours of jobs that started "
        "within their tenant's `max_wait_h`, over all GPU-hours under an SLA.",
        "`stranded_gpu_hours`: GPU-hours free while jobs that could use that node type were queued in any "
        "scheduler of the variant (fragmentation, and capacity split between companies).",
        "capacity sufficiency: a month counts as short in a replica when any reservation got fewer GPUs than "
        "its contract asked for at some hour of it (reserved demand above delivered capacity).",
        "finance conventions: see `sim/finance.py`; `npv_usd` discounts the unlevered free cash flow of "
        "`sim/finance.py` over the horizon at each company's discount rate, no terminal value."])
    return doc


TENANT_METRICS = ("gpu_utilization", "mean_wait_h", "mean_jct_h", "preemptions", "restarts", "goodput_share")


def _tenant_section(doc: Document, exp: Experiment) -> None:
    """Who uses the fleet: each tenant's share of the GPU-hours and, where several tenants run
    jobs, their job metrics; replica means, one column per variant."""
    names = [v.name for v in exp.variants]
    metrics = [exp.summary["variants"][n]["metrics"] for n in names]
    tenants = [t.name for t in exp.variants[0].scenario.tenants]
    def values(m):
        return [(v.get(f"{m}[{t}]") or {}).get("mean") for t in tenants for v in metrics]
    # a metric equal for every tenant and variant (no preemptions anywhere, say) tells nothing here
    shown = [m for m in TENANT_METRICS if any(x is not None for x in values(m)) and len(set(values(m))) > 1]
    if len(tenants) < 2 or not shown:
        return
    doc.heading("By tenant", level=3)
    head = ["tenant", *(f"`{m}` {n}" if len(names) > 1 else f"`{m}`" for m in shown for n in names)]
    rows = [[t, *(fmt_value((v.get(f"{m}[{t}]") or {}).get("mean"), unit_of(m)) for m in shown for v in metrics)]
            for t in tenants]
    doc.table(head, rows)
    doc.para("`gpu_utilization[tenant]`: the GPU-hours its jobs and its reservation held over the online "
             "GPU-hours (the tenants add up to `gpu_utilization`).")


def _finance_notes(exp: Experiment) -> list[str]:
    """Contracts and money: the hosting contracts' value and bill at full ramp, debt and
    covenants per company and, for a merger, the buyer's net annual saving against its claim,
    the value to the buyer against the price, and where the paired NPV difference comes from."""
    from kernels.stats import mean_ci95
    from .contracts import hosting_contract_value_usd

    def usd(x) -> str:
        return f"USD {fmt_value(float(x), 'USD')}"

    def with_ci(samples) -> str:
        mean, lo, hi = mean_ci95(np.asarray(samples, dtype=np.float64))
        return usd(mean) + (f" [{fmt_value(float(lo), 'USD')}, {fmt_value(float(hi), 'USD')}]"
                            if np.isfinite(lo) else "")

    out = []
    contracts = exp.variants[-1].scenario
    if contracts.hosting_contracts:
        value = sum(hosting_contract_value_usd(contracts, h) for h in contracts.hosting_contracts)
        out.append(f"- Hosting contracts: {len(contracts.hosting_contracts)}, worth {usd(value)} in fees over their "
                   f"terms and exercised renewals (configured dates, no delays).")
    full_ramp = {}
    for v in exp.variants:
        fees = v.finance.lines["hosting_fees_paid_usd"].sum(axis=1)            # (R, M)
        if fees.any():
            mean = fees.mean(axis=0)
            m = int(np.argmax([mean[k:k + 12].sum() for k in range(max(1, mean.size - 11))]))
            full_ramp[v.name] = m
            out.append(f"- {v.name}: the clients' annual hosting bill at full ramp (largest 12 months, from "
                       f"{v.account.month_starts[m]:%Y-%m}): {with_ci(fees[:, m:m + 12].sum(axis=1))}.")
    if len(exp.variants) == 2 and exp.variants[0].scenario.merger and exp.variants[0].scenario.merger.into \
            in exp.variants[1].finance.companies:
        out += _merger_notes(exp, full_ramp, usd, with_ci)
    out += ["", "### Debt and covenants", ""]
    for v in exp.variants:
        metrics = v.metrics
        for name in v.finance.companies:
            dscr = np.nanmean(metrics[f"min_dscr[{name}]"]) if np.isfinite(metrics[f"min_dscr[{name}]"]).any() \
                else np.nan
            ltc = metrics[f"max_loan_to_collateral[{name}]"]
            breach = float(np.mean(metrics[f"covenant_breach_months[{name}]"]))
            debt = v.finance.lines["debt_outstanding_usd"][:, v.finance.companies.index(name), 0].mean()
            parts = [f"debt at the start {usd(debt)}",
                     f"lowest trailing-12-month DSCR {fmt_value(float(dscr), 'ratio')}x" if np.isfinite(dscr)
                     else "no scheduled debt service"]
            if np.isfinite(ltc).any():
                parts.append(f"highest GPU loan-to-collateral {np.nanmean(ltc):.2f}")
            parts.append(f"{breach:.1f} of {v.finance.lines['covenant_breach'].shape[2]} months in covenant breach"
                         if breach else "no covenant breach")
            out.append(f"- {v.name}, {name}: " + "; ".join(parts) + " (replica means).")
        lines = v.finance.lines
        for c, name in enumerate(v.finance.companies):   # a host living off one client
            fees = lines["hosting_fees_received_usd"][:, c].sum()
            revenue = fees + sum(lines[k][:, c].sum() for k in ("revenue_reserved_usd", "revenue_on_demand_usd",
                                                                 "revenue_spot_usd", "revenue_legacy_usd",
                                                                 "revenue_converted_usd")) \
                - lines["sla_credits_usd"][:, c].sum()
            clients = {h.client for h in v.scenario.hosting_contracts if v.scenario.owner_of(h.host) == name
                       and v.scenario.owner_of(h.client) != name}
            if fees > 0 and revenue > 0 and len(clients) == 1:
                out.append(f"- {v.name}, {name}: {fees / revenue:.0%} of its revenue comes from one hosting client "
                           f"({clients.pop()}): a single-counterparty risk that also carries its debt service.")
    credits = [v for v in exp.variants if np.nanmean(v.metrics["sla_credits_usd"]) > 0]
    if any(h.delivery_delay for h in contracts.hosting_contracts) or credits:
        out.append("- SLA credits to tenants for reserved GPUs not delivered (late, failed or oversold capacity): "
                   + "; ".join(f"{v.name} {with_ci(v.metrics['sla_credits_usd'])}" for v in exp.variants) + ".")
    return ["", "## Finance", ""] + out


def _merger_notes(exp: Experiment, full_ramp: dict, usd, with_ci) -> list[str]:
    """The buyer's view of a merger against its standalone baseline (paired replicas)."""
    merged, base = exp.variants
    deal = merged.scenario.merger
    into = deal.into
    mi, bi = merged.finance.companies.index(into), base.finance.companies.index(into)
    m = full_ramp.get(base.name, 0)
    window = slice(m, m + 12)
    diff = lambda line: (merged.finance.lines[line][:, mi, window].sum(axis=1)
                         - base.finance.lines[line][:, bi, window].sum(axis=1))
    saving = diff("ebitda_usd")
    out = [f"- {into}'s net annual saving from the merger over the same 12 months (its EBITDA merged minus "
           f"standalone, paired replicas): {with_ci(saving)}."]
    parts = {"hosting fees avoided": -diff("hosting_fees_paid_usd"), "site opex taken on": -diff("site_opex_usd"),
             "energy": -diff("energy_usd"), "opex": -diff("opex_usd"),
             "legacy loads": diff("revenue_legacy_usd") + diff("revenue_converted_usd") - diff("legacy_energy_usd"),
             "hosting fees received": diff("hosting_fees_received_usd"),
             "tenant revenue net of SLA credits": diff("revenue_reserved_usd") + diff("revenue_on_demand_usd")
             + diff("revenue_spot_usd") - diff("sla_credits_usd"),
             "synergies less integration cost": diff("synergies_usd") - diff("integration_cost_usd")}
    shown = [f"{k} {usd(x.mean())}" for k, x in parts.items() if abs(x.mean()) >= 1e-3 * max(abs(saving.mean()), 1)]
    if shown:
        out.append("- That saving is: " + "; ".join(shown) + ".")
    if deal.claimed_savings_usd_per_year:
        ratio = saving.mean() / deal.claimed_savings_usd_per_year
        verdict = "near the claim" if 0.8 <= ratio <= 1.25 else "above the claim" if ratio > 1 else "below the claim"
        out.append(f"- The buyer claimed about {usd(deal.claimed_savings_usd_per_year)} a year of savings; the "
                   f"modelled saving is {ratio:.0%} of it: **{verdict}** (within -20%/+25% counts as near).")
    cash = diff("fcf_usd")
    out.append(f"- In cash (free cash flow, same months) the saving is {with_ci(cash)}: besides EBITDA, the "
               f"fit-out netting that standalone recovers from the host ({usd(-diff('fitout_recovered_usd').mean())})"
               f", capex and prepayment timing.")

    def pv(v, lines, sign=1.0):
        """Present value per replica of lines summed over the variant's companies."""
        rates = np.array([next(c.discount_rate for c in v.scenario.companies if c.name == n)
                          for n in v.finance.companies])
        months = v.finance.lines["fcf_usd"].shape[2]
        discount = (1 + rates[:, None]) ** (-(np.arange(months)[None, :] + 1) / 12)
        return sign * sum((v.finance.lines[k] * discount).sum(axis=(1, 2)) for k in lines)

    value = merged.metrics["npv_usd"] - base.metrics[f"npv_usd[{into}]"]
    members = [c for c in base.finance.companies if c in deal.members and c != into]
    assumed = sum(base.finance.lines["debt_outstanding_usd"][:, base.finance.companies.index(c), 0].mean()
                  for c in members)
    out.append(f"- What the merger is worth to {into}: NPV merged minus its own standalone NPV (unlevered free "
               f"cash flow, no terminal value) {with_ci(value)}, against the price paid of {usd(deal.price_usd)} "
               f"plus {usd(assumed)} of debt assumed ({usd(deal.price_usd + assumed)}): "
               f"{'more' if value.mean() > deal.price_usd + assumed else 'less'} than it pays within the horizon.")
    whole = merged.metrics["npv_usd"] - base.metrics["npv_usd"]
    out.append(f"- Paired NPV difference of the whole ({merged.name} - {base.name}, every company): "
               f"{with_ci(whole)}. Hosting fees and fit-out netting are transfers between the two companies and "
               f"cancel; what merging changes is:")
    components = {
        "tenant revenue net of SLA credits (pooling)": (("revenue_reserved_usd", "revenue_on_demand_usd",
                                                         "revenue_spot_usd"), ("sla_credits_usd",)),
        "legacy loads (mining, converted capacity)": (("revenue_legacy_usd", "revenue_converted_usd"),
                                                      ("legacy_energy_usd",)),
        "conversion capex": ((), ("conversion_capex_usd",)),
        "synergies less integration cost": (("synergies_usd",), ("integration_cost_usd",)),
        "energy, site and company opex": ((), ("energy_usd", "site_opex_usd", "opex_usd")),
        "capex (GPUs, fit-out)": ((), ("capex_usd", "fitout_capex_usd")),
        "hosting fees and fit-out netting": (("hosting_fees_received_usd", "fitout_recovered_usd"),
                                             ("hosting_fees_paid_usd", "fitout_netted_usd")),
        "prepayment timing": (("prepayments_received_usd",), ("prepayments_applied_usd",)),
    }
    rows = []
    for label, (plus, minus) in components.items():
        delta = (pv(merged, plus) - pv(merged, minus)) - (pv(base, plus) - pv(base, minus)) \
            if plus or minus else np.zeros(1)
        if abs(float(np.mean(delta))) >= 1e6:
            rows.append(f"{label} {usd(np.mean(delta))}")
    out[-1] += " " + "; ".join(rows) + "." if rows else " nothing measurable."
    loads = sum(load.mw for site in merged.scenario.sites for load in site.legacy_loads)
    if deal.convert_legacy_loads is not None and loads:
        conv = deal.convert_legacy_loads
        out.append(f"- The merged company converts {loads:g} MW of legacy load from {conv.start:%Y-%m} over "
                   f"{conv.months} months at {usd(conv.capex_usd_per_mw)} per MW; converted MW earn "
                   f"{usd(conv.converted_usd_per_mw_year)} per MW-year and do not become GPU deployments in the "
                   f"engine.")
    return out


# ---------------------------------------------------------------- sweeps and sizing

def sweep_document(sweep) -> Document:
    from .sweep import OUTCOMES, effects
    names = sweep.variants
    paired = len(names) == 2
    doc = Document(f"{sweep.name}: sweep of {', '.join(sweep.inputs)}")
    doc.heading("The answer at each point")
    doc.para(f"{len(sweep.points)} points (every combination of the listed values), {sweep.replicas} replicas "
             f"each, seed {sweep.seed}, backend {sweep.backend}. Replica k of every point and variant uses the "
             f"same random streams, so points differ only by their inputs. Means with 95% confidence intervals"
             + (f"; differences are {names[0]} minus {names[1]}, paired by replica, and significant when their "
                f"interval excludes zero." if paired else "."))
    head = ["point", *(f"`{k}`" for k in sweep.inputs)]
    for m in OUTCOMES:
        head.append(f"{names[0]}: `{m}`")
        if paired:
            head += [f"{names[0]} - {names[1]}: `{m}`", "significant"]
    rows = []
    for i, p in enumerate(sweep.points):
        row = [str(i), *(str(p.values[k]) for k in sweep.inputs)]
        for m in OUTCOMES:
            unit = unit_of(m)
            row.append(_interval(p.summary["variants"][names[0]]["metrics"].get(m), unit))
            if paired:
                c = p.summary["comparison"].get(m)
                row += [_interval(c, unit), significance(c)]
        rows.append(row)
    doc.table(head, rows)
    doc.heading("Sensitivity")
    doc.para(f"Each input's main effect on {names[0]}: the metric averaged over all points at each of the input's "
             f"values (so over every combination of the other inputs).")
    rows = []
    tables = {m: dict(effects(sweep, m)) for m in OUTCOMES}
    for name in sweep.inputs:
        for j, (value, _) in enumerate(tables[OUTCOMES[0]][name]):
            rows.append([f"`{name}`", str(value),
                         *(fmt_value(tables[m][name][j][1], unit_of(m)) for m in OUTCOMES)])
    doc.table(["input", "value", *(f"`{m}` ({unit_of(m)})" for m in OUTCOMES)], rows)
    doc.figure("tornado.png", "Tornado chart: each bar spans the input's main effect from its lowest to its "
                              "highest value of the metric; labels give the input's value at each end.")
    doc.para("Every point's full summary is in `points/NNN/summary.json`; every metric of every point in "
             "`sweep.csv`.")
    return doc


def sizing_document(result) -> Document:
    t = result.target
    doc = Document(f"{result.name}: sizing {result.vary}")
    doc.heading("The answer")
    if result.answer is None:
        doc.para(f"No value of `{result.vary}` up to {result.limit:.6g} meets `{t.text}` with 95% "
                 f"confidence.")
    else:
        best = next(p for p in result.probes if p.value == result.answer)
        fleet = f" ({best.fleet})" if best.fleet else ""
        doc.para(f"The smallest `{result.vary}` that meets `{t.text}` with 95% confidence is "
                 f"**{result.answer:.6g}**{fleet}: there `{t.metric}` is {_interval(best.stats, t.unit)} "
                 f"{t.unit}, and the whole 95% interval of its mean is on the right side of {t.value:g}.")
    doc.para(f"Found by bisection over {len(result.probes)} values, {result.replicas} replicas each, seed "
             f"{result.seed}; every value sees the same random demand (common random numbers), so the curve "
             f"is smooth in the input. It assumes that more of the input never makes `{t.metric}` worse.")
    fleet = any(p.fleet for p in result.probes)
    doc.table([f"`{result.vary}`", *(["fleet at the site"] if fleet else []), f"`{t.metric}` ({t.unit}) [95% CI]",
               "meets the target"],
              [[f"{p.value:.6g}", *([p.fleet] if fleet else []), _interval(p.stats, t.unit),
                "**yes**" if p.met else "no"] for p in sorted(result.probes, key=lambda p: p.value)])
    doc.figure("sizing.png", f"{t.metric} against {result.vary}: means with 95% confidence intervals at every "
                             f"value the search explored, and the target.")
    return doc
