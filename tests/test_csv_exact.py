"""Every CSV reads back bit for bit: jobs.csv, timeseries.csv and finance.csv, read with the
csv module, equal the engine's and the statements' arrays exactly; float columns are always
written as floats (a decimal point or an exponent), integer columns as integers."""
from __future__ import annotations

import csv
import datetime as dt
import math
import re
from pathlib import Path

import numpy as np
import pytest

from sim import api
from sim.engine.records import JobTable
from sim.metering.jobstats import censored_wait_h
from sim.money.finance import LINES
from sim.output.cells import float_cell, float_cells

ROOT = Path(__file__).resolve().parents[1]
FLOAT = re.compile(r"^(-?(\d+\.\d*(e[-+]\d+)?|\d+e[-+]\d+|inf)|)$")
INT = re.compile(r"^-?\d+$")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    exp = api.run(ROOT / "configs" / "examples" / "horizontal_merger.yaml", replicas=2, out=out)
    return exp, out / exp.name


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def same(text: str, value: float) -> bool:
    """The cell is the value, bit for bit (an empty cell is a missing value)."""
    if text == "":
        return math.isnan(value)
    return np.float64(float(text)).tobytes() == np.float64(value).tobytes()


def test_cells_round_trip_awkward_floats():
    values = np.array([0.0, -0.0, 1.0, 0.1 + 0.2, 1 / 3, 2.10911e8 + 0.37, 1e-300, 5e-324, 1e300, 12 * 8760.0 - 1e-9,
                       math.inf, -math.inf, math.nan])
    cells = float_cells(values)
    assert all(FLOAT.match(c) for c in cells), cells
    assert all(same(c, v) for c, v in zip(cells, values))
    assert float_cell(None) == "" and float_cell(3) == "3.0"


def test_jobs_csv_reads_back_exactly(written):
    exp, folder = written
    table = rows(folder / "jobs.csv")
    assert table, "no jobs written"
    for v in exp.variants:
        mine = [r for r in table if r["variant"] == v.name]
        j = v.runs[0].jobs
        assert len(mine) == j["submit_h"].size
        wait = np.where(j["state"] == JobTable.REJECTED, np.nan, censored_wait_h(j, v.scenario.horizon_h))
        for r in mine:
            k = int(r["job"])
            for col, values in (("submit_h", j["submit_h"]), ("start_h", j["start_h"]), ("end_h", j["end_h"]),
                                ("wait_h", wait)):
                assert FLOAT.match(r[col]), (col, r[col])
                assert same(r[col], values[k]), (col, r[col], values[k])
            for col in ("gpus", "preemptions", "restarts"):
                assert INT.match(r[col]) and int(r[col]) == j[col][k], (col, r[col])


def test_timeseries_csv_reads_back_exactly(written):
    exp, folder = written
    table = rows(folder / "timeseries.csv")
    by_variant = {v.name: v for v in exp.variants}
    cols = ("gpus_online", "gpus_allocated", "it_power_mw", "facility_power_mw", "energy_cost_usd", "carbon_t")
    assert len(table) == sum(len(v.scenario.sites) * v.account.daily["gpus_online"].shape[1] for v in exp.variants)
    for r in table:
        v = by_variant[r["variant"]]
        i = [s.name for s in v.scenario.sites].index(r["site"])
        day = (dt.date.fromisoformat(r["date"]) - v.scenario.start).days
        d = v.account.daily
        for col in cols:
            assert FLOAT.match(r[col]), (col, r[col])
            assert same(r[col], d[col][i, day]), (col, r[col], d[col][i, day])
        online, alloc = d["gpus_online"][i, day], d["gpus_allocated"][i, day]
        assert same(r["utilization"], alloc / online if online > 0 else math.nan)


def test_finance_csv_reads_back_exactly(written):
    exp, folder = written
    table = rows(folder / "finance.csv")
    by_variant = {v.name: v for v in exp.variants}
    assert list(table[0]) == ["variant", "company", "month", *LINES]
    for r in table:
        v = by_variant[r["variant"]]
        c = v.finance.companies.index(r["company"])
        m = [month.strftime("%Y-%m") for month in v.account.month_starts].index(r["month"])
        for line in LINES:
            assert FLOAT.match(r[line]), (line, r[line])
            assert same(r[line], v.finance.lines[line].mean(axis=0)[c, m]), (line, r[line])


def test_summary_money_adds_up_to_the_cent_from_finance_csv(written):
    """What the spreadsheet sums is what summary.json says (6-digit cells lost dollars)."""
    exp, folder = written
    table = rows(folder / "finance.csv")
    for v in exp.variants:
        total = sum(float(r["ebitda_usd"]) for r in table if r["variant"] == v.name)
        assert total == pytest.approx(float(np.mean(v.metrics["ebitda_usd"])), abs=0.01)


def test_parquet_tables_hold_every_replica_bit_for_bit(written):
    import pyarrow.parquet as pq
    exp, folder = written
    jobs = pq.read_table(folder / "jobs.parquet").to_pydict()
    n_rows = 0
    for v in exp.variants:
        for k, run in enumerate(v.runs):
            mine = [i for i, (name, r) in enumerate(zip(jobs["variant"], jobs["replica"])) if name == v.name and r == k]
            j = run.jobs
            assert len(mine) == j["submit_h"].size
            n_rows += len(mine)
            for col in ("submit_h", "start_h", "end_h"):
                got = np.array([jobs[col][i] if jobs[col][i] is not None else math.nan for i in mine])
                assert got.tobytes() == j[col].tobytes(), (v.name, k, col)
            assert [jobs["gpus"][i] for i in mine] == j["gpus"].tolist()
    assert n_rows == len(jobs["job"]) and len(exp.variants[0].runs) == 2
    finance = pq.read_table(folder / "finance.parquet")
    assert finance.schema.field("month").type.id == __import__("pyarrow").date32().id
    f = finance.to_pydict()
    for v in exp.variants:
        for line in LINES:
            got = np.array([x for x, name in zip(f[line], f["variant"]) if name == v.name])
            assert got.tobytes() == v.finance.lines[line].ravel().tobytes(), line
    metrics = pq.read_table(folder / "metrics.parquet").to_pydict()
    for v in exp.variants:
        for name, values in v.metrics.items():
            got = [x for x, vn, m in zip(metrics["value"], metrics["variant"], metrics["metric"])
                   if vn == v.name and m == name]
            assert np.array(got, dtype=np.float64).tobytes() == np.asarray(values, dtype=np.float64).tobytes()


def test_timeseries_parquet_is_timeseries_csv_typed(written):
    import pyarrow.parquet as pq
    _, folder = written
    table = pq.read_table(folder / "timeseries.parquet").to_pydict()
    rows_ = rows(folder / "timeseries.csv")
    assert list(table) == list(rows_[0])
    for k, r in enumerate(rows_):
        for col in list(r)[3:]:
            assert same(r[col], table[col][k]), (k, col)
