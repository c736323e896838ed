"""What users see: the command line on real configs, the output contract of
DESIGN §8, and determinism (§9)."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# every runnable example (include fragments have no `scenario:` of their own)
EXAMPLES = sorted(p for p in (ROOT / "configs" / "examples").glob("*.yaml")
                  if "scenario" in (yaml.safe_load(p.read_text()) or {}))
METRICS = ("gpu_utilization", "mean_wait_h", "p95_wait_h", "p99_wait_h", "jobs_submitted", "jobs_completed",
           "jobs_unfinished", "jobs_rejected", "sla_attainment", "stranded_gpu_hours", "energy_it_mwh",
           "energy_facility_mwh", "energy_cost_usd", "carbon_t", "revenue_usd", "hosting_fees_usd", "ebitda_usd",
           "npv_usd", "min_dscr")


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def main_job(tmp_path_factory):
    """The reference main job as users run it (fewer replicas to keep CI short)."""
    out = tmp_path_factory.mktemp("out")
    proc = run_cli("configs/merged.yaml", "--out", out, "--replicas", 2)
    assert proc.returncode == 0, proc.stderr
    return proc, out / "merged"


def test_main_job_prints_the_comparison(main_job):
    proc, _ = main_job
    assert "merged - standalone [95% CI]" in proc.stdout
    for metric in ("gpu_utilization", "hosting_fees_usd", "npv_usd"):
        assert metric in proc.stdout


def test_main_job_writes_the_contract(main_job):
    _, folder = main_job
    for name in ("summary.json", "timeseries.csv", "jobs.csv", "finance.csv", "report.md", "report.html", "utilization.png",
                 "wait_cdf.png", "energy.png", "finance.png", "comparison.png", "paths.csv", "paths_by_month.csv",
                 "paths.png"):
        assert (folder / name).stat().st_size > 0, name
    summary = json.loads((folder / "summary.json").read_text())
    assert list(summary) == ["scenario", "seed", "replicas", "backend", "variants", "comparison", "breakevens", "paths"]
    assert summary["paths"]["count"] == 2000 and set(summary["paths"]["variants"]) == {"merged", "standalone"}
    assert [b["path"] for b in summary["breakevens"]] == ["merger.synergy_usd_per_year"] * 2 + ["merger.price_usd"]
    assert all(b["value"] is not None and b["low"] <= b["value"] <= b["high"] for b in summary["breakevens"])
    assert summary["scenario"] == "merged" and summary["replicas"] == 2 and summary["backend"] == "numpy"
    assert set(summary["variants"]) == {"merged", "standalone"}
    for variant in summary["variants"].values():
        for metric in METRICS:
            m = variant["metrics"][metric]
            assert set(m) == {"mean", "ci95", "unit"} and len(m["ci95"]) == 2
    for metric in METRICS:
        assert set(summary["comparison"][metric]) == {"delta", "ci95"}
    # the reference case: standalone pays ~$850M a year of hosting fees at full ramp, merged pays none
    fees = summary["variants"]["standalone"]["metrics"]["hosting_fees_usd"]["mean"]
    assert 8e9 < fees < 11e9
    assert summary["variants"]["merged"]["metrics"]["hosting_fees_usd"]["mean"] == 0
    assert "net annual saving" in (folder / "report.md").read_text()


def test_main_job_csvs(main_job):
    _, folder = main_job
    with open(folder / "timeseries.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["variant"] for r in rows} == {"merged", "standalone"}
    assert {"gpus_online", "gpus_allocated", "utilization", "it_power_mw", "facility_power_mw", "energy_cost_usd",
            "carbon_t"} <= set(rows[0])
    assert all(float(r["gpus_allocated"]) <= float(r["gpus_online"]) + 1e-6 for r in rows)
    with open(folder / "jobs.csv") as f:
        jobs = list(csv.DictReader(f))
    assert {"tenant", "gpus", "submit_h", "start_h", "end_h", "wait_h", "site", "preemptions"} <= set(jobs[0])
    assert {r["tier"] for r in jobs} == {"on_demand"}   # the reference case sells no spot capacity
    with open(folder / "finance.csv") as f:
        fin = list(csv.DictReader(f))
    assert {(r["variant"], r["company"]) for r in fin} == {("merged", "crwv"), ("standalone", "crwv"),
                                                           ("standalone", "corz")}
    assert len(fin) == 3 * 144  # 12 years of months


def test_finance_workbook_holds_the_statements_to_the_cent(main_job):
    """finance.xlsx as a finance reader opens it: each statement cell is finance.csv's replica
    mean to the cent, the totals add up to summary.json's EBITDA, the summary's intervals are
    summary.json's, and the money inputs are listed by YAML path."""
    openpyxl = pytest.importorskip("openpyxl")
    _, folder = main_job
    wb = openpyxl.load_workbook(folder / "finance.xlsx", read_only=True)
    assert wb.sheetnames == ["Summary", "merged crwv", "standalone crwv", "standalone corz", "Breakevens",
                             "Market paths", "Assumptions"]
    rows = list(csv.DictReader(open(folder / "finance.csv")))
    sheet = [r for r in wb["standalone corz"].iter_rows(min_row=3, values_only=True)]
    months, lines = sheet[0][2:-1], {r[0]: r for r in sheet[1:]}
    corz = [r for r in rows if r["variant"] == "standalone" and r["company"] == "corz"]
    assert list(months) == [r["month"] for r in corz]
    for line in ("revenue_legacy_usd", "hosting_fees_received_usd", "ebitda_usd", "fcf_usd", "interest_usd"):
        assert list(lines[line][2:-1]) == [round(float(r[line]), 2) for r in corz], line
    summary = json.loads((folder / "summary.json").read_text())
    ebitda = summary["variants"]["standalone"]["metrics"]["ebitda_usd[corz]"]
    assert lines["ebitda_usd"][-1] == pytest.approx(ebitda["mean"], abs=0.01)
    assert lines["ebitda_usd"][1] == "USD" and lines["dscr_ttm"][1] == "ratio"
    head, *body = [r for r in wb["Summary"].iter_rows(min_row=3, values_only=True)]
    npv = next(r for r in body if r[0] == "npv_usd")
    c = summary["comparison"]["npv_usd"]
    assert npv[9:13] == (round(c["delta"], 2), round(c["ci95"][0], 2), round(c["ci95"][1], 2),
                         "yes" if c["ci95"][1] < 0 or c["ci95"][0] > 0 else "no")
    assert "gpu_utilization" not in [r[0] for r in body]   # money only
    assumptions = {(r[0], r[1]): r[2] for r in wb["Assumptions"].iter_rows(min_row=4, values_only=True)}
    assert assumptions[("merged", "companies[0].discount_rate")] == 0.1
    assert assumptions[("standalone", "hosting_contracts[0].site")] == "denton_tx"
    assert assumptions[("standalone", "paths.count")] == 2000


@pytest.mark.parametrize("config", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_runs(config, tmp_path):
    proc = run_cli(config, "--out", tmp_path, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # --quiet
    (folder,) = [p for p in tmp_path.iterdir()]
    if "sweep" in yaml.safe_load(config.read_text()):
        assert (folder / "sweep.csv").exists() and (folder / "points" / "000" / "summary.json").exists()
    else:
        assert (folder / "summary.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folders left


def test_reliability_example_checkpoints_bound_the_work_lost(tmp_path):
    """The same interruptions (common random numbers) lose about ckpt/2 of work per restarted
    job: 6-hour checkpoints lose several times what 1-hour checkpoints do, spares or not."""
    proc = run_cli("configs/examples/reliability.yaml", "--out", tmp_path, "--quiet")
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "reliability" / "sweep.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["metric"] == "badput_gpu_hours"]
    badput = {(r["sites[0].spare_fraction"], r["tenants[1].workload.checkpoint_interval_h"]): float(r["mean"])
              for r in rows}
    for spares in ("0.0", "0.05"):
        assert badput[(spares, "6h")] > 3 * badput[(spares, "1h")] > 0


def test_same_seed_same_bytes_whatever_the_workers(tmp_path):
    a = run_cli("configs/examples/tiny.yaml", "--out", tmp_path / "a", "--quiet", "--workers", 1)
    b = run_cli("configs/examples/tiny.yaml", "--out", tmp_path / "b", "--quiet", "--workers", 2)
    c = run_cli("configs/examples/tiny.yaml", "--out", tmp_path / "c", "--quiet", "--seed", 8)
    assert a.returncode == b.returncode == c.returncode == 0
    for name in ("summary.json", "jobs.csv", "timeseries.csv", "finance.csv"):
        assert (tmp_path / "a/tiny" / name).read_bytes() == (tmp_path / "b/tiny" / name).read_bytes(), name
    sa = json.loads((tmp_path / "a/tiny/summary.json").read_text())
    sc = json.loads((tmp_path / "c/tiny/summary.json").read_text())
    assert sc["seed"] == 8
    assert sa["variants"]["tiny"]["metrics"]["mean_wait_h"] != sc["variants"]["tiny"]["metrics"]["mean_wait_h"]


def test_rerun_replaces_results_atomically(tmp_path):
    for _ in range(2):
        assert run_cli("configs/examples/tiny.yaml", "--out", tmp_path, "--quiet").returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny"]


def test_report_breaks_metrics_down_by_tenant(tmp_path):
    """Two clouds' customers: pooling cuts the hot cloud's customers' wait, and the report's
    tenant table shows it with the values of summary.json."""
    assert run_cli("configs/examples/horizontal_merger.yaml", "--out", tmp_path, "--quiet").returncode == 0
    folder = tmp_path / "horizontal_merger"
    report = (folder / "report.md").read_text()
    metrics = json.loads((folder / "summary.json").read_text())["variants"]
    merged, standalone = (metrics[v]["metrics"] for v in ("horizontal_merger", "horizontal_standalone"))
    table = report[report.index("### By tenant"):]
    row = next(line for line in table.splitlines() if line.startswith("| east_customers |"))
    share = merged["gpu_utilization[east_customers]"]["mean"]
    assert f"{share:.3f}" in row
    assert merged["mean_wait_h[east_customers]"]["mean"] < standalone["mean_wait_h[east_customers]"]["mean"]
    total = sum(merged[f"gpu_utilization[{t}]"]["mean"] for t in ("east_customers", "west_customers"))
    assert total == pytest.approx(merged["gpu_utilization"]["mean"])


def test_every_metric_of_the_main_job_is_in_the_catalogue(main_job):
    """The metrics catalogue (sim.metrics) has a row for every metric a run produces, and
    summary.json's units are the catalogue's."""
    from sim.metrics import METRICS, base_name, unit_of
    _, folder = main_job
    summary = json.loads((folder / "summary.json").read_text())
    produced = {m: v["unit"] for variant in summary["variants"].values() for m, v in variant["metrics"].items()}
    missing = sorted({base_name(m) for m in produced} - set(METRICS))
    assert not missing, missing
    assert all(unit == unit_of(m) for m, unit in produced.items())


def test_version_flag():
    from sim import __version__
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"fleetsim {__version__}"


def test_identical_metrics_are_explained_in_the_terminal_and_the_report(main_job):
    proc, folder = main_job
    note = next(line for line in proc.stdout.splitlines() if line.startswith("identical in every replica"))
    assert "mean_wait_h" in note and "the jobs of on_demand_pool" in note and "merger" in note
    assert "gpu_utilization" not in note   # the merged fleet differs: not identical
    assert "Identical in every replica of both variants" in (folder / "report.md").read_text()


def test_units_scale_with_the_size_of_the_number():
    from sim.output.tables import fmt_value, interval
    assert fmt_value(49.52e6, "MWh") == "49.5 TWh" and fmt_value(1234.0, "MWh") == "1.23 GWh"
    assert fmt_value(0.0884, "h") == "5.3 min" and fmt_value(71.9, "h") == "71.9 h" and fmt_value(0.005, "h") == "18 s"
    assert fmt_value(22.86e6, "t CO2e") == "22.9 Mt CO2e" and fmt_value(0.0, "h") == "0 h"
    assert interval({"delta": 13.3e6, "ci95": [12.69e6, 13.9e6]}, "MWh") == "13.3 [12.7, 13.9] TWh"
    assert fmt_value(2.5e9, "USD") == "2.50B"


def test_progress_counts_each_variants_replicas_under_its_own_name(tmp_path):
    proc = run_cli("configs/examples/horizontal_merger.yaml", "--out", tmp_path, "--replicas", 2, "--workers", 1)
    assert proc.returncode == 0, proc.stderr
    last = [line for line in proc.stderr.splitlines() if "replicas;" in line][-1]
    assert last.startswith("horizontal_merger 2/2, horizontal_standalone 2/2 replicas; ")


def test_load_results_gives_typed_tables_of_every_replica(main_job):
    import pyarrow as pa
    import pyarrow.compute as pc
    from sim import api
    _, folder = main_job
    res = api.load_results(folder)
    assert all(isinstance(t, pa.Table) for t in (res.timeseries, res.finance, res.metrics, res.jobs))
    assert res.finance.num_rows == 3 * 2 * 144 and pc.unique(res.jobs["replica"]).to_pylist() == [0, 1]
    summary = json.loads((folder / "summary.json").read_text())
    corz = res.finance.filter(pc.equal(res.finance["company"].cast("string"), "corz"))
    assert pc.sum(corz["ebitda_usd"]).as_py() / 2 == pytest.approx(
        summary["variants"]["standalone"]["metrics"]["ebitda_usd[corz]"]["mean"], rel=1e-12)
    npv = res.metrics.filter(pc.and_(pc.equal(res.metrics["metric"].cast("string"), "npv_usd"),
                                     pc.equal(res.metrics["variant"].cast("string"), "merged")))
    assert npv["unit"][0].as_py() == "USD" and npv.num_rows == 2
    assert api.load_results(folder, jobs=False).jobs is None


def test_the_wait_plot_is_the_share_of_jobs_waiting_longer_than_t():
    import numpy as np
    from sim.output.plots import wait_tail
    waits = np.random.default_rng(1).exponential(0.2, 5000) * (np.random.default_rng(2).random(5000) < 0.1)
    t, share = wait_tail(waits)
    assert t[0] == 1 / 60 and share[0] == (waits > 1 / 60).mean()
    for x, y in zip(t[1:], share[1:]):
        assert y == (waits > x).mean()
    assert (np.diff(share) <= 0).all() and share[-1] == 0.0
    assert wait_tail(np.zeros(10))[0].size == 0
