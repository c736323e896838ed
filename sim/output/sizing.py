"""A sizing's results folder: the explored curve (sizing.csv, sizing.json, sizing.png) and its report."""
from __future__ import annotations

import json
from pathlib import Path

from ..experiment.sizing import SITE_MW, Sizing
from .cells import float_cell
from .document import Document
from .results import publish
from .tables import interval


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
                 f"**{result.answer:.6g}**{fleet}: there `{t.metric}` is {interval(best.stats, t.unit)} "
                 f"{t.unit}, and the whole 95% interval of its mean is on the right side of {t.value:g}.")
    doc.para(f"Found by bisection over {len(result.probes)} values, {result.replicas} replicas each, seed "
             f"{result.seed}; every value sees the same random demand (common random numbers), so the curve "
             f"is smooth in the input. It assumes that more of the input never makes `{t.metric}` worse.")
    fleet = any(p.fleet for p in result.probes)
    doc.table([f"`{result.vary}`", *(["fleet at the site"] if fleet else []), f"`{t.metric}` ({t.unit}) [95% CI]",
               "meets the target"],
              [[f"{p.value:.6g}", *([p.fleet] if fleet else []), interval(p.stats, t.unit),
                "**yes**" if p.met else "no"] for p in sorted(result.probes, key=lambda p: p.value)])
    doc.figure("sizing.png", f"{t.metric} against {result.vary}: means with 95% confidence intervals at every "
                             f"value the search explored, and the target.")
    return doc


def plot_sizing(result: Sizing, path: Path) -> None:
    from .style import plt
    import numpy as np

    probes = sorted((p for p in result.probes if p.stats["mean"] is not None), key=lambda p: p.value)
    fig, ax = plt.subplots(figsize=(8, 4.8))
    x = np.array([p.value for p in probes])
    mean = np.array([p.stats["mean"] for p in probes])
    lo = np.array([np.nan if p.stats["ci95"][0] is None else p.stats["ci95"][0] for p in probes])
    hi = np.array([np.nan if p.stats["ci95"][1] is None else p.stats["ci95"][1] for p in probes])
    ax.plot(x, mean, "o-", color="C0", label=f"{result.target.metric}: mean over {result.replicas} replicas")
    ax.fill_between(x, lo, hi, color="C0", alpha=0.2, label="95% confidence interval")
    met = np.array([p.met for p in probes])
    ax.plot(x[met], mean[met], "o", color="C2", label="meets the target")
    ax.axhline(result.target.value, color="C3", ls="--", label=f"target {result.target.text}")
    if result.answer is not None:
        ax.axvline(result.answer, color="k", lw=0.8, ls=":", label=f"answer: {result.answer:g}")
    unit = result.target.unit
    ax.set_xlabel(f"{result.vary}" + (" (MW)" if SITE_MW.match(result.vary) else ""))
    ax.set_ylabel(f"{result.target.metric}" + (f" ({unit})" if unit else ""))
    if len(x) and x.min() > 0 and x.max() / x.min() > 50:
        ax.set_xscale("log")
    ax.set_title(f"Sizing {result.vary} for {result.target.text} with 95% confidence")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_sizing(result: Sizing, out_root: str | Path) -> Path:

    def fill(tmp: Path) -> None:
        rows = sorted(result.probes, key=lambda p: p.value)
        with open(tmp / "sizing.csv", "w") as f:
            f.write(f"value,{result.target.metric}_mean,ci95_lo,ci95_hi,meets_target,fleet\n")
            for p in rows:
                f.write(f"{float_cell(p.value)},{float_cell(p.stats['mean'])},{float_cell(p.stats['ci95'][0])},"
                        f"{float_cell(p.stats['ci95'][1])},{str(p.met).lower()},{p.fleet}\n")
        (tmp / "sizing.json").write_text(json.dumps({
            "scenario": result.name, "vary": result.vary, "target": result.target.text, "seed": result.seed,
            "replicas": result.replicas, "answer": result.answer, "searched_up_to": result.limit,
            "probes": [{"value": p.value, **p.stats, "meets_target": p.met, "fleet": p.fleet} for p in rows]},
            indent=2) + "\n")
        plot_sizing(result, tmp / "sizing.png")
        doc = sizing_document(result)
        (tmp / "report.md").write_text(doc.markdown())
        (tmp / "report.html").write_text(doc.html(tmp))

    return publish(out_root, f"{result.name}-sizing", fill)
