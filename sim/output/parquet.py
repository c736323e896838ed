"""The results as typed Parquet tables (pyarrow): every replica, with `variant` and `replica`
columns, numbers in their own types (so they read back bit for bit), names dictionary-encoded.

- `jobs.parquet`: one row per job of every replica and variant (jobs.csv holds replica 0 only).
- `finance.parquet`: monthly lines per variant, replica and company.
- `timeseries.parquet`: daily rows per variant and site, replica means (as timeseries.csv: the
  accounting keeps daily series as means across replicas).
- `metrics.parquet`: tidy, one row per variant, replica and metric, with its unit.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from ..engine.records import JobTable
from ..experiment.runner import Experiment
from ..metering.jobstats import censored_wait_h
from ..metrics import unit_of
from ..money.finance import LINES



def write_parquet(exp: Experiment, folder: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def names(values) -> pa.Array:
        return pa.array(np.asarray(values, dtype=object)).dictionary_encode()

    def coded(codes: np.ndarray, dictionary) -> pa.Array:
        """Names of a million rows as codes into a few names, without a Python object per row."""
        return pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, dtype=np.int32)),
                                              pa.array(list(dictionary), pa.string()))

    def write(table: dict, path: Path) -> None:
        pq.write_table(pa.table(table), path, compression="zstd")

    jobs = []
    for v in exp.variants:
        s = v.scenario
        tenants = [t.name for t in s.tenants] or [""]
        sites = [x.name for x in s.sites] + [""]   # code -1 (no site) is the last, ""
        classes = ["", *(c.name for c in s.scheduler.classes)]   # ranks start at 1
        for k, run in enumerate(v.runs):
            j, n = run.jobs, run.jobs["submit_h"].size
            wait = np.where(j["state"] == JobTable.REJECTED, np.nan, censored_wait_h(j, s.horizon_h))
            jobs.append(pa.table({
                "variant": coded(np.zeros(n), [v.name]), "replica": pa.array(np.full(n, k, np.int32)),
                "job": pa.array(np.arange(n, dtype=np.int64)), "tenant": coded(j["tenant"], tenants),
                "gpus": pa.array(j["gpus"]), "gpu_share": pa.array(j["gpu_share"]), "submit_h": pa.array(j["submit_h"]), "start_h": pa.array(j["start_h"]),
                "end_h": pa.array(j["end_h"]), "wait_h": pa.array(wait),
                "site": coded(np.where(j["site"] < 0, len(sites) - 1, j["site"]), sites),
                "state": coded(j["state"], JobTable.STATE_NAMES), "preemptions": pa.array(j["preemptions"]),
                "restarts": pa.array(j["restarts"]), "tier": coded(j["tier"], classes)}))
    if jobs:
        pq.write_table(pa.concat_tables(jobs, promote_options="permissive"), folder / "jobs.parquet",
                       compression="zstd")

    finance: dict[str, list] = {"variant": [], "replica": [], "company": [], "month": [],
                                **{line: [] for line in LINES}}
    for v in exp.variants:
        R, C, M = v.finance.lines[LINES[0]].shape
        months = [dt.date(m.year, m.month, 1) for m in v.account.month_starts]
        r, c, m = (a.ravel() for a in np.meshgrid(np.arange(R), np.arange(C), np.arange(M), indexing="ij"))
        finance["variant"] += [v.name] * r.size
        finance["replica"].append(r.astype(np.int32))
        finance["company"] += np.asarray(v.finance.companies, dtype=object)[c].tolist()
        finance["month"] += [months[i] for i in m.tolist()]
        for line in LINES:
            finance[line].append(v.finance.lines[line].ravel())
    write({"variant": names(finance["variant"]), "replica": pa.array(np.concatenate(finance["replica"])),
           "company": names(finance["company"]), "month": pa.array(finance["month"], pa.date32()),
           **{line: pa.array(np.concatenate(finance[line])) for line in LINES}}, folder / "finance.parquet")

    series: dict[str, list] = {"variant": [], "site": [], "date": []}
    columns = ("gpus_online", "gpus_allocated", "utilization", "it_power_mw", "facility_power_mw", "energy_cost_usd",
               "carbon_t")   # as timeseries.csv
    values: dict[str, list] = {c: [] for c in columns}
    for v in exp.variants:
        d = v.account.daily
        days = d["gpus_online"].shape[1]
        for i, site in enumerate(v.scenario.sites):
            series["variant"] += [v.name] * days
            series["site"] += [site.name] * days
            series["date"] += [v.scenario.start + dt.timedelta(days=day) for day in range(days)]
            online, alloc = d["gpus_online"][i], d["gpus_allocated"][i]
            for c in columns:
                values[c].append(np.divide(alloc, online, out=np.full(days, np.nan), where=online > 0)
                                 if c == "utilization" else d[c][i])
    write({"variant": names(series["variant"]), "site": names(series["site"]),
           "date": pa.array(series["date"], pa.date32()),
           **{c: pa.array(np.concatenate(values[c]) if values[c] else np.zeros(0)) for c in columns}},
          folder / "timeseries.parquet")

    tidy: dict[str, list] = {"variant": [], "replica": [], "metric": [], "unit": [], "value": []}
    for v in exp.variants:
        for name in sorted(v.metrics):
            x = np.asarray(v.metrics[name], dtype=np.float64)
            tidy["variant"] += [v.name] * x.size
            tidy["replica"].append(np.arange(x.size, dtype=np.int32))
            tidy["metric"] += [name] * x.size
            tidy["unit"] += [unit_of(name)] * x.size
            tidy["value"].append(x)
    write({"variant": names(tidy["variant"]), "replica": pa.array(np.concatenate(tidy["replica"])),
           "metric": names(tidy["metric"]), "unit": names(tidy["unit"]),
           "value": pa.array(np.concatenate(tidy["value"]))}, folder / "metrics.parquet")
