"""finance.xlsx: the money as a finance reader opens it (xlsxwriter).

Sheets: `Summary` (every money metric of each variant: mean and 95% interval, and the paired
difference with whether it is significant), one statement sheet per variant and company (line
items down, months across, a total; replica means), `Breakevens` and `Market paths` where the
run has them, and `Assumptions` (the resolved config's money inputs by YAML path). Amounts are
USD rounded to the cent, so a cell reads back as exactly that number (a workbook stores 16
significant digits, and cents of amounts under $10 trillion need at most 15); ratios and
shares are written as computed.
"""
from __future__ import annotations

import math
from pathlib import Path

from ..experiment.runner import Experiment
from ..experiment.stats import PATH_PERCENTILES, excludes_zero
from ..metrics import CATALOGUE, base_name, label_of, shown_in, unit_of
from ..money.finance import LINES

RATIO_LINES = {"dscr_ttm": "ratio", "loan_to_collateral": "ratio", "covenant_breach": "share of replicas",
               "defaulted": "share of replicas"}
MONEY = set(shown_in("money"))
ASSUMPTIONS = ("companies", "hosting_contracts", "merger", "market", "paths", "breakevens")


def _cents(x: float) -> float:
    return round(float(x), 2)


class _Book:
    """The workbook and its formats."""

    def __init__(self, path: Path):
        import xlsxwriter   # loaded only when writing
        self.wb = xlsxwriter.Workbook(str(path), {"nan_inf_to_errors": False})
        add = self.wb.add_format
        self.bold = add({"bold": True})
        self.head = add({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"})
        self.formats = {"USD": add({"num_format": '"$"#,##0.00;[Red]-"$"#,##0.00'}),
                        "ratio": add({"num_format": "0.000"}), "fraction": add({"num_format": "0.0%"}),
                        "probability": add({"num_format": "0.0%"}), "share of replicas": add({"num_format": "0.0%"}),
                        "": add({"num_format": "General"})}
        self.names: set[str] = set()

    def sheet(self, name: str):
        """A worksheet with a unique name of at most 31 characters (the format's limit)."""
        base = "".join(ch if ch not in "[]:*?/\\" else "_" for ch in name)[:31]
        out, k = base, 2
        while out.lower() in self.names:
            out = f"{base[:31 - len(str(k)) - 1]}~{k}"
            k += 1
        self.names.add(out.lower())
        return self.wb.add_worksheet(out)

    def number(self, ws, row: int, col: int, value, unit: str) -> None:
        """A number in its unit's format; money to the cent; nothing where there is no value."""
        if value is None or not math.isfinite(float(value)):
            return
        value = _cents(value) if unit == "USD" else float(value)
        ws.write_number(row, col, value, self.formats.get(unit, self.formats[""]))


def _ordered_metrics(names) -> list[str]:
    """Catalogue order, a metric's per-company rows after its total."""
    order = {m.name: i for i, m in enumerate(CATALOGUE)}
    return sorted(names, key=lambda n: (order.get(base_name(n), len(order)), n != base_name(n), n))


def _summary(book: _Book, exp: Experiment) -> None:
    ws = book.sheet("Summary")
    names = [v.name for v in exp.variants]
    summary = exp.summary
    ws.write(0, 0, f"{exp.name}: seed {exp.seed}, {exp.replicas} replicas; means with 95% intervals across replicas",
             book.bold)
    head = ["metric", "unit", "what"]
    for n in names:
        head += [f"{n} mean", f"{n} 95% low", f"{n} 95% high"]
    if len(names) == 2:
        head += [f"{names[0]} - {names[1]}", "95% low", "95% high", "significant"]
    ws.write_row(2, 0, head, book.head)
    money = [m for m in _ordered_metrics(set().union(*(summary["variants"][n]["metrics"] for n in names)))
             if base_name(m) in MONEY]
    for r, metric in enumerate(money, start=3):
        unit = unit_of(metric)
        ws.write_row(r, 0, [metric, unit, label_of(metric)])
        for i, n in enumerate(names):
            m = summary["variants"][n]["metrics"].get(metric)
            if m:
                for j, value in enumerate((m["mean"], *m["ci95"])):
                    book.number(ws, r, 3 + 3 * i + j, value, unit)
        c = summary.get("comparison", {}).get(metric)
        if len(names) == 2 and c:
            at = 3 + 3 * len(names)
            for j, value in enumerate((c["delta"], *c["ci95"])):
                book.number(ws, r, at + j, value, unit)
            ws.write(r, at + 3, "yes" if excludes_zero(c["ci95"]) else "no")
    ws.freeze_panes(3, 1)
    ws.set_column(0, 0, 34)
    ws.set_column(2, 2, 40)
    ws.set_column(3, 3 + 3 * len(names) + 3, 16)


def _statement(book: _Book, v, c: int, company: str) -> None:
    ws = book.sheet(f"{v.name} {company}" if len(v.name) + len(company) < 31 else f"{v.name[:15]} {company[:15]}")
    months = [f"{m:%Y-%m}" for m in v.account.month_starts]
    ws.write(0, 0, f"{company} in {v.name}: monthly statements, mean of {v.finance.lines[LINES[0]].shape[0]} "
                   f"replicas (conventions: sim/money/finance.py)", book.bold)
    ws.write_row(2, 0, ["line", "unit", *months, "total"], book.head)
    for r, line in enumerate(LINES, start=3):
        unit = RATIO_LINES.get(line, "USD")
        mean = v.finance.lines[line][:, c, :].mean(axis=0)
        ws.write_row(r, 0, [line, unit])
        for m, value in enumerate(mean.tolist()):
            book.number(ws, r, 2 + m, value, unit)
        if unit == "USD" and line not in ("debt_outstanding_usd", "gpu_secured_debt_usd", "collateral_value_usd",
                                           "cash_usd"):   # balances have no total
            book.number(ws, r, 2 + len(months), float(mean.sum()), unit)
    ws.freeze_panes(3, 2)
    ws.set_column(0, 0, 30)
    ws.set_column(2, 2 + len(months), 15)


def _breakevens(book: _Book, exp: Experiment) -> None:
    if not exp.breakevens:
        return
    ws = book.sheet("Breakevens")
    ws.write_row(0, 0, ["input (YAML path)", "metric", "configured", "breakeven", "searched from", "to",
                        "difference as configured"], book.head)
    for r, b in enumerate(exp.breakevens, start=1):
        ws.write_row(r, 0, [b.path, b.metric])
        for j, value in enumerate((b.configured, b.value, b.low, b.high)):
            book.number(ws, r, 2 + j, value, "")
        book.number(ws, r, 6, b.difference, unit_of(b.metric))
    ws.set_column(0, 1, 30)
    ws.set_column(2, 6, 18)


def _paths(book: _Book, exp: Experiment) -> None:
    paths = exp.summary.get("paths")
    if not paths:
        return
    ws = book.sheet("Market paths")
    ws.write(0, 0, f"{paths['count']:,} market paths over {paths['replicas']} engine replicas ({paths['given']})",
             book.bold)
    head = ["metric", "variant", "unit", "mean", "95% low", "95% high"]
    for q in PATH_PERCENTILES:
        head += [f"p{q}", f"p{q} 95% low", f"p{q} 95% high"]
    ws.write_row(2, 0, head, book.head)
    r = 3
    for variant, metrics in paths["variants"].items():
        for metric in _ordered_metrics(metrics):
            m, unit = metrics[metric], unit_of(metric)
            ws.write_row(r, 0, [metric, variant, unit])
            for j, value in enumerate((m["mean"], *m["ci95"])):
                book.number(ws, r, 3 + j, value, unit)
            for i, q in enumerate(PATH_PERCENTILES if "percentiles" in m else ()):
                p = m["percentiles"][f"p{q}"]
                for j, value in enumerate((p["value"], *p["ci95"])):
                    book.number(ws, r, 6 + 3 * i + j, value, unit)
            r += 1
    ws.freeze_panes(3, 1)
    ws.set_column(0, 0, 34)
    ws.set_column(3, 14, 16)


def _flatten(value, path: str):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _flatten(v, f"{path}[{i}]")
    else:
        yield path, value


def _assumptions(book: _Book, exp: Experiment) -> None:
    ws = book.sheet("Assumptions")
    ws.write(0, 0, "The money inputs of each variant's config as resolved (YAML path = value)", book.bold)
    ws.write_row(2, 0, ["variant", "YAML path", "value"], book.head)
    r = 3
    for v in exp.variants:
        raw = v.scenario.model_dump(mode="json", include=set(ASSUMPTIONS), exclude_none=True)
        for path, value in _flatten({k: raw[k] for k in ASSUMPTIONS if k in raw}, ""):
            ws.write_row(r, 0, [v.name, path])
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                ws.write_string(r, 2, str(value))
            else:
                ws.write_number(r, 2, float(value))
            r += 1
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 60)
    ws.set_column(2, 2, 20)


def write_workbook(exp: Experiment, path: Path) -> None:
    book = _Book(path)
    _summary(book, exp)
    for v in exp.variants:
        for c, company in enumerate(v.finance.companies):
            _statement(book, v, c, company)
    _breakevens(book, exp)
    _paths(book, exp)
    _assumptions(book, exp)
    book.wb.close()

