"""The comparison as rows of text: headline metrics with their units, each variant's mean
[95% CI], the paired difference and whether it is significant; the terminal's table."""
from __future__ import annotations

import math

from ..experiment.runner import Experiment
from ..experiment.stats import excludes_zero
from ..metrics import shown_in, unit_of

HEADLINE = shown_in("headline")
KEY_METRICS = ("npv_usd", "ebitda_usd", "gpu_utilization", "mean_wait_h", "sla_attainment", "energy_cost_usd",
               "carbon_t")   # the answer\'s sentences and the differences chart


# units shown at the scale their size needs: (divisor, label), largest first
SCALES = {"MWh": ((1e6, "TWh"), (1e3, "GWh"), (1.0, "MWh")),
          "t CO2e": ((1e6, "Mt CO2e"), (1e3, "kt CO2e"), (1.0, "t CO2e")),
          "h": ((1.0, "h"), (1 / 60, "min"), (1 / 3600, "s"))}


def scale_of(unit: str, size: float) -> tuple[float, str]:
    """The divisor and label for amounts of `unit` of about `size` (its largest that fits;
    hours below one as minutes, below a minute as seconds)."""
    for div, label in SCALES[unit]:
        if size >= div:
            return div, label
    return SCALES[unit][-1] if size > 0 else SCALES[unit][0]


def _number(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def unit_scale(unit: str, values) -> tuple[float, str]:
    """Divisor and unit label for amounts of `unit` as their size needs: USD in B, M or k;
    MWh, t CO2e and hours as the tables scale them (TWh, Mt CO2e, minutes)."""
    top = max([abs(x) for x in values if x is not None and math.isfinite(x)] or [0.0])
    if unit in SCALES:
        return scale_of(unit, top)
    if unit == "USD":
        for div, label in ((1e9, "USD B"), (1e6, "USD M"), (1e3, "USD k")):
            if top >= div:
                return div, label
    return 1.0, unit


def fmt_value(x, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if unit in SCALES:
        div, label = scale_of(unit, abs(x))
        return f"{_number(x / div)} {label}"
    if unit in ("fraction", "probability"):
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
        only_first = len(names) == 2 and metric not in summary["variants"][names[1]]["metrics"]
        for name in names:
            m = summary["variants"][name]["metrics"].get(metric)
            present |= m is not None
            # a metric of the merger itself (the deal): its own interval here
            cells.append(interval(m, unit) if m and only_first else fmt_value(m["mean"], unit) if m else "-")
        if len(names) == 2:
            cells.append(interval(summary["comparison"].get(metric), unit))
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


def interval(m: dict | None, unit: str) -> str:
    if not m or m.get("mean", m.get("delta")) is None:
        return "-"
    mid = m.get("mean", m.get("delta"))
    lo, hi = m["ci95"]
    if lo is None:
        return fmt_value(mid, unit)
    if unit in SCALES:   # one scale for the three, named once
        div, label = scale_of(unit, max(abs(mid), abs(lo), abs(hi)))
        return f"{_number(mid / div)} [{_number(lo / div)}, {_number(hi / div)}] {label}"
    return f"{fmt_value(mid, unit)} [{fmt_value(lo, unit)}, {fmt_value(hi, unit)}]"


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
        row = [f"`{metric}`", unit, *(interval(m, unit) for m in cells)]
        if len(names) == 2:
            c = summary["comparison"].get(metric)
            row += [interval(c, unit), significance(c)]
        rows.append(row)
    return head, rows
