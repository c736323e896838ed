"""Replicas in groups: those that share a scenario go through the meters and the books
together; their per-replica results are put back in replica order."""
from __future__ import annotations

import dataclasses

import numpy as np

from ..config.schema import Scenario
from ..metering.accounting import VariantAccount
from ..money.finance import Statements, contract_lines, statements


def _stack(parts, get, n: int) -> dict[str, np.ndarray]:
    """Per-replica arrays of every part, put back in replica order."""
    out = {}
    for name in dict.fromkeys(name for _, obj in parts for name in get(obj)):
        first = next(get(obj)[name] for _, obj in parts if name in get(obj))
        whole = np.full((n, *first.shape[1:]), np.nan, dtype=np.result_type(first.dtype, np.float64))
        for idx, obj in parts:
            if name in get(obj):
                whole[idx] = get(obj)[name]
        out[name] = whole
    return out


def merge_accounts(parts, n: int) -> VariantAccount:
    """One account from groups of replicas accounted separately (uncertain inputs, drawn
    demand): per-replica arrays in replica order; replica means weighted by group size."""
    if len(parts) == 1:
        return parts[0][1]
    weights = [len(idx) / n for idx, _ in parts]
    fields = {}
    for f in dataclasses.fields(VariantAccount):
        values = [getattr(acct, f.name) for _, acct in parts]
        if f.name == "by_deployment":   # each group's own deployments: kept in the groups only
            fields[f.name] = {}
        elif f.name in ("daily", "offered_load"):   # replica means
            keys = dict.fromkeys(k for v in values for k in v)
            fields[f.name] = {k: sum(w * v.get(k, 0.0) for w, v in zip(weights, values)) for k in keys}
        elif isinstance(values[0], dict):
            fields[f.name] = _stack(parts, lambda a: getattr(a, f.name), n)
        else:
            fields[f.name] = values[0]
    return VariantAccount(**fields)


def books(scenarios: list[Scenario], accounts, runs, contracts: dict | None = None) -> Statements:
    """Statements of every group of replicas that share a scenario (bills follow each
    replica's delivery delays), put back in replica order. `contracts`: a cache of each
    group's contract lines (by its first replica), filled on first use, for callers that vary
    money terms only."""
    parts = []
    for idx, acct in accounts:
        s, group = scenarios[idx[0]], [runs[k] for k in idx]
        lines = None
        if contracts is not None:
            lines = contracts.get(idx[0])
            if lines is None:
                lines = contracts[idx[0]] = contract_lines(s, acct, group)
        parts.append((idx, statements(s, acct, group, lines)))
    if len(parts) == 1:
        return parts[0][1]
    n = len(runs)
    return Statements(parts[0][1].companies, _stack(parts, lambda s: s.lines, n), _stack(parts, lambda s: s.metrics, n))
