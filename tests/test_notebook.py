"""The notebook runs headless as a script against a small results folder, and the
what-if API gives the command line's numbers for the same inputs and seed."""
import copy
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sim import api

ROOT = Path(__file__).resolve().parents[1]
needs_marimo = pytest.mark.skipif(importlib.util.find_spec("marimo") is None and not os.environ.get("CI"),
                                  reason="marimo (the 'notebook' extra) is not installed")


def two_clouds(folder: Path, fee: float = 120.0) -> Path:
    """A host and a GPU cloud over one week, merged against standalone."""
    common = {
        "start": "2026-01-05", "horizon": "7d", "seed": 5, "replicas": 2,
        "companies": [{"name": "cloud"}, {"name": "host"}],
        "sites": [{"name": "dc", "owner": "host", "critical_it_mw": 1.0, "pue": 1.3, "opex_usd_per_kw_month": 20,
                   "energy_price": {"flat_usd_per_mwh": 66.0}, "carbon": {"flat_kg_per_mwh": 351}}],
        "node_types": [{"name": "H100", "gpus_per_node": 8, "gpu_idle_w": 100, "gpu_max_w": 700}],
        "deployments": [{"site": "dc", "node_type": "H100", "nodes": 16, "owner": "cloud"}],
        "tenants": [{"name": "users", "provider": "cloud", "workload": {
            "node_type": "H100", "arrival_rate_per_h": 8.0, "growth_per_year": 0.1, "price_usd_per_gpu_hour": 3.0,
            "gpus": {"dist": "empirical", "values": [1, 2, 4, 8]},
            "duration_h": {"dist": "exponential", "mean": 4.0}}}],
        "hosting_contracts": [{"host": "host", "client": "cloud", "site": "dc", "billable_mw": 0.5,
                               "fee_usd_per_kw_month": fee, "term": "12y"}],
    }
    (folder / "common.yaml").write_text(yaml.safe_dump(common))
    (folder / "standalone.yaml").write_text(yaml.safe_dump({"include": "common.yaml", "scenario": "standalone"}))
    (folder / "merged.yaml").write_text(yaml.safe_dump({
        "include": "common.yaml", "scenario": "merged", "baseline": "standalone.yaml",
        "merger": {"into": "cloud", "members": ["cloud", "host"], "integration_cost_usd": 1e5}}))
    return folder / "merged.yaml"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], cwd=ROOT, capture_output=True, text=True)


@needs_marimo
def test_notebook_runs_headless_on_a_results_folder(tmp_path):
    config = two_clouds(tmp_path)
    assert run_cli(config, "--out", tmp_path / "out", "--quiet").returncode == 0
    folder = tmp_path / "out" / "merged"
    spec = importlib.util.spec_from_file_location("explore", ROOT / "notebooks" / "explore.py")
    notebook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(notebook)
    outputs, defs = notebook.app.run(defs={"results_dir": folder})
    summary = json.loads((folder / "summary.json").read_text())
    rows = {r["metric"]: r for r in defs["table_rows"]}
    assert set(rows) == set(summary["comparison"])
    fee = summary["variants"]["standalone"]["metrics"]["hosting_fees_usd"]["mean"]
    assert fee == pytest.approx(500 * 120 * 168 / 730)   # 0.5 MW x $120/kW-month for a week
    row = summary["variants"]["standalone"]["metrics"]["hosting_fees_usd"]
    assert rows["hosting_fees_usd"]["standalone"] == api.format_interval(row, "USD")   # as the report shows it
    assert rows["hosting_fees_usd"]["merged - standalone [95% CI]"].startswith("-")
    assert defs["results"].variants == ["merged", "standalone"]
    figures = [o for o in outputs if type(o).__name__ == "Figure"]
    assert len(figures) == 4   # utilization, waits, energy, finance all rendered
    assert "wait" in figures[1].axes[0].get_title().lower() and figures[1].axes[0].lines


def test_what_if_gives_the_command_lines_numbers(tmp_path):
    config = two_clouds(tmp_path / "a" if (tmp_path / "a").mkdir() is None else None)
    edited = two_clouds(tmp_path / "b" if (tmp_path / "b").mkdir() is None else None, fee=150.0)
    common = yaml.safe_load((tmp_path / "b" / "common.yaml").read_text())
    common["tenants"][0]["workload"]["growth_per_year"] = 0.3
    common["tenants"][0]["workload"]["price_decline_per_year"] = 0.2
    (tmp_path / "b" / "common.yaml").write_text(yaml.safe_dump(common))
    exp = api.what_if(config, hosting_fee_usd_per_kw_month=150.0, demand_growth_per_year=0.3,
                      price_decline_per_year=0.2, seed=9)
    assert run_cli(edited, "--out", tmp_path / "out", "--quiet", "--seed", 9).returncode == 0
    cli = json.loads((tmp_path / "out" / "merged" / "summary.json").read_text())
    assert exp.summary["variants"] == cli["variants"]
    assert exp.summary["comparison"] == cli["comparison"]
    rows = {r.metric: r for r in api.compare(exp)}
    assert rows["hosting_fees_usd"].baseline == pytest.approx(500 * 150 * 168 / 730)


def test_api_takes_configs_with_uncertain_inputs(tmp_path):
    """load_config gives a replica's draws; what_if runs such a config as the command line does."""
    raw = yaml.safe_load((ROOT / "configs" / "examples" / "tiny.yaml").read_text())
    raw["sites"][0]["pue"] = {"dist": "normal", "mean": 1.3, "sd": 0.05, "min": 1.0}
    config = tmp_path / "uncertain.yaml"
    config.write_text(yaml.safe_dump(raw))
    doubled = copy.deepcopy(raw)
    doubled["sites"][0]["energy_price"]["flat_usd_per_mwh"] *= 2
    (tmp_path / "doubled.yaml").write_text(yaml.safe_dump(doubled))
    exp = api.what_if(config, energy_price_scale=2.0, replicas=2)
    assert run_cli(tmp_path / "doubled.yaml", "--out", tmp_path / "out", "--quiet", "--replicas", 2).returncode == 0
    cli = json.loads((tmp_path / "out" / "tiny" / "summary.json").read_text())
    assert exp.summary["variants"] == cli["variants"]
    draws = exp.variants[0].samples["sites[0].pue"]
    assert [api.load_config(config, replica=k).sites[0].pue for k in (0, 1)] == draws
    assert draws[0] != draws[1]


def test_what_if_edits_by_name_and_scales_uncertain_prices(tmp_path):
    """`edits` takes any YAML path the command line takes (`sites[dc1].pue`); a malformed one is a
    ConfigError; an uncertain energy price is scaled with its distribution."""
    from sim.errors import ConfigError
    raw = yaml.safe_load((ROOT / "configs" / "examples" / "tiny.yaml").read_text())
    raw["sites"][0]["energy_price"]["flat_usd_per_mwh"] = {"dist": "uniform", "low": 60.0, "high": 70.0}
    config = tmp_path / "uncertain_price.yaml"
    config.write_text(yaml.safe_dump(raw))
    by_name = api.what_if(config, edits={"sites[dc1].pue": 1.5}, energy_price_scale=2.0, replicas=2)
    assert by_name.variants[0].scenario.sites[0].pue == 1.5
    draws = by_name.variants[0].samples["sites[0].energy_price.flat_usd_per_mwh"]
    assert all(120.0 <= x <= 140.0 for x in draws)
    with pytest.raises(ConfigError, match="edits: "):
        api.what_if(config, edits={"scheduler..policy!!": "fifo"}, replicas=1)


@needs_marimo
def test_the_notebook_shows_names_from_a_results_file_as_text(tmp_path):
    """A results folder is a file anyone can edit: a scenario name with markup is escaped."""
    config = two_clouds(tmp_path)
    assert run_cli(config, "--out", tmp_path / "out", "--quiet").returncode == 0
    folder = tmp_path / "out" / "merged"
    summary = json.loads((folder / "summary.json").read_text())
    summary["scenario"] = '<img src=x onerror="alert(1)">'
    (folder / "summary.json").write_text(json.dumps(summary))
    spec = importlib.util.spec_from_file_location("explore", ROOT / "notebooks" / "explore.py")
    notebook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(notebook)
    outputs, _ = notebook.app.run(defs={"results_dir": folder})
    shown = " ".join(o.text for o in outputs if isinstance(getattr(o, "text", None), str))
    assert "&lt;img src=x" in shown and "<img src=x" not in shown
