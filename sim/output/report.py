"""report.md and a self-contained report.html for an experiment, with its plots. The report
opens with the answer (variant against baseline, each headline metric with its 95% interval
and whether the difference is significant), then capacity sufficiency by month, energy and
carbon, finance and sensitivity."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..experiment.runner import Experiment
from ..experiment.precision import describe
from ..experiment.stats import rank_correlation
from ..metrics import shown_in, unit_of
from .document import Document
from .explain import identical_note
from .notes import finance_notes, warnings
from .operations import fleet_and_demand_notes
from .paths import paths_section, plot_paths
from .plots import PLOTS, capacity_by_month, plot_differences
from .tables import KEY_METRICS, answer_rows, fmt_value, interval, significance


def write_report(exp: Experiment, folder: Path) -> None:
    for name, plot in PLOTS.items():
        plot(exp, folder / name)
    if len(exp.variants) == 2:
        plot_differences(exp, folder / "differences.png")
    plot_paths(exp, folder / "paths.png")
    doc = report_document(exp)
    (folder / "report.md").write_text(doc.markdown())
    (folder / "report.html").write_text(doc.html(folder))


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
        out.append(f"`{metric}` ({unit}): {a} - {b} = {interval(c, unit)}: {verdict}")
    return out


def _what_flips(exp: Experiment) -> list[str]:
    """The configured breakevens, and for an offer the buyer's price at which the target's
    holders are indifferent (closed form: their standalone value per share, less cash, over
    the exchange ratio)."""
    out = []
    for b in exp.breakevens:
        paired = b.metric in exp.variants[1].metrics
        what = f"{exp.variants[0].name} minus {exp.variants[1].name} `{b.metric}`" if paired else f"`{b.metric}`"
        now = (f"it is {fmt_value(b.configured)} here, where the {'difference' if paired else 'value'} is "
               f"{fmt_value(b.difference, unit_of(b.metric))}")
        if b.value is None:
            out.append(f"{what} keeps its sign for `{b.path}` from {fmt_value(b.low)} to {fmt_value(b.high)} ({now}).")
        else:
            side = "above" if b.rises else "below"
            out.append(f"{what} is above zero if `{b.path}` is {side} **{fmt_value(b.value)}** ({now}).")
    merger = exp.variants[0].scenario.merger
    if merger is not None and merger.offer is not None:
        offer = merger.offer
        worth = float(np.nanmean(exp.variants[0].metrics["target_standalone_value_per_share_usd"]))
        price = (worth - offer.cash_per_share_usd) / offer.exchange_ratio
        collar = " (within its collar)" if offer.collar else ""
        out.append(f"{offer.target}'s holders are better off accepting if {merger.into}'s price at close is above "
                   f"**${price:,.2f}**{collar}: the offer then beats their standalone value of ${worth:,.2f} a share "
                   f"(it was ${offer.buyer_share_price_usd:,.2f} at signing).")
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
                           f"{c['p_short'][worst]:.0%} [{c['p_short_lo'][worst]:.0%}, {c['p_short_hi'][worst]:.0%}] "
                           f"in {months[worst]:%Y-%m}, with "
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
    targets = [m for m in shown_in("sensitivity") if m in v.metrics]
    rows = []
    for path, x in v.samples.items():
        cells = [f"`{path}`", fmt_value(float(np.mean(x))) if path in numeric else ", ".join(map(str, x[:4]))]
        cells.append(f"{fmt_value(float(np.min(x)))} .. {fmt_value(float(np.max(x)))}" if path in numeric else "")
        for m in targets:
            cells.append(f"{rank_correlation(numeric[path], v.metrics[m]):+.2f}" if path in numeric else "-")
        rows.append(cells)
    doc.para(f"Uncertain inputs of {v.name}, drawn once per replica (values of every replica in samples.csv), "
             f"and their rank correlation with the headline metrics across the {exp.replicas} replicas; with "
             f"this few replicas only |r| above about {min(1.0, 2 / math.sqrt(max(exp.replicas, 1))):.2f} "
             f"stands out from noise.")
    doc.table(["input", "mean draw", "range", *(f"r with `{m}`" for m in targets)], rows)


def report_document(exp: Experiment) -> Document:
    names = [v.name for v in exp.variants]
    paired = len(names) == 2
    doc = Document(f"{names[0]} against {names[1]}" if paired else exp.name)
    doc.heading("The answer")
    flips = _what_flips(exp)
    if flips:
        doc.para("What flips the answer (each found on the same replicas, all else as configured):")
        doc.bullets(flips)
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
    if exp.precision:
        doc.para(f"Replicas were run in batches until the intervals were as narrow as asked (`--precision`): "
                 f"{describe(exp.precision)}.")
    warmups = sorted({v.scenario.warmup_h for v in exp.variants if v.scenario.warmup_h > 0})
    if warmups:
        doc.para(f"Warm-up: the job metrics (job counts, waits, completion times, slowdown, preemptions, "
                 f"restarts, goodput) leave out jobs submitted in the first "
                 f"{' / '.join(f'{w:g}' for w in warmups)} h; fleet, energy and money metrics cover the whole "
                 f"horizon.")
    doc.table(*answer_rows(exp))
    if note := identical_note(exp):
        doc.para(note[0].upper() + note[1:])
    doc.figure("comparison.png", "Headline metrics side by side: means with 95% confidence intervals.")
    _capacity_section(doc, exp)
    fleet = fleet_and_demand_notes(exp)
    if fleet:
        doc.heading("Fleet and demand")
        doc.bullets(fleet)
    doc.heading("Energy and carbon")
    energy = []
    for v in exp.variants:
        m = exp.summary["variants"][v.name]["metrics"]
        energy.append(f"{v.name}: facility energy {interval(m.get('energy_facility_mwh'), 'MWh')} MWh, energy "
                      f"cost USD {interval(m.get('energy_cost_usd'), 'USD')}, carbon "
                      f"{interval(m.get('carbon_t'), 't CO2e')} t CO2e (means [95% CI]).")
    doc.bullets(energy)
    doc.figure("energy.png", "Facility energy (IT energy x PUE), its cost at each site's price, and carbon at "
                             "each site's grid intensity, all per day (energy and cost as each month's daily "
                             "mean).")
    finance = finance_notes(exp)
    if not finance:
        doc.heading("Finance")
    doc.markdown_lines(finance)
    doc.figure("finance.png", "Monthly EBITDA, cumulative free cash flow and trailing-twelve-month debt service "
                              "coverage by company.")
    paths_section(doc, exp)
    _sensitivity_section(doc, exp)
    doc.heading("Operations")
    doc.figure("utilization.png", "Fleet utilization: GPUs allocated (to reservations and jobs) over GPUs online, "
                                  "daily.")
    doc.figure("wait_cdf.png", "The share of jobs of replica 0 that waited longer than t before they started "
                               "(log axes, from one minute); jobs still queued at the horizon count with their "
                               "wait so far.")
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
        "finance conventions: see `sim/money/finance.py`; `npv_usd` discounts the unlevered free cash flow "
        "over the horizon at each company's discount rate, no terminal value; `npv_with_terminal_usd` adds each "
        "company's terminal value at the horizon, and `deal_*` are the buyer's view of a merger (IRR, payback "
        "and terminal value conventions in `sim/money/valuation.py`)."])
    return doc


TENANT_METRICS = shown_in("tenant")


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
