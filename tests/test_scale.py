"""Monte Carlo and sweeps at scale: uncertain inputs, sweeps, sizing, executors, the replica
cache (resuming after Ctrl-C or a killed process) and the report."""
from __future__ import annotations

import copy
import importlib.util
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from queueing import mmc_mean_wait
from sim.config import uncertainty, yamlpath
from sim.experiment.cache import ReplicaCache, pack, unpack
from sim.config.loading import scenario_from_dict
from sim.errors import ConfigError
from sim.config.variants import setup
from sim.experiment.runner import run_experiment
from sim.engine.model import simulate
from sim.experiment.search import smallest_meeting
from sim.experiment.sizing import parse_target, size

ROOT = Path(__file__).resolve().parents[1]
TINY = yaml.safe_load((ROOT / "configs" / "examples" / "tiny.yaml").read_text())
DATA = ("summary.json", "jobs.csv", "timeseries.csv", "finance.csv")


def run_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, **kw)


def write(folder: Path, name: str, data: dict) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def uncertain_tiny(horizon="10d") -> dict:
    cfg = copy.deepcopy(TINY)
    cfg["scenario"], cfg["horizon"], cfg["replicas"] = "tinyu", horizon, 3
    cfg["sites"][0]["pue"] = {"dist": "normal", "mean": 1.3, "sd": 0.05, "min": 1.0}
    cfg["deployments"][0]["nodes"] = {"dist": "choice", "values": [8, 9, 10]}
    cfg["tenants"][1]["workload"]["arrival_rate_per_h"] = {"dist": "uniform", "low": 1.5, "high": 2.5}
    cfg["tenants"][1]["workload"]["duration_h"]["mean"] = {"dist": "triangular", "low": 4, "mode": 6, "high": 8}
    return cfg


def same_files(a: Path, b: Path, names=DATA) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


# ---------------------------------------------------------------- YAML paths

def test_yaml_paths_read_and_write_by_index_or_name():
    data = copy.deepcopy(TINY)
    assert yamlpath.parse("sites[dc1].pue") == ["sites", "dc1", "pue"]
    assert yamlpath.get(data, "deployments[0].nodes") == 10
    assert yamlpath.get(data, "sites[dc1].energy_price.flat_usd_per_mwh") == 66.0
    changed = yamlpath.assign(data, "sites[dc1].pue", 1.5)
    assert changed["sites"][0]["pue"] == 1.5 and data["sites"][0]["pue"] == 1.3   # a copy
    assert yamlpath.assign(data, "scheduler.policy", "priority")["scheduler"] == {"policy": "priority"}
    assert yamlpath.render(["sites", 0, "critical_it_mw", "2026-09"]) == "sites[0].critical_it_mw[2026-09]"
    for bad in ("[0].x", "a..b", "a[", ""):
        with pytest.raises(yamlpath.PathError):
            yamlpath.parse(bad)
    with pytest.raises(yamlpath.PathError, match="no item named"):
        yamlpath.get(data, "sites[nowhere].pue")


# ---------------------------------------------------------------- uncertain inputs

def test_uncertain_inputs_are_found_but_job_distributions_are_not():
    params = {p.path: p for p in uncertainty.find(uncertain_tiny())}
    assert set(params) == {"sites[0].pue", "deployments[0].nodes", "tenants[1].workload.arrival_rate_per_h",
                           "tenants[1].workload.duration_h.mean"}
    assert params["deployments[0].nodes"].whole and not params["sites[0].pue"].whole
    assert uncertainty.find(TINY) == []   # tiny's lognormal durations and empirical GPU counts are job sizes


def test_draws_are_per_replica_bounded_rounded_and_common_to_variants():
    cfg = uncertain_tiny()
    params = uncertainty.find(cfg)
    draws = [uncertainty.sample(cfg, params, seed=5, replica=k)[1] for k in range(40)]
    pue = np.array([d["sites[0].pue"] for d in draws])
    assert pue.min() >= 1.0 and len(set(pue)) > 30 and abs(pue.mean() - 1.3) < 0.03
    assert {d["deployments[0].nodes"] for d in draws} == {8, 9, 10}
    assert all(isinstance(d["deployments[0].nodes"], int) for d in draws)
    # a baseline with the same place draws the same value (CRN); another input does not shift it
    other = copy.deepcopy(cfg)
    other["companies"][0]["discount_rate"] = {"dist": "uniform", "low": 0.05, "high": 0.15}
    again = uncertainty.sample(other, uncertainty.find(other), seed=5, replica=3)[1]
    assert again["sites[0].pue"] == draws[3]["sites[0].pue"]
    assert uncertainty.sample(cfg, params, seed=6, replica=3)[1]["sites[0].pue"] != draws[3]["sites[0].pue"]
    # a sampled mapping validates like a plain config
    raw, _ = uncertainty.sample(cfg, params, seed=5, replica=0)
    assert scenario_from_dict(raw).deployments[0].nodes in (8, 9, 10)
    assert cfg["sites"][0]["pue"]["dist"] == "normal"   # the input mapping is left alone


@pytest.mark.parametrize("spec, expect", [
    ({"dist": "normall", "mean": 1}, "sites[0].pue.dist: unknown distribution"),
    ({"dist": "normal", "mean": 1.3}, "sites[0].pue: dist normal needs sd"),
    ({"dist": "normal", "mean": 1.3, "sd": 0.1, "foo": 1}, "sites[0].pue.foo: unknown key"),
    ({"dist": "uniform", "low": 2, "high": "x"}, "sites[0].pue.high: expected a number"),
    ({"dist": "triangular", "low": 1, "mode": 3, "high": 2}, "sites[0].pue: triangular needs"),
    ({"dist": "choice", "values": [1.1, 1.2], "weights": [1]}, "sites[0].pue.weights"),
])
def test_bad_uncertain_inputs_name_their_place(tmp_path, spec, expect):
    cfg = copy.deepcopy(TINY)
    cfg["sites"][0]["pue"] = spec
    with pytest.raises(ConfigError, match=expect.replace("[", r"\[").replace("]", r"\]")):
        run_experiment(write(tmp_path, "c.yaml", cfg), replicas=2, backend="numpy", workers=1)


def test_a_draw_the_schema_rejects_names_its_place_and_replica(tmp_path):
    cfg = copy.deepcopy(TINY)
    cfg["deployments"][0]["nodes"] = {"dist": "normal", "mean": -5, "sd": 0.1}
    with pytest.raises(ConfigError, match=r"deployments\[0\]\.nodes: .*\(drawn for replica 0; bound"):
        run_experiment(write(tmp_path, "c.yaml", cfg), replicas=2, backend="numpy", workers=1)


def test_the_clock_cannot_be_uncertain(tmp_path):
    cfg = copy.deepcopy(TINY)
    cfg["horizon"] = {"dist": "uniform", "low": 10, "high": 20}
    with pytest.raises(ConfigError, match="horizon: cannot be uncertain"):
        setup(write(tmp_path, "c.yaml", cfg))


def test_uncertain_run_saves_each_replicas_draws(tmp_path):
    config = write(tmp_path, "u.yaml", uncertain_tiny())
    proc = run_cli(config, "--out", tmp_path / "out", "--quiet", "--replicas", 4)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "out" / "tinyu"
    rows = (folder / "samples.csv").read_text().splitlines()
    assert rows[0] == ("variant,replica,sites[0].pue,deployments[0].nodes,tenants[1].workload.arrival_rate_per_h,"
                       "tenants[1].workload.duration_h.mean")
    assert [r.split(",")[:2] for r in rows[1:]] == [["tinyu", str(k)] for k in range(4)]
    report = (folder / "report.md").read_text()
    assert "rank correlation" in report and "`sites[0].pue`" in report


# ---------------------------------------------------------------- cache

def test_cache_round_trip_is_exact_and_never_unpickles(tmp_path):
    s = scenario_from_dict(dict(TINY, horizon="5d"))
    run = simulate(s, 7, 0)
    back = unpack(pack(run))
    assert back.seed == run.seed and back.replica == run.replica and back.stranded_gpu_h == run.stranded_gpu_h
    for field in ("jobs", "intervals"):
        a, b = getattr(run, field), getattr(back, field)
        assert list(a) == list(b)
        for k in a:
            assert a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes(), k
    cache = ReplicaCache(tmp_path / "c")
    cache.save("k1", run)
    assert cache.load("k1") is not None and cache.load("nope") is None
    # an entry holding a pickled object is refused, not executed
    np.savez(tmp_path / "c" / "k2.npz", __key__=np.asarray("k2"), seed=np.array([object()], dtype=object))
    assert cache.load("k2") is None
    (tmp_path / "c" / "k3.npz").write_bytes(b"not a zip")
    assert cache.load("k3") is None
    cache.clear()
    assert not (tmp_path / "c").exists()


def test_a_cache_entry_is_checked_against_its_content(tmp_path, capsys):
    """An entry copied under another key with its stored key rewritten, or with a value
    changed, is not trusted: it is simulated again, and that is said once."""
    s = scenario_from_dict(dict(TINY, horizon="5d"))
    cache = ReplicaCache(tmp_path / "c")
    cache.save("k1", simulate(s, 7, 0))
    with np.load(tmp_path / "c" / "k1.npz", allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    np.savez(tmp_path / "c" / "k2.npz", **dict(arrays, __key__=np.asarray("k2")))
    changed = dict(arrays)
    changed["jobs/start_h"] = changed["jobs/start_h"] + 1.0
    np.savez(tmp_path / "c" / "k3.npz", **dict(changed, __key__=np.asarray("k3")))
    assert cache.load("k1") is not None
    assert cache.load("k2") is None and cache.load("k3") is None
    np.savez(tmp_path / "c" / "k1.npz", **changed)   # its own key, a value changed
    assert ReplicaCache(tmp_path / "c").load("k1") is None
    err = capsys.readouterr().err
    assert err.count("does not match its digest") == 2   # once per cache, not per entry


def test_a_run_resumes_from_finished_replicas(tmp_path, monkeypatch):
    """Interrupted after two replicas; the rerun simulates only the rest and gives the same numbers."""
    import sim.experiment.executors as ex
    config = write(tmp_path, "u.yaml", uncertain_tiny("5d"))
    whole = run_experiment(config, replicas=5, backend="numpy", workers=1)
    calls = []
    real = ex.simulate_task

    def flaky(task):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(task[2])
        return real(task)

    monkeypatch.setattr(ex, "simulate_task", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(config, replicas=5, backend="numpy", workers=1, cache_root=tmp_path / ".cache")
    assert len(list((tmp_path / ".cache" / "tinyu").glob("*.npz"))) == 2
    calls.clear()
    monkeypatch.setattr(ex, "simulate_task", lambda task: calls.append(task[2]) or real(task))
    resumed = run_experiment(config, replicas=5, backend="numpy", workers=1, cache_root=tmp_path / ".cache")
    assert calls == [2, 3, 4]
    assert resumed.summary == whole.summary
    assert resumed.variants[0].samples == whole.variants[0].samples
    # a changed config does not reuse them
    changed = uncertain_tiny("5d")
    changed["sites"][0]["opex_usd_per_kw_month"] = 1.0
    calls.clear()
    run_experiment(write(tmp_path, "u.yaml", changed), replicas=5, backend="numpy", workers=1,
                   cache_root=tmp_path / ".cache")
    assert calls == [0, 1, 2, 3, 4]


def _interrupt(config: Path, out: Path, sig: int) -> subprocess.CompletedProcess:
    """Start a run, stop it with `sig` once three replicas are cached."""
    proc = subprocess.Popen([sys.executable, "-m", "sim", str(config), "--out", str(out), "--workers", "2"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cache = out / ".cache" / "tiny"
    deadline = time.time() + 120
    while len(list(cache.glob("*.npz"))) < 3 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(sig)
    out_text, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out_text, err)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_interrupted_command_leaves_no_result_and_resumes_to_the_same_bytes(tmp_path, sig):
    config = write(tmp_path, "long.yaml", dict(copy.deepcopy(TINY), horizon="200d", replicas=12))
    stopped = _interrupt(config, tmp_path / "a", sig)
    assert stopped.returncode == (130 if sig == signal.SIGINT else -9), stopped.stderr
    if sig == signal.SIGINT:
        assert "Traceback" not in stopped.stderr and "the same command resumes" in stopped.stderr
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [".cache"]   # no result, no half-written folder
    again = run_cli(config, "--out", tmp_path / "a", "--workers", 2)
    assert again.returncode == 0, again.stderr
    assert "reused from the cache" in again.stderr
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["tiny"]    # cache removed once complete
    fresh = run_cli(config, "--out", tmp_path / "b", "--workers", 1, "--quiet")
    assert fresh.returncode == 0, fresh.stderr
    same_files(tmp_path / "a" / "tiny", tmp_path / "b" / "tiny")


# ---------------------------------------------------------------- executors and progress

@pytest.mark.skipif(importlib.util.find_spec("distributed") is None, reason="dask[distributed] is not installed")
def test_dask_local_cluster_gives_the_same_bytes(tmp_path):
    config = write(tmp_path, "u.yaml", uncertain_tiny())
    a = run_cli(config, "--out", tmp_path / "a", "--quiet", "--executor", "dask", "--workers", 2)
    b = run_cli(config, "--out", tmp_path / "b", "--quiet", "--workers", 2)
    c = run_cli(config, "--out", tmp_path / "c", "--quiet", "--workers", 1, "--no-cache")
    assert a.returncode == b.returncode == c.returncode == 0, a.stderr + b.stderr + c.stderr
    for other in ("b", "c"):
        same_files(tmp_path / "a" / "tinyu", tmp_path / other / "tinyu", DATA + ("samples.csv",))


def test_progress_is_plain_lines_off_a_terminal(tmp_path):
    proc = run_cli("configs/examples/tiny.yaml", "--out", tmp_path, "--workers", 1)
    assert proc.returncode == 0
    lines = proc.stderr.splitlines()
    assert lines[-1].startswith("tiny 3/3 replicas; ") and "left" in lines[-1]
    assert "\r" not in proc.stderr and "\033" not in proc.stderr


# ---------------------------------------------------------------- sweeps

def test_sweep_runs_every_point_and_ranks_inputs(tmp_path):
    cfg = dict(copy.deepcopy(TINY), horizon="10d", replicas=2)
    cfg["sweep"] = {"deployments[0].nodes": [6, 10]}
    config = write(tmp_path, "s.yaml", cfg)
    proc = run_cli(config, "--out", tmp_path / "out", "--quiet", "--sweep", "sites[dc1].pue=1.2,1.4")
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "out" / "tiny"
    sweep = json.loads((folder / "sweep.json").read_text())
    assert sweep["inputs"] == ["deployments[0].nodes", "sites[dc1].pue"]
    assert [p["inputs"] for p in sweep["points"]] == [
        {"deployments[0].nodes": n, "sites[dc1].pue": pue} for n in (6, 10) for pue in (1.2, 1.4)]
    wait = {e["value"]: e["mean"] for e in sweep["effects"]["mean_wait_h"]["deployments[0].nodes"]}
    assert wait[6] > wait[10]
    cost = {}
    for i, p in enumerate(sweep["points"]):
        summary = json.loads((folder / p["folder"] / "summary.json").read_text())
        assert summary["inputs"] == p["inputs"]
        cost[tuple(p["inputs"].values())] = summary["variants"]["tiny"]["metrics"]["energy_facility_mwh"]["mean"]
    # same random demand at every point: only the PUE changes facility energy, by its ratio
    assert cost[(10, 1.4)] / cost[(10, 1.2)] == pytest.approx(1.4 / 1.2)
    rows = (folder / "sweep.csv").read_text().splitlines()
    assert rows[0] == "point,deployments[0].nodes,sites[dc1].pue,variant,metric,unit,mean,ci95_lo,ci95_hi"
    assert (folder / "tornado.png").stat().st_size > 0
    assert "Sensitivity" in (folder / "report.md").read_text()
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_a_sweep_over_dates(tmp_path):
    """Flag values read like config values: dates stay text, so the sweep's JSON can hold them."""
    proc = run_cli("configs/examples/tiny.yaml", "--out", tmp_path, "--quiet", "--replicas", 1,
                   "--sweep", "deployments[0].start=2026-01-01,2026-01-05")
    assert proc.returncode == 0, proc.stderr
    points = json.loads((tmp_path / "tiny" / "sweep.json").read_text())["points"]
    assert [p["inputs"]["deployments[0].start"] for p in points] == ["2026-01-01", "2026-01-05"]


def test_a_bad_sweep_is_bad_input(tmp_path):
    proc = run_cli("configs/examples/tiny.yaml", "--out", tmp_path, "--sweep", "sites[0].nowhere.x=1,2")
    assert proc.returncode == 2 and "sweep: sites[0].nowhere.x: no such place" in proc.stderr
    proc = run_cli("configs/examples/tiny.yaml", "--out", tmp_path, "--sweep", "nodes")
    assert proc.returncode == 2 and "--sweep: expected KEY=V1,V2" in proc.stderr
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------- sizing

def test_search_finds_the_smallest_passing_value():
    for threshold in (1, 7, 100, 1000):
        seen = []
        assert smallest_meeting(lambda v: seen.append(v) or v >= threshold, 10.0, True, 1, 4096, 1) == threshold
        assert len(seen) <= 20
    assert smallest_meeting(lambda v: v >= 2.37, 1.0, False, 0.01, 100, 0.01) == pytest.approx(2.37, abs=0.011)
    assert smallest_meeting(lambda v: False, 4.0, True, 1, 64, 1) is None


def test_sizing_matches_erlang_c(tmp_path, base):
    """M/M/c: the smallest c whose mean wait is below the target, with 95% confidence."""
    lam, mu, target = 4.0, 1.0, 0.25
    expected = next(c for c in range(5, 20) if mmc_mean_wait(c, lam, mu) <= target)
    assert expected == 6 and mmc_mean_wait(5, lam, mu) > 2 * target and mmc_mean_wait(6, lam, mu) < target * 0.6
    base.update(horizon="1000h", replicas=4, deployments=[{"site": "s1", "node_type": "g", "nodes": 9}])
    base["tenants"] = [{"name": "t", "provider": "a", "workload": {
        "node_type": "g", "arrival_rate_per_h": lam, "gpus": {"dist": "fixed", "value": 1},
        "duration_h": {"dist": "exponential", "mean": 1 / mu}}}]
    result, _ = size(write(tmp_path, "mmc.yaml", base), parse_target(f"mean_wait_h<={target}"),
                     "deployments[0].nodes", backend="numpy", workers=1)
    assert result.answer == expected
    probes = {p.value: p for p in result.probes}
    assert probes[6].met and not probes[5].met


def test_size_command_writes_the_curve(tmp_path):
    proc = run_cli("size", "configs/examples/tiny.yaml", "--target", "sla_attainment>=0.9", "--vary",
                   "sites[dc1].critical_it_mw", "--replicas", 3, "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "smallest sites[dc1].critical_it_mw meeting sla_attainment>=0.9 with 95% confidence" in proc.stdout
    folder = tmp_path / "tiny-sizing"
    result = json.loads((folder / "sizing.json").read_text())
    assert result["answer"] is not None and len(result["probes"]) >= 3
    assert all(p["fleet"].endswith("nodes") for p in result["probes"])
    for name in ("sizing.csv", "sizing.png", "report.md", "report.html"):
        assert (folder / name).stat().st_size > 0
    bad = run_cli("size", "configs/examples/tiny.yaml", "--target", "sla>>1", "--vary", "deployments[0].nodes",
                  "--out", tmp_path / "bad")
    assert bad.returncode == 2 and "--target" in bad.stderr and not (tmp_path / "bad").exists()
    for flag, value in (("--max", "inf"), ("--min", "nan"), ("--step", "-inf")):   # would search forever
        bad = run_cli("size", "configs/examples/tiny.yaml", "--target", "sla_attainment>=0.5", "--vary",
                      "deployments[0].nodes", f"{flag}={value}", "--out", tmp_path / "bad")
        assert bad.returncode == 2 and f"{flag}: expected a finite number, got '{value}'" in bad.stderr
        assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("change, target, expect", [
    (lambda c: c["deployments"][0].update(nodes={"dist": "choice", "values": [8, 10]}), "sla_attainment>=0.9",
     "deployments[0].nodes must be a whole number"),
    (lambda c: c["sites"][0].update(critical_it_mw={"dist": "uniform", "low": 1.0, "high": 2.0}),
     "sla_attainment>=0.9", "vary a number"),
    (lambda c: None, "no_such_metric>=1", "--target: unknown metric 'no_such_metric'"),
])
def test_size_bad_input_fails_before_any_run(tmp_path, change, target, expect):
    """Uncertain values where the search scales a site, and an unknown target metric: exit 2,
    one line, nothing written (the metric is checked before the first probe runs)."""
    config = yaml.safe_load((ROOT / "configs" / "examples" / "tiny.yaml").read_text())
    change(config)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    bad = run_cli("size", path, "--target", target, "--vary", "sites[0].critical_it_mw", "--out", tmp_path / "out")
    assert bad.returncode == 2 and expect in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- report

def test_report_opens_with_the_answer_and_is_self_contained(tmp_path):
    proc = run_cli("configs/examples/horizontal_merger.yaml", "--out", tmp_path, "--quiet", "--replicas", 2)
    assert proc.returncode == 0, proc.stderr
    (folder,) = tmp_path.iterdir()
    md = (folder / "report.md").read_text()
    sections = [line for line in md.splitlines() if line.startswith("## ")]
    assert sections[:6] == ["## The answer", "## Is capacity enough?", "## Fleet and demand", "## Energy and carbon",
                            "## Finance", "## Sensitivity"]
    assert "significant" in md.split("## Is capacity enough?")[0]
    for image in (line[line.index("(") + 1:-1] for line in md.splitlines() if line.startswith("![")):
        assert (folder / image).stat().st_size > 0
    html = (folder / "report.html").read_text()
    assert html.count("data:image/png;base64,") == md.count("![")
    assert "src=\"http" not in html and "href=" not in html


def test_pool_workers_do_not_keep_an_inherited_sigterm_handler():
    """A parent (marimo's web server) with its own SIGTERM handler: a forked worker must still
    die on SIGTERM, or Pool.terminate waits forever."""
    import multiprocessing
    import os
    import signal

    import sim.experiment.executors as ex

    def keep_running(*_):
        pass

    previous = signal.signal(signal.SIGTERM, keep_running)
    try:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(1, initializer=ex._worker_init) as pool:
            assert pool.apply(_sigterm_handler_name) == "SIG_DFL"
            assert pool.apply(os.getpid) != os.getpid()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _sigterm_handler_name():
    import signal
    return "SIG_DFL" if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL else "other"
