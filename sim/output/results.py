"""Write an experiment to OUT/<scenario>/: built in a hidden temporary folder
beside it and renamed into place only when complete, so a reader never sees a
half-written result and an interrupted run leaves the old result intact.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import platform
import shutil
import signal
import threading
from pathlib import Path

import numpy as np

from .. import __version__
from ..engine.records import JobTable
from ..errors import ConfigError, OutputError
from ..experiment.cache import pid_alive
from ..experiment.runner import Experiment
from ..metering.jobstats import censored_wait_h
from ..money.finance import LINES
from ..plan.signings import lost_by_month
from .cells import float_cell, float_cells
from .parquet import write_parquet
from .paths import write_paths
from .workbook import write_workbook


def write_results(exp: Experiment, out_root: str | Path) -> Path:
    from .report import write_report  # matplotlib loads only when writing

    def fill(tmp: Path) -> None:
        (tmp / "summary.json").write_text(json.dumps(exp.summary, indent=2) + "\n")
        (tmp / "run.json").write_text(json.dumps(_run_metadata(exp), indent=2, default=str) + "\n")
        _write_timeseries(exp, tmp / "timeseries.csv")
        _write_jobs(exp, tmp / "jobs.csv")
        _write_finance(exp, tmp / "finance.csv")
        write_workbook(exp, tmp / "finance.xlsx")
        write_samples(exp, tmp / "samples.csv")
        write_replicas(exp, tmp / "replicas.csv")
        write_lost_demand(exp, tmp / "lost_demand.csv")
        write_paths(exp, tmp)
        write_parquet(exp, tmp)
        write_report(exp, tmp)

    return publish(out_root, exp.name, fill)


MARKERS = ("run.json", "sweep.json", "sizing.json", "packing.json")   # what every folder we publish holds


def check_replaceable(out_root: str | Path, name: str) -> None:
    """Refuse (ConfigError) to replace OUT/<name> unless one of our runs wrote it: a folder the
    user made, or anything that is not a folder, is never renamed aside or deleted."""
    final = Path(out_root) / name
    if not final.exists() and not final.is_symlink():
        return
    if final.is_dir() and not final.is_symlink():
        for marker in MARKERS:
            try:
                meta = json.loads((final / marker).read_text())
            except (OSError, ValueError):
                continue
            if isinstance(meta, dict) and ("fleetsim" in meta or "scenario" in meta):
                return
    raise ConfigError(f"--out: {final} exists and no fleetsim run wrote it (no {', '.join(MARKERS)}); "
                      f"move it, or choose another --out")


def publish(out_root: str | Path, name: str, fill) -> Path:
    """Build OUT/<name>/ with fill(folder) in a hidden temporary folder beside it, then swap it
    into place. Any failure or Ctrl-C while building removes the temporary folder (a Ctrl-C that
    a library swallowed too); Ctrl-C is held back during the swap itself, so the result is
    always the old one or the new one. Only
    a folder an earlier run published is replaced (`check_replaceable`)."""
    check_replaceable(out_root, name)
    out_root = Path(out_root)
    final = out_root / name
    tmp = out_root / f".{name}.tmp-{os.getpid()}"
    old = out_root / f".{name}.old-{os.getpid()}"
    try:
        out_root.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(out_root, name)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        try:
            with _Interrupts() as interrupts:
                fill(tmp)
                interrupts.check()   # one a library swallowed while writing still ends the run here
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        with _sigint_held():
            if final.exists():
                final.rename(old)
            tmp.rename(final)
    except OSError as exc:   # a full disk, a folder that refuses files: say which, in one line
        if old.exists() and not final.exists():
            old.rename(final)   # the swap failed halfway: the earlier results go back
        shutil.rmtree(tmp, ignore_errors=True)
        where = str(exc.filename or out_root).replace(str(tmp), str(final))
        raise OutputError(f"cannot write {where}: {exc.strerror or exc}; {final} is as it was before") from None
    shutil.rmtree(old, ignore_errors=True)
    return final


class _Interrupts:
    """Ctrl-C while results are written: raised at once, as Python does, and also remembered,
    so that one a library callback swallows (a matplotlib or finalizer callback prints it and
    goes on) still ends the run at the next safe point, before anything is swapped into place."""

    def __enter__(self):
        self.seen = False
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        self.seen = True
        raise KeyboardInterrupt

    def check(self) -> None:
        if self.seen:
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


@contextlib.contextmanager
def _sigint_held():
    """Delay Ctrl-C until the block is done (where the platform allows it)."""
    can = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    if can:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if can:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _remove_leftovers(out_root: Path, name: str) -> None:
    """Temporary folders of earlier runs that were killed (their process is gone)."""
    for p in out_root.glob(f".{name}.*-*"):
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


def write_samples(exp: Experiment, path: Path) -> None:
    """Each replica's draws of the uncertain inputs: one row per variant and replica, one
    column per input (nothing written when there are none)."""
    if not any(v.samples for v in exp.variants):
        return
    inputs = list(dict.fromkeys(name for v in exp.variants for name in v.samples))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "replica", *inputs])
        for v in exp.variants:
            for k in range(exp.replicas):
                values = [v.samples[name][k] if name in v.samples else "" for name in inputs]
                w.writerow([v.name, k, *(float_cell(x) if isinstance(x, float) else x for x in values)])


def write_replicas(exp: Experiment, path: Path) -> None:
    """Every metric of every replica (tidy: variant, replica, seed, metric, value), so each
    interval of summary.json can be checked from the values it summarizes."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "replica", "seed", "metric", "value"])
        for v in exp.variants:
            for name in sorted(v.metrics):
                for k, value in enumerate(float_cells(v.metrics[name])):
                    w.writerow([v.name, k, exp.seed, name, value])


def write_lost_demand(exp: Experiment, path: Path) -> None:
    """Demand not served, by variant, replica, tenant and month (nothing written when no
    variant draws demand beyond its backlog): conventions in sim/plan/signings.py."""
    if not any("lost_contracts" in v.metrics for v in exp.variants):
        return
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "replica", "tenant", "month", "contracts_lost", "gpu_hours", "revenue_usd"])
        for v in exp.variants:
            s0 = v.scenario
            edges = np.array([max(0.0, s0.hours_from_start(m)) for m in v.account.month_starts] + [s0.horizon_h])
            for k, s in enumerate(v.scenarios):
                for tenant, m, contracts, gpu_h, usd in lost_by_month(s, edges):
                    w.writerow([v.name, k, tenant, f"{v.account.month_starts[m]:%Y-%m}", contracts, float_cell(gpu_h),
                                float_cell(usd)])


def _run_metadata(exp: Experiment) -> dict:
    import simpy
    return {
        "fleetsim": __version__, "python": platform.python_version(), "numpy": np.__version__,
        "simpy": simpy.__version__, "seed": exp.seed, "replicas": exp.replicas, "backend": exp.backend,
        "configs": {v.name: v.scenario.model_dump(mode="json") for v in exp.variants},
    }


def _write_timeseries(exp: Experiment, path: Path) -> None:
    """Daily rows per variant and site, replica means."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "site", "date", "gpus_online", "gpus_allocated", "utilization", "it_power_mw",
                    "facility_power_mw", "energy_cost_usd", "carbon_t"])
        for v in exp.variants:
            d = v.account.daily
            for i, site in enumerate(v.scenario.sites):
                for day in range(d["gpus_online"].shape[1]):
                    online = d["gpus_online"][i, day]
                    alloc = d["gpus_allocated"][i, day]
                    w.writerow([v.name, site.name, v.scenario.start + dt.timedelta(days=day), float_cell(online),
                                float_cell(alloc), float_cell(alloc / online if online > 0 else np.nan),
                                float_cell(d["it_power_mw"][i, day]), float_cell(d["facility_power_mw"][i, day]),
                                float_cell(d["energy_cost_usd"][i, day]), float_cell(d["carbon_t"][i, day])])


def _write_jobs(exp: Experiment, path: Path) -> None:
    """One row per job of replica 0 per variant; waits of still-queued jobs are censored
    at the horizon (state says so); rejected jobs have no wait."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "job", "tenant", "gpus", "gpu_share", "submit_h", "start_h", "end_h", "wait_h", "site",
                    "state", "preemptions", "restarts", "tier"])
        for v in exp.variants:
            j = v.runs[0].jobs
            s = v.scenario
            n = j["submit_h"].size
            wait = np.where(j["state"] == JobTable.REJECTED, np.nan, censored_wait_h(j, s.horizon_h))
            tenants = np.array([t.name for t in s.tenants] or [""], dtype=object)[j["tenant"]]
            sites = np.array([x.name for x in s.sites] + [""], dtype=object)[j["site"]]  # -1: no site
            states = np.array(JobTable.STATE_NAMES, dtype=object)[j["state"]]
            w.writerows(zip([v.name] * n, range(n), tenants.tolist(), j["gpus"].tolist(), float_cells(j["gpu_share"]),
                            float_cells(j["submit_h"]),
                            float_cells(j["start_h"]), float_cells(j["end_h"]), float_cells(wait), sites.tolist(),
                            states.tolist(), j["preemptions"].tolist(), j["restarts"].tolist(),
                            [s.scheduler.class_name(t) for t in j["tier"].tolist()]))


def _write_finance(exp: Experiment, path: Path) -> None:
    """Monthly cash flows per variant and company, replica means."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "company", "month", *LINES])
        for v in exp.variants:
            lines = {k: a.mean(axis=0) for k, a in v.finance.lines.items()}
            for c, company in enumerate(v.finance.companies):
                for m, month in enumerate(v.account.month_starts):
                    w.writerow([v.name, company, month.strftime("%Y-%m"),
                                *(float_cell(lines[k][c, m]) for k in LINES)])
