"""Replicas in groups: those that share a scenario go through the meters and the books
together; their per-replica results are put back in replica order."""
from __future__ import annotations

import dataclasses

import numpy as np

from ..config.schema import Scenario
from ..metering.accounting import VariantAccount
from kernels.debt import run_debt as kernel_debt

from ..money.debt import debt_terms, loan_schedules
from ..money.finance import Statements, contract_lines, lines_before_debt, statements_after_debt


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
    replica's delivery delays), put back in replica order; the debt of every replica runs in
    one kernel call, each replica with its group's loans. `contracts`: a cache of each group's
    contract lines (by its first replica), filled on first use, for callers that vary money
    terms only."""
    parts = []
    for idx, acct in accounts:
        s, group = scenarios[idx[0]], [runs[k] for k in idx]
        lines = None
        if contracts is not None:
            lines = contracts.get(idx[0])
            if lines is None:
                lines = contracts[idx[0]] = contract_lines(s, acct, group)
        g, L = lines_before_debt(s, acct, group, lines)
        parts.append((idx, s, g, L, debt_terms(s, g, loan_schedules(s, acct.month_starts[0], g))))
    n = len(runs)
    L = parts[0][3] if len(parts) == 1 else _stack([(idx, L) for idx, _, _, L, _ in parts], lambda x: x, n)
    terms = dict(parts[0][4])
    terms["schedule"] = {k: np.zeros((n, *a.shape)) for k, a in terms["schedule"].items()}
    for idx, *_, part in parts:
        for k, a in part["schedule"].items():
            terms["schedule"][k][idx] = a
    L.update(kernel_debt(L["fcf_usd"], L["ebitda_usd"] + L["integration_cost_usd"], L["collateral_value_usd"],
                         **terms))
    done = [(idx, statements_after_debt(s, g, {k: v[idx] for k, v in L.items()})) for idx, s, g, _, _ in parts]
    if len(done) == 1:
        return done[0][1]
    return Statements(parts[0][2].companies, _stack(done, lambda st: st.lines, n),
                      _stack(done, lambda st: st.metrics, n))
