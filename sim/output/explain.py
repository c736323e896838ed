"""Why a paired difference is exactly zero: metrics equal in every replica of both variants
are named once, with what the variants share and where their configs differ, so a reader
does not take a zero for a broken model (terminal and report)."""
from __future__ import annotations

import numpy as np

from ..experiment.runner import Experiment
from ..metrics import shown_in

HEADLINE = shown_in("headline")
MONEY = set(shown_in("money"))
SKIPPED = ("scenario", "baseline", "seed", "replicas")


def identical_metrics(exp: Experiment) -> list[str]:
    """Headline metrics with the same value in every replica of both variants."""
    a, b = exp.variants
    same = []
    for name in HEADLINE:
        x, y = a.metrics.get(name), b.metrics.get(name)
        if x is not None and y is not None and np.array_equal(x, y, equal_nan=True):
            same.append(name)
    return same


def differing_sections(exp: Experiment) -> list[str]:
    """Top-level config sections whose values differ between the variants (as each replica
    0 runs them: the plans' GPUs and tenants included)."""
    a, b = (v.scenario.model_dump(mode="json") for v in exp.variants)
    return [k for k in a if k not in SKIPPED and a.get(k) != b.get(k)]


def identical_note(exp: Experiment) -> str | None:
    if len(exp.variants) != 2:
        return None
    same = identical_metrics(exp)
    if not same:
        return None
    money = [m for m in same if m in MONEY]
    operations = [m for m in same if m not in MONEY]
    differ = differing_sections(exp)
    where = f"the variants differ in {', '.join(differ)}" if differ else "the variants' configs are the same"
    parts = []
    if operations:
        jobs = [t.name for t in exp.variants[0].scenario.tenants if t.workload is not None]
        whose = f"the jobs of {', '.join(jobs)}" if jobs else "what produces them"
        parts.append(f"{', '.join(operations)}: {whose} met the same GPUs, schedulers and random draws in both")
    if money:
        parts.append(f"{', '.join(money)}: every replica came out alike in both (a 0-or-1 event, or none)")
    return (f"identical in every replica of both variants, exactly (not a rounding): {'; '.join(parts)}. "
            f"{where[0].upper() + where[1:]}, which changes other parts of the model.")
