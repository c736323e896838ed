"""A packing experiment's results folder: every curve (allocation.csv), the medians over seeds
beside the published ones (medians.csv), packing.json, allocation.png and a report."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from .. import __version__
from ..experiment.packing import Fill
from .cells import float_cell
from .document import Document
from .results import publish

PERCENTS = range(0, 131)
SHOWN_AT = (90, 100, 110, 130)       # arrived workload (% of GPUs) of the summary table
LABELS = {"random": "Random", "first_fit": "First fit", "best_fit": "Best fit", "dot_product": "Dot product",
          "gpu_packing": "GPU packing", "gpu_clustering": "GPU clustering", "fgd": "FGD"}


def median_curves(curves: dict[int, np.ndarray]) -> np.ndarray:
    """The median over seeds at each arrived workload; NaN where no seed has a value (a bin that a
    large task jumped over), which is the answer there, not a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(np.vstack(list(curves.values())), axis=0)


def _cell(x: float) -> str:
    return "-" if np.isnan(x) else f"{x:.2f}"


def summary_rows(ours: dict[str, np.ndarray], published: dict[str, np.ndarray]) -> list[list[str]]:
    """Per rule: the median allocation at the SHOWN_AT arrivals, ours and published."""
    rows = []
    for rule in ours:
        row = [LABELS.get(rule, rule)]
        for p in SHOWN_AT:
            theirs = published.get(rule)
            row.append(_cell(ours[rule][p]) + ("" if theirs is None else f" ({_cell(theirs[p])})"))
        rows.append(row)
    return rows


def plot_allocation(ours: dict[str, np.ndarray], published: dict[str, np.ndarray], path: Path,
                    title: str) -> None:
    from .style import plt

    x = np.asarray(PERCENTS)
    fig, (full, tail) = plt.subplots(1, 2, figsize=(11, 4.6), gridspec_kw={"width_ratios": [1, 1.3]})
    for i, (rule, curve) in enumerate(ours.items()):
        color = f"C{i}"
        for ax in (full, tail):
            ax.plot(x, curve, color=color, lw=1.8, label=f"{LABELS.get(rule, rule)} (fleetsim)")
            if rule in published:
                ax.plot(x, published[rule], color=color, lw=1.2, ls="--",
                        label=f"{LABELS.get(rule, rule)} (published)")
    full.plot(x, np.minimum(x, 100), color="0.6", lw=0.8, ls=":", label="everything placed")
    full.set_xlim(0, 130)
    full.set_ylim(0, 100)
    tail.set_xlim(80, 130)
    tail.set_ylim(80, 100)
    tail.set_title("80-130 % arrived, enlarged", fontsize=10)
    for ax in (full, tail):
        ax.set_xlabel("GPU requested by arrived tasks (% of the cluster's GPUs)")
        ax.grid(alpha=0.3)
    full.set_ylabel("GPU allocated (% of the cluster's GPUs)")
    tail.legend(fontsize=7, loc="lower right", ncol=2)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def packing_document(meta: dict, ours, published) -> Document:
    doc = Document(f"Packing {Path(meta['pods']).name} onto {Path(meta['nodes']).name}")
    doc.para(f"Tasks arrive in a random order until they ask for {meta['inflation']:g} times the cluster's "
             f"{meta['gpus']:,} GPUs; none leaves, and a task that fits no node is left out. Each curve is the "
             f"median over {len(meta['seeds'])} seeds ({', '.join(map(str, meta['seeds']))}) of the GPU "
             f"allocated at each arrived workload.")
    heads = ["rule", *(f"allocated at {p} % arrived" for p in SHOWN_AT)]
    doc.table(heads, summary_rows(ours, published))
    if published:
        doc.para(f"In parentheses: the published medians ({meta['published']}).")
    doc.figure("allocation.png", "GPU allocated against GPU requested by the arrived tasks, median over seeds; "
                                 "dashed: published.")
    return doc


def curves_by_rule(fills: list[Fill]) -> dict[str, dict[int, np.ndarray]]:
    by_rule: dict[str, dict[int, np.ndarray]] = {}
    for f in fills:
        by_rule.setdefault(f.rule, {})[f.seed] = f.curve(PERCENTS)
    return by_rule


def write_packing(fills: list[Fill], meta: dict, published: dict[str, dict[int, np.ndarray]],
                  out_root: str | Path, name: str = "packing") -> Path:
    by_rule = curves_by_rule(fills)
    ours = {rule: median_curves(c) for rule, c in by_rule.items()}
    theirs = {rule: median_curves(c) for rule, c in published.items()}

    def fill(tmp: Path) -> None:
        with open(tmp / "allocation.csv", "w") as out:
            out.write("rule,seed,arrived_pct,allocated_pct\n")
            for rule, curves in by_rule.items():
                for seed, curve in curves.items():
                    for p, v in zip(PERCENTS, curve):
                        if not np.isnan(v):
                            out.write(f"{rule},{seed},{p},{float_cell(v)}\n")
        with open(tmp / "medians.csv", "w") as out:
            out.write("rule,arrived_pct,allocated_pct_median,published_median\n")
            for rule, curve in ours.items():
                other = theirs.get(rule, np.full(len(PERCENTS), np.nan))
                for p, v, w in zip(PERCENTS, curve, other):
                    out.write(f"{rule},{p},{'' if np.isnan(v) else float_cell(v)},"
                              f"{'' if np.isnan(w) else float_cell(w)}\n")
        result = {rule: {str(p): None if np.isnan(c[p]) else float(c[p]) for p in SHOWN_AT}
                  for rule, c in ours.items()}
        (tmp / "packing.json").write_text(json.dumps({
            "fleetsim": __version__, **meta, "median_allocated_pct": result,
            "published_median_allocated_pct": {rule: {str(p): None if np.isnan(c[p]) else float(c[p])
                                                      for p in SHOWN_AT} for rule, c in theirs.items()},
            "placed": {f"{f.rule}/{f.seed}": int(f.placed.sum()) for f in fills},
            "arrived": {f"{f.rule}/{f.seed}": int(f.placed.size) for f in fills}}, indent=2) + "\n")
        plot_allocation(ours, theirs, tmp / "allocation.png",
                        f"{Path(meta['pods']).name} on {Path(meta['nodes']).name}: median of {len(meta['seeds'])} seeds")
        doc = packing_document(meta, ours, theirs)
        (tmp / "report.md").write_text(doc.markdown())
        (tmp / "report.html").write_text(doc.html(tmp))

    return publish(out_root, name, fill)
