"""The money over market paths in the outputs: paths.csv (every path's metrics),
paths_by_month.csv (fans of cumulative free cash flow and DSCR, and the probabilities of
breach and default by month), the report's section and paths.png."""
from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np

from ..experiment.runner import Experiment
from ..experiment.stats import PATH_PERCENTILES
from ..metrics import unit_of
from .cells import float_cell
from .document import Document
from .tables import fmt_value, interval

SHOWN = ("npv_usd", "npv_with_terminal_usd", "deal_npv_usd", "deal_npv_with_terminal_usd", "min_dscr",
         "breach_probability", "default_probability")
FAN = (5, 25, 50, 75, 95)


def _with_paths(exp: Experiment):
    return [v for v in exp.variants if v.paths is not None]


def write_paths(exp: Experiment, folder: Path) -> None:
    """paths.csv and paths_by_month.csv (nothing where no variant has `paths:`)."""
    variants = _with_paths(exp)
    if not variants:
        return
    names = sorted(set().union(*(v.path_metrics for v in variants)))
    with open(folder / "paths.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "path", "replica", "seed", *names])
        for v in variants:
            for p, replica in enumerate(v.paths.replica.tolist()):
                w.writerow([v.name, p, replica, exp.seed,
                            *(float_cell(v.path_metrics[n][p]) if n in v.path_metrics else "" for n in names)])
    with open(folder / "paths_by_month.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "company", "month", *(f"cumulative_fcf_usd_p{q}" for q in FAN),
                    *(f"dscr_ttm_p{q}" for q in PATH_PERCENTILES), "breach_probability", "default_probability"])
        for v in variants:
            fans = monthly_fans(v)
            for c, company in enumerate(v.paths.companies):
                for m, month in enumerate(v.account.month_starts):
                    w.writerow([v.name, company, f"{month:%Y-%m}",
                                *(float_cell(fans["cumulative_fcf"][q][c, m]) for q in FAN),
                                *(float_cell(fans["dscr"][q][c, m]) for q in PATH_PERCENTILES),
                                float_cell(fans["breach"][c, m]), float_cell(fans["default"][c, m])])


def monthly_fans(v) -> dict:
    """Per company and month (C, M): percentiles over paths of cumulative free cash flow and of
    DSCR (paths with debt service that month), and the share of paths in breach that month and
    in default by then."""
    a = v.paths.arrays
    cumulative = np.cumsum(a["fcf"], axis=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # a month no path has debt service in: nan
        dscr = {q: np.nanpercentile(a["dscr_ttm"], q, axis=0) for q in PATH_PERCENTILES}
    return {"cumulative_fcf": {q: np.percentile(cumulative, q, axis=0) for q in FAN}, "dscr": dscr,
            "breach": a["covenant_breach"].mean(axis=0), "default": a["defaulted"].mean(axis=0)}


def _percentile_cell(m: dict, q: int, unit: str) -> str:
    p = m["percentiles"][f"p{q}"]
    return interval({"mean": p["value"], "ci95": p["ci95"]}, unit)


def paths_section(doc: Document, exp: Experiment) -> None:
    variants = _with_paths(exp)
    if not variants:
        return
    summary = exp.summary["paths"]
    doc.heading("Market paths")
    doc.para(f"{summary['count']:,} market paths over the {exp.replicas} engine replicas: path p takes the "
             f"operations of replica p mod {exp.replicas} and draws its own GPU and power prices, SOFR and tenant "
             f"defaults (`paths:`; sim/money/paths.py), the same draws in every variant. Percentiles carry "
             f"distribution-free 95% intervals (the market's sampling error given these replicas); means carry "
             f"intervals across replicas; probabilities, Wilson's over paths. Market inputs do not feed back into "
             f"the engine within a path.")
    head = ["metric", "variant", "mean [95% CI]", "5th percentile", "median", "95th percentile"]
    rows = []
    for name in SHOWN:
        for v in variants:
            m = summary["variants"][v.name].get(name)
            if m is None:
                continue
            unit = unit_of(name)
            tails = [_percentile_cell(m, q, unit) for q in PATH_PERCENTILES] if "percentiles" in m else ["-"] * 3
            rows.append([f"`{name}`", v.name, interval(m, unit), *tails])
    doc.table(head, rows)
    comparison = summary.get("comparison", {})
    a, b = (v.name for v in variants) if len(variants) == 2 else (None, None)
    lines = []
    for name in ("npv_usd", "npv_with_terminal_usd"):
        c = comparison.get(name)
        if c and c["delta"] is not None:
            ahead = c["share_ahead"]
            lines.append(f"`{name}`: {a} - {b} = {interval(c, 'USD')} on average; 5th to 95th percentile "
                         f"{fmt_value(c['percentiles']['p5']['value'], 'USD')} to "
                         f"{fmt_value(c['percentiles']['p95']['value'], 'USD')}; {a} is ahead on "
                         f"{interval(ahead, 'probability')} of the paths.")
    doc.bullets(lines)
    doc.figure("paths.png", "Over the market paths: cumulative free cash flow of all companies (median, 25-75% and "
                            "5-95% of paths) and the share of paths in which each indebted company has defaulted "
                            "by each month.")


def plot_paths(exp: Experiment, path: Path) -> None:
    from .style import plt
    variants = _with_paths(exp)
    if not variants:
        return
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for i, v in enumerate(variants):
        months = np.array(v.account.month_starts, dtype="datetime64[D]")
        whole = np.cumsum(v.paths.arrays["fcf"].sum(axis=1), axis=1) / 1e9
        band = {q: np.percentile(whole, q, axis=0) for q in FAN}
        color = f"C{i}"
        ax1.fill_between(months, band[5], band[95], color=color, alpha=0.15, linewidth=0)
        ax1.fill_between(months, band[25], band[75], color=color, alpha=0.3, linewidth=0)
        ax1.plot(months, band[50], color=color, label=f"{v.name} (median)")
        default = v.paths.arrays["defaulted"].mean(axis=0)
        debt = v.paths.arrays["debt_outstanding_usd"].max(axis=(0, 2)) > 0
        for c, company in enumerate(v.paths.companies):
            if debt[c]:
                ax2.plot(months, default[c], color=color, linestyle=("-", "--", ":")[c % 3],
                         label=f"{v.name}: {company}")
    ax1.axhline(0, color="grey", linewidth=0.8)
    ax1.set_ylabel("cumulative free cash flow (USD B)")
    ax1.set_title("Cumulative free cash flow over the market paths")
    ax1.legend(loc="upper left")
    ax2.set_ylabel("share of paths in default")
    ax2.set_title("Default by month")
    ax2.set_ylim(bottom=0)
    ax2.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
