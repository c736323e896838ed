"""Plots and report.md for an experiment, and the terminal comparison table."""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .experiment import Experiment  # noqa: E402
from .records import JobTable  # noqa: E402
from .jobstats import TIERS  # noqa: E402
from .stats import unit_of  # noqa: E402

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
        start = np.where(np.isnan(j["start_h"]), v.scenario.horizon_h, j["start_h"])
        wait = start - j["submit_h"]
        tiers = sorted(set(j["tier"][keep].tolist()))
        groups = [(v.name, keep)] if len(tiers) < 2 else \
            [(f"{v.name}, {TIERS[t]}", keep & (j["tier"] == t)) for t in tiers]
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


def plot_comparison(exp: Experiment, path: Path) -> None:
    summary = exp.summary
    metrics = [m for m in BARS if all(m in summary["variants"][v.name]["metrics"] for v in exp.variants)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.6 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        unit = unit_of(metric)
        scale = 1e6 if unit == "USD" else 1.0
        for i, v in enumerate(exp.variants):
            m = summary["variants"][v.name]["metrics"][metric]
            mean = m["mean"] if m["mean"] is not None else np.nan
            lo, hi = (np.nan if x is None else x for x in m["ci95"])
            err = [[mean - lo], [hi - mean]] if np.isfinite(lo) else None
            ax.bar(i, mean / scale, yerr=None if err is None else np.array(err) / scale, capsize=4,
                   color=f"C{i}")
        ax.set_xticks(range(len(exp.variants)), [v.name for v in exp.variants], rotation=20)
        ax.set_title(metric, fontsize=9)
        ax.set_ylabel(f"USD M" if unit == "USD" else unit)
    fig.suptitle("Variants side by side: means with 95% confidence intervals")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


PLOTS = {"utilization.png": plot_utilization, "wait_cdf.png": plot_wait_cdf, "fragmentation.png": plot_fragmentation,
         "energy.png": plot_energy,
         "finance.png": plot_finance, "comparison.png": plot_comparison}


def write_report(exp: Experiment, folder: Path) -> None:
    for name, plot in PLOTS.items():
        plot(exp, folder / name)
    (folder / "report.md").write_text(report_markdown(exp))


def report_markdown(exp: Experiment) -> str:
    names = [v.name for v in exp.variants]
    head = comparison_header(exp)
    lines = [f"# {exp.name}", ""]
    if len(names) == 2:
        lines.append(f"**{names[0]}** against its baseline **{names[1]}**, {exp.replicas} paired replicas "
                     f"(common random numbers), seed {exp.seed}, backend {exp.backend}. Differences are "
                     f"{names[0]} minus {names[1]} with 95% confidence intervals of the paired differences.")
    else:
        lines.append(f"{exp.replicas} replicas, seed {exp.seed}, backend {exp.backend}; means with 95% intervals in summary.json.")
    lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in comparison_rows(exp)]
    notes = warnings(exp)
    if notes:
        lines += ["", "## Capacity warnings", ""] + [f"- {n}" for n in notes]
    lines += _finance_notes(exp)
    lines += ["", "## Figures", "",
              "![utilization](utilization.png)", "",
              "Fleet utilization: GPUs allocated (to reservations and jobs) over GPUs online, daily.", "",
              "![wait CDF](wait_cdf.png)", "",
              "Wait before start of every job of replica 0; jobs still queued at the horizon count with "
              "their wait so far.", "",
              "![fragmentation](fragmentation.png)", "",
              "GPUs free while jobs that could use them were queued, in any scheduler of the variant.", "",
              "![energy](energy.png)", "",
              "Facility energy (IT energy x PUE), its cost at each site's price, and carbon at each site's "
              "grid intensity.", "",
              "![finance](finance.png)", "",
              "Monthly EBITDA, cumulative free cash flow and trailing-twelve-month debt service coverage by "
              "company.", "",
              "![comparison](comparison.png)", "",
              "## Definitions", "",
              "- `gpu_utilization`: allocated GPU-hours / online GPU-hours.",
              "- waits: start minus submit; jobs still queued at the horizon are censored at the horizon.",
              "- `sla_attainment`: GPU-hour weighted: reserved GPU-hours delivered plus GPU-hours of jobs that "
              "started within their tenant's `max_wait_h`, over all GPU-hours under an SLA.",
              "- `stranded_gpu_hours`: GPU-hours free while jobs that could use that node type were queued in "
              "any scheduler of the variant (fragmentation, and capacity split between companies).",
              "- finance conventions: see `sim/finance.py`; `npv_usd` is unlevered (EBITDA - capex) over the "
              "horizon at each company's discount rate, no terminal value.", ""]
    return "\n".join(lines)


def _finance_notes(exp: Experiment) -> list[str]:
    """Hosting bill at full ramp and, for a merger, the buyer's view against its baseline."""
    out = []
    full_ramp = {}
    for v in exp.variants:
        fees = v.finance.lines["hosting_fees_paid_usd"].mean(axis=0).sum(axis=0)
        if fees.any():
            windows = [fees[m:m + 12].sum() for m in range(max(1, fees.size - 11))]
            m = int(np.argmax(windows))
            full_ramp[v.name] = m
            out.append(f"- {v.name}: the clients' hosting bill at full ramp (largest 12 months, from "
                       f"{v.account.month_starts[m]:%Y-%m}) is USD {fmt_value(windows[m], 'USD')} a year.")
    if len(exp.variants) == 2 and exp.variants[0].scenario.merger:
        merged, base = exp.variants
        into = merged.scenario.merger.into
        if into in base.finance.companies:
            m = full_ramp.get(base.name, 0)
            a = merged.finance.lines["ebitda_usd"][:, merged.finance.companies.index(into), m:m + 12].sum(axis=1)
            b = base.finance.lines["ebitda_usd"][:, base.finance.companies.index(into), m:m + 12].sum(axis=1)
            out.append(f"- {into}'s net annual saving from the merger over the same 12 months (its EBITDA merged "
                       f"minus standalone, paired replicas): USD {fmt_value(float((a - b).mean()), 'USD')}.")
            value = exp.summary["variants"][merged.name]["metrics"]["npv_usd"]["mean"] - \
                exp.summary["variants"][base.name]["metrics"][f"npv_usd[{into}]"]["mean"]
            out.append(f"- Value to {into} (NPV merged minus its own standalone NPV, unlevered, before the debt "
                       f"it assumes): USD {fmt_value(value, 'USD')}, against a price paid of "
                       f"USD {fmt_value(merged.scenario.merger.price_usd, 'USD')}.")
        c = exp.summary["comparison"].get("npv_usd")
        if c:
            out.append(f"- Paired NPV difference of the whole ({merged.name} - {base.name}, all companies): "
                       f"USD {fmt_value(c['delta'], 'USD')} [{fmt_value(c['ci95'][0], 'USD')}, "
                       f"{fmt_value(c['ci95'][1], 'USD')}]: hosting fees are a transfer between the two, so "
                       f"what merging adds is synergies less integration cost and any pooling gain.")
    return ["", "## Finance", ""] + out if out else []
