"""A sweep's results folder: every point's summary, sweep.csv, the tornado chart and its report."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ..experiment.sweep import OUTCOMES, Sweep, effects
from ..metrics import label_of, unit_of
from .cells import float_cell
from .document import Document
from .results import publish
from .tables import unit_scale
from .tables import fmt_value, interval, significance


def sweep_document(sweep) -> Document:
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
            row.append(interval(p.summary["variants"][names[0]]["metrics"].get(m), unit))
            if paired:
                c = p.summary["comparison"].get(m)
                row += [interval(c, unit), significance(c)]
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


def _axis_scale(metric: str, values) -> tuple[float, str]:
    """Divisor and axis label with the unit at the scale the values need."""
    div, unit = unit_scale(unit_of(metric), values)
    name = label_of(metric)
    return div, f"{name} ({unit})" if unit else name


def plot_tornado(sweep: Sweep, path: Path) -> None:
    from .style import plt
    from matplotlib.ticker import MaxNLocator

    main = sweep.variants[0]
    metrics = [m for m in OUTCOMES if m in sweep.points[0].summary["variants"][main]["metrics"]]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.8 * len(metrics), 1.6 + 0.6 * len(sweep.inputs)),
                             squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        rows = []
        for name, levels in effects(sweep, metric):
            finite = [(v, m) for v, m in levels if np.isfinite(m)]
            if finite:
                rows.append((name, min(finite, key=lambda t: t[1]), max(finite, key=lambda t: t[1])))
        rows.sort(key=lambda r: r[2][1] - r[1][1])   # widest on top
        means = [p.summary["variants"][main]["metrics"][metric]["mean"] for p in sweep.points]
        means = [np.nan if m is None else m for m in means]
        scale, xlabel = _axis_scale(metric, means)
        centre = np.nanmean(means) / scale if np.isfinite(means).any() else 0.0
        ends = [e for _, lo, hi in rows for e in (lo[1] / scale, hi[1] / scale)] or [centre]
        span = max(ends) - min(ends) or abs(centre) * 0.1 or 1.0
        ax.set_xlim(min(ends) - 0.35 * span, max(ends) + 0.35 * span)
        for y, (name, lo, hi) in enumerate(rows):
            a, b = lo[1] / scale, hi[1] / scale
            if b > a:
                ax.barh(y, b - a, left=a, color="C0", alpha=0.75, height=0.6)
                ax.text(a, y, f"{lo[0]} ", ha="right", va="center", fontsize=8)
                ax.text(b, y, f" {hi[0]}", ha="left", va="center", fontsize=8)
            else:
                ax.plot([a], [y], "|", color="C0", ms=12)
                ax.text(a, y + 0.3, "no effect", ha="center", va="bottom", fontsize=8, color="0.4")
        ax.axvline(centre, color="k", lw=0.8, ls="--")
        ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=8)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.set_xlabel(xlabel)
        ax.set_title(f"{main}: {metric}", fontsize=9)
    fig.suptitle("Effect of each swept input: mean over the other inputs at its lowest and highest outcome "
                 "(labels: the input's value at each end; dashed: mean of all points)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_sweep(sweep: Sweep, out_root: str | Path) -> Path:

    def fill(tmp: Path) -> None:
        _write_table(sweep, tmp / "sweep.csv")
        for i, p in enumerate(sweep.points):
            folder = tmp / "points" / f"{i:03d}"
            folder.mkdir(parents=True)
            (folder / "summary.json").write_text(json.dumps({**p.summary, "inputs": p.values}, indent=2) + "\n")
            if p.samples:
                (folder / "samples.json").write_text(json.dumps(p.samples, indent=2) + "\n")
        (tmp / "sweep.json").write_text(json.dumps({
            "scenario": sweep.name, "seed": sweep.seed, "replicas": sweep.replicas, "backend": sweep.backend,
            "inputs": sweep.inputs, "points": [{"folder": f"points/{i:03d}", "inputs": p.values}
                                               for i, p in enumerate(sweep.points)],
            "effects": {m: {name: [{"value": v, "mean": None if not np.isfinite(x) else x} for v, x in levels]
                            for name, levels in effects(sweep, m)} for m in OUTCOMES}}, indent=2) + "\n")
        plot_tornado(sweep, tmp / "tornado.png")
        doc = sweep_document(sweep)
        (tmp / "report.md").write_text(doc.markdown())
        (tmp / "report.html").write_text(doc.html(tmp))

    return publish(out_root, sweep.name, fill)


def _write_table(sweep: Sweep, path: Path) -> None:
    """Long format: one row per point, variant (or difference) and metric."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["point", *sweep.inputs, "variant", "metric", "unit", "mean", "ci95_lo", "ci95_hi"])
        for i, p in enumerate(sweep.points):
            inputs = [p.values[k] for k in sweep.inputs]
            for variant, v in p.summary["variants"].items():
                for metric, m in v["metrics"].items():
                    w.writerow([i, *inputs, variant, metric, m["unit"], float_cell(m["mean"]), *map(float_cell, m["ci95"])])
            if "comparison" in p.summary:
                diff = " - ".join(sweep.variants)
                for metric, c in p.summary["comparison"].items():
                    w.writerow([i, *inputs, diff, metric, unit_of(metric), float_cell(c["delta"]), *map(float_cell, c["ci95"])])
