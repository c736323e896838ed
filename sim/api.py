"""The public Python API, used by the notebook and by scripts.

    from sim import api
    exp = api.run("configs/merged.yaml", replicas=2)      # simulate (and the baseline)
    rows = api.compare(exp)                                # the comparison table
    res = api.load_results("results/merged")               # read a results folder
    exp = api.what_if("configs/merged.yaml", hosting_fee_usd_per_kw_month=140)

`what_if` edits the config (and its baseline) as plain data, writes them to a
temporary folder and runs them exactly as `python -m sim` would: the same
inputs and seed give the same numbers as the command line.
"""
from __future__ import annotations

import copy
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from .config import yamlpath
from .config.schema import Scenario
from .config.variants import setup
from .errors import ConfigError
from .experiment.runner import Experiment, run_experiment, scenarios_of
from .experiment.stats import excludes_zero
from .output.results import write_results
from .output.tables import KEY_METRICS, fmt_value, interval

__all__ = ["load_config", "run", "compare", "Comparison", "Results", "load_results", "what_if", "what_if_defaults",
           "format_value", "format_interval", "KEY_METRICS", "ConfigError"]

format_value = fmt_value        # a number in its unit, scaled as the report and terminal show it
format_interval = interval      # a summary row ({mean or delta, ci95}) as "mean [low, high] unit"


def load_config(path: str | Path, replica: int = 0) -> Scenario:
    """A validated scenario (raises sim.errors.ConfigError on bad input). Where inputs are
    uncertain (given as distributions), the values drawn for `replica` with the config's seed,
    as the command line draws them."""
    variant = setup(path, use_baseline=False)
    scenarios, _ = scenarios_of(variant.variants[0], variant.seed, replica + 1)
    return scenarios[replica]


def run(config: str | Path, replicas: int | None = None, seed: int | None = None, backend: str = "auto",
        baseline: str | Path | None = None, out: str | Path | None = None, quiet: bool = True) -> Experiment:
    """Simulate a config and its baseline; with `out`, also write the results folder."""
    exp = run_experiment(config, seed=seed, replicas=replicas, backend=backend, baseline=baseline, quiet=quiet)
    if out is not None:
        write_results(exp, out)
    return exp


@dataclass(frozen=True)
class Comparison:
    metric: str
    unit: str
    variant: float | None
    baseline: float | None
    delta: float | None
    ci95: tuple[float | None, float | None]

    @property
    def significant(self) -> bool:
        """The 95% interval of the paired difference excludes zero."""
        return excludes_zero(self.ci95)


def compare(summary: Experiment | dict) -> list[Comparison]:
    """The variant against its baseline, one row per metric both have."""
    s = summary.summary if isinstance(summary, Experiment) else summary
    names = list(s["variants"])
    rows = []
    for metric, c in s.get("comparison", {}).items():
        a = s["variants"][names[0]]["metrics"][metric]
        b = s["variants"][names[1]]["metrics"][metric]
        rows.append(Comparison(metric, a["unit"], a["mean"], b["mean"], c["delta"], tuple(c["ci95"])))
    return rows


@dataclass
class Results:
    """A results folder read back as typed tables (pyarrow; `.to_pandas()` or
    `polars.from_arrow(...)` where those are installed): every replica, no row objects built.
    timeseries: daily per variant and site (replica means); finance: monthly lines per
    variant, replica and company; jobs: every job of every replica (None when not asked for);
    metrics: tidy, one row per variant, replica and metric. Columns and units:
    results/README.md."""
    folder: Path
    summary: dict
    timeseries: object
    finance: object
    metrics: object
    jobs: object | None = None

    @property
    def variants(self) -> list[str]:
        return list(self.summary["variants"])

    def comparison(self) -> list[Comparison]:
        return compare(self.summary)


def load_results(folder: str | Path, jobs: bool = True) -> Results:
    """Read summary.json and the Parquet tables of a results folder (data only: nothing is
    executed). jobs=False skips the largest table."""
    import pyarrow.parquet as pq
    folder = Path(folder)
    summary = json.loads((folder / "summary.json").read_text())
    read = lambda name: pq.read_table(folder / f"{name}.parquet")
    return Results(folder, summary, read("timeseries"), read("finance"), read("metrics"),
                   read("jobs") if jobs and (folder / "jobs.parquet").exists() else None)


# ---------------------------------------------------------------- what-if

# the parameters of a distribution that scale with its value (not a lognormal's sigma, not weights)
_SCALED_PARAMS = ("value", "mean", "sd", "low", "mode", "high", "min", "max", "values")


def _scaled(value, k: float, where: str):
    """A price times k: a number, or an uncertain one (a distribution) with its parameters scaled."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value * k
    if isinstance(value, dict) and "dist" in value:
        return {key: (([v * k for v in x] if isinstance(x, list) else x * k) if key in _SCALED_PARAMS else x)
                for key, x in value.items()}
    raise ConfigError(f"{where}: expected a number or a distribution to scale, got {value!r}")


def _edit(raw: dict, hosting_fee_usd_per_kw_month, energy_price_scale, demand_growth_per_year,
          price_decline_per_year, edits) -> dict:
    raw = copy.deepcopy(raw)
    if price_decline_per_year is not None:
        for tenant in raw.get("tenants") or []:
            if tenant.get("workload"):
                tenant["workload"]["price_decline_per_year"] = price_decline_per_year
    if hosting_fee_usd_per_kw_month is not None:
        for contract in raw.get("hosting_contracts") or []:
            contract["fee_usd_per_kw_month"] = hosting_fee_usd_per_kw_month
    if energy_price_scale != 1.0:
        for site in raw.get("sites") or []:
            price = site.get("energy_price") or {}
            places = [(price, "flat_usd_per_mwh")] + [(price.get("time_of_use") or {}, k)
                                                      for k in ("peak_usd_per_mwh", "offpeak_usd_per_mwh")]
            for holder, key in places:
                if key in holder:
                    holder[key] = _scaled(holder[key], energy_price_scale, f"sites[{site.get('name')}]: {key}")
    if demand_growth_per_year is not None:
        for tenant in raw.get("tenants") or []:
            workload = tenant.get("workload")
            if workload and "trace" not in workload:
                workload["growth_per_year"] = demand_growth_per_year
    for path, value in (edits or {}).items():
        try:
            raw = yamlpath.assign(raw, path, value)
        except yamlpath.PathError as exc:
            raise ConfigError(f"edits: {exc}") from None
    return raw


def _plain_number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def what_if_defaults(config: str | Path) -> dict[str, float | None]:
    """The config's own values of what `what_if` changes (None where the config has none, or
    an uncertain one): the first hosting contract's fee, the first synthetic workload's demand
    growth and the first workload's price decline; energy price scale 1."""
    raw = setup(config).variants[0].raw
    contracts = raw.get("hosting_contracts") or []
    workloads = [t["workload"] for t in raw.get("tenants") or [] if isinstance(t, dict) and t.get("workload")]
    synthetic = [w for w in workloads if "trace" not in w]
    return {"hosting_fee_usd_per_kw_month": _plain_number(contracts[0].get("fee_usd_per_kw_month"))
            if contracts else None,
            "energy_price_scale": 1.0,
            "demand_growth_per_year": _plain_number(synthetic[0].get("growth_per_year", 0.0)) if synthetic else None,
            "price_decline_per_year": _plain_number(workloads[0].get("price_decline_per_year", 0.0))
            if workloads else None}


def what_if(config: str | Path, *, hosting_fee_usd_per_kw_month: float | None = None,
            energy_price_scale: float = 1.0, demand_growth_per_year: float | None = None,
            price_decline_per_year: float | None = None, edits: dict[str, object] | None = None, replicas: int | None = None, seed: int | None = None,
            backend: str = "auto") -> Experiment:
    """Re-run a config (and its baseline) with inputs changed: every hosting fee, a scale on
    flat and time-of-use energy prices (hourly series files are left as they are), every
    synthetic workload's demand growth, every workload's GPU rental price decline per year,
    and any other value by YAML path in `edits`."""
    variants = setup(config).variants   # read and checked once: the config, then its baseline if any
    args = (hosting_fee_usd_per_kw_month, energy_price_scale, demand_growth_per_year, price_decline_per_year, edits)
    with tempfile.TemporaryDirectory() as tmp:
        edited = _edit(variants[0].raw, *args)
        if len(variants) > 1:
            (Path(tmp) / "baseline.yaml").write_text(yaml.safe_dump(_edit(variants[1].raw, *args)))
            edited["baseline"] = "baseline.yaml"
        path = Path(tmp) / "config.yaml"
        path.write_text(yaml.safe_dump(edited))
        return run_experiment(path, seed=seed, replicas=replicas, backend=backend, quiet=True)
