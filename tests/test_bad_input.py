"""Bad input must fail cleanly: the contract of the command line.

Every bad input (config or flag) gives exit code 2, ONE line on stderr that
names where the problem is (a YAML path such as `sites[0].pue`, a file and
line, or a flag such as `--replicas`), no Python traceback, and nothing
written under --out.

Each case runs the real command line in a subprocess on a copy of
configs/examples/tiny.yaml, mutated and written to tmp_path.
"""
from __future__ import annotations

import copy
import datetime as dt
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY = yaml.safe_load((ROOT / "configs" / "examples" / "tiny.yaml").read_text())
TINY_TEXT = (ROOT / "configs" / "examples" / "tiny.yaml").read_text()


# ---------------------------------------------------------------- running the CLI

def run_cli(cfg: Path, out: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", str(cfg), "--out", str(out), "--quiet", *flags],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def assert_bad_input(cfg: Path, out: Path, flags: tuple[str, ...], expect: tuple[str, ...]) -> None:
    """Exit 2, one non-empty stderr line naming the place, no traceback, no results."""
    proc = run_cli(cfg, out, *flags)
    err = proc.stderr.rstrip("\n")
    report = f"rc={proc.returncode}\nstderr:\n{proc.stderr}"
    assert proc.returncode == 2, report
    assert "Traceback" not in proc.stderr, report
    assert err.strip() and "\n" not in err, f"expected exactly one line on stderr\n{report}"
    for text in expect:
        assert text in err, f"{text!r} not in the message\n{report}"
    assert not out.is_dir() or not any(out.iterdir()), \
        f"results written for bad input: {sorted(p.name for p in out.iterdir())}\n{report}"


# ---------------------------------------------------------------- building configs

def mutated(change):
    """Builder: tiny.yaml with `change(config, folder)` applied, written as YAML."""
    def build(folder: Path) -> Path:
        config = copy.deepcopy(TINY)
        change(config, folder)
        path = folder / "scenario.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path
    return build


def raw(content: str | bytes, name: str = "scenario.yaml"):
    """Builder: a config file with exactly these bytes."""
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path
    return build


def tiny_text(old: str, new: str):
    """Builder: tiny.yaml's text with one replacement (for YAML the dumper would quote)."""
    assert old in TINY_TEXT
    return raw(TINY_TEXT.replace(old, new, 1))


def set_at(path: str, value):
    """Builder: tiny.yaml with the value at a dotted path (list indexes as numbers) set."""
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]

    def change(config, folder):
        node = config
        for key in parents:
            node = node[key]
        node[last] = value
    return mutated(change)


def drop_at(path: str):
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]

    def change(config, folder):
        node = config
        for key in parents:
            node = node[key]
        del node[last]
    return mutated(change)


def with_hosting_contract(**override):
    def change(config, folder):
        config["companies"].append({"name": "colo"})
        contract = {"host": "colo", "client": "cloud", "site": "dc1", "billable_mw": 0.5,
                    "fee_usd_per_kw_month": 150.0, "term": "5y"}
        contract.update(override)
        config["hosting_contracts"] = [contract]
    return mutated(change)


def include_missing(config, folder):
    config["include"] = "missing.yaml"


def include_cycle(config, folder):
    (folder / "other.yaml").write_text("include: scenario.yaml\n")
    config["include"] = "other.yaml"


def hourly_csv(bad_line: int | None = None, bad_value: str = "abc", header: str = "timestamp,price",
               encoding: str = "utf-8") -> bytes:
    """One full year of hourly prices; file line `bad_line` (header is line 1) holds `bad_value`."""
    lines = [header]
    t0 = dt.datetime(2025, 1, 1)
    for i in range(8760):
        value = bad_value if len(lines) + 1 == bad_line else "50.0"
        lines.append(f"{t0 + dt.timedelta(hours=i):%Y-%m-%d %H:%M},{value}")
    return ("\n".join(lines) + "\n").encode(encoding)


def price_series(data: bytes, relative: bool):
    """Site dc1 takes its energy price from prices.csv beside the config."""
    def change(config, folder):
        (folder / "prices.csv").write_bytes(data)
        path = "prices.csv" if relative else str(folder / "prices.csv")
        config["sites"][0]["energy_price"] = {"series": {"path": path, "column": "price"}}
    return mutated(change)


def no_config(folder: Path) -> Path:
    return folder / "does-not-exist.yaml"


def out_is_a_file(folder: Path) -> Path:
    (folder / "out").write_text("not a folder\n")
    return mutated(lambda config, f: None)(folder)


NO_CUPY = importlib.util.find_spec("cupy") is None
NO_DASK = importlib.util.find_spec("dask") is None


# ---------------------------------------------------------------- the cases
# (id, builder, extra flags, substrings the one-line message must contain[, marks])

CASES = [
    # -- keys
    ("unknown-top-level-key", set_at("replica", 3), (), ("replica", "unknown key")),
    ("unknown-nested-key", set_at("sites.0.pue_x", 1.2), (), ("sites[0].pue_x", "unknown key")),
    ("missing-required-nested", drop_at("sites.0.energy_price"), (), ("sites[0].energy_price", "missing")),
    ("missing-required-top", drop_at("start"), (), ("start:", "missing")),
    # -- types and ranges
    ("string-for-int", set_at("deployments.0.nodes", "ten"), (), ("deployments[0].nodes", "'ten'")),
    ("string-for-float", set_at("sites.0.pue", "high"), (), ("sites[0].pue", "'high'")),
    ("negative-mw", set_at("sites.0.critical_it_mw", -1), (), ("sites[0].critical_it_mw", "-1")),
    ("pue-below-1", set_at("sites.0.pue", 0.9), (), ("sites[0].pue", "0.9")),
    ("percent-for-fraction-workload", set_at("tenants.1.workload.utilization", 85), (),
     ("tenants[1].workload.utilization", "85")),
    ("percent-for-fraction-reservation", set_at("tenants.0.reservation.utilization.mean", 70), (),
     ("tenants[0].reservation.utilization.mean", "70")),
    ("node-list-unknown-model", set_at("deployments.0", {"site": "dc1", "node_type": "H100", "nodes_from": {
        "path": str(ROOT / "tests" / "data" / "openb_nodes.csv"), "models": ["A100"]}}), (),
     ("deployments[0].nodes_from.models", "'A100'", "G2")),
    ("node-list-no-node-of-that-size", set_at("deployments.0", {"site": "dc1", "node_type": "H100", "nodes_from": {
        "path": str(ROOT / "tests" / "data" / "openb_nodes.csv"), "models": ["P100"]}}), (),
     ("deployments[0].nodes_from", "8 GPUs", "P100: [2]")),
    ("node-list-and-nodes", set_at("deployments.0.nodes_from", {"path": str(ROOT / "tests" / "data" / "openb_nodes.csv")}),
     (), ("deployments[0]", "not both")),
    ("node-list-missing-file", set_at("deployments.0", {"site": "dc1", "node_type": "H100", "nodes_from": {
        "path": "no_such_nodes.csv"}}), (), ("no_such_nodes.csv",)),
    ("failure-domain-above-node", set_at("node_types.0.failure_domain_gpus", 16), (),
     ("node_types[0].failure_domain_gpus", "16", "gpus_per_node (8)")),
    ("lend-idle-not-a-bool", set_at("tenants.0.reservation.lend_idle", "sometimes"), (),
     ("tenants[0].reservation.lend_idle", "'sometimes'")),
    ("idle-above-max-power", set_at("node_types.0.gpu_idle_w", 800), (), ("node_types[0]", "gpu_idle_w")),
    ("replicas-zero-in-config", set_at("replicas", 0), (), ("replicas", "0")),
    # -- dates and durations
    ("bad-date-string", set_at("start", "2026-13-01"), (), ("start:", "2026-13-01")),
    ("bad-duration-string", set_at("horizon", "12years"), (), ("horizon", "12years")),
    ("zero-duration", set_at("horizon", 0), (), ("horizon", "positive")),
    # -- distributions
    ("gpus-lognormal", set_at("tenants.1.workload.gpus", {"dist": "lognormal", "mean": 4.0, "sigma": 1.0}), (),
     ("tenants[1].workload", "gpus", "fixed or empirical")),
    ("gpus-fractional", set_at("tenants.1.workload.gpus", {"dist": "empirical", "values": [1.5, 2]}), (),
     ("tenants[1].workload", "whole")),
    ("empirical-weights-length", set_at("tenants.1.workload.gpus.weights", [1, 2]), (),
     ("tenants[1].workload.gpus", "2 weights for 5 values")),
    # -- cross-references
    ("deployment-missing-site", set_at("deployments.0.site", "dc9"), (), ("deployments[0].site", "'dc9'")),
    ("deployment-missing-node-type", set_at("deployments.0.node_type", "B200"), (),
     ("deployments[0].node_type", "'B200'")),
    ("deployment-exceeds-site-mw", set_at("deployments.0.nodes", 200), (),
     ("deployments[0]", "sites[0].critical_it_mw", "MW")),
    ("tenant-unknown-provider", set_at("tenants.0.provider", "acme"), (), ("tenants[0].provider", "'acme'")),
    ("hosting-missing-site", with_hosting_contract(site="dc9"), (), ("hosting_contracts[0].site", "'dc9'")),
    ("hosting-host-is-client", with_hosting_contract(host="cloud"), (), ("hosting_contracts[0].client", "same")),
    ("duplicate-site-name", mutated(lambda c, f: c["sites"].append(dict(c["sites"][0]))), (),
     ("sites[1].name", "duplicate")),
    ("duplicate-tenant-name", set_at("tenants.1.name", "lab"), (), ("tenants[1].name", "duplicate")),
    ("workload-unknown-class", set_at("tenants.1.workload.tier", "batch"), (),
     ("tenants[1].workload.tier", "'batch'", "scheduler.classes")),
    ("scheduler-duplicate-class", mutated(lambda c, f: c.setdefault("scheduler", {}).update(
        classes=[{"name": "a"}, {"name": "a"}])), (), ("scheduler.classes", "unique")),
    # -- strict YAML and types: what used to pass silently
    ("yaml-duplicate-key", raw(TINY_TEXT.replace("replicas: 3\n", "replicas: 3\nseed: 1\n", 1)), (),
     ("scenario.yaml", "line 9", "duplicate key 'seed'", "line 7")),
    ("boolean-as-pue", set_at("sites.0.pue", True), (), ("sites[0].pue", "True")),
    ("boolean-as-node-count", set_at("deployments.0.nodes", True), (), ("deployments[0].nodes",)),
    ("boolean-as-replicas", set_at("replicas", True), (), ("replicas",)),
    ("quoted-number", set_at("sites.0.critical_it_mw", "1.0"), (), ("sites[0].critical_it_mw",)),
    ("fleet-of-a-billion-nodes", mutated(lambda c, f: (c["sites"][0].update(critical_it_mw=1e12),
                                                    c["deployments"][0].update(nodes=1_000_000_000))), (),
     ("deployments[0].nodes", "GPUs, more than the 20,000,000")),
    ("jobs-beyond-memory", set_at("tenants.1.workload.arrival_rate_per_h", 900000.0), (),
     ("tenants[1].workload.arrival_rate_per_h", "GiB", "memory holds")),
    ("warmup-past-horizon", set_at("warmup", "60d"), (), ("warmup", "not before the horizon")),
    ("scheduler-unknown-policy", mutated(lambda c, f: c.setdefault("scheduler", {}).update(policy="sjf")), (),
     ("scenario.yaml", "scheduler.policy", "'sjf'", "easy_backfill")),
    ("scheduler-unknown-policy-swept", mutated(lambda c, f: None), ("--sweep", "scheduler.policy=fifo,sjf"),
     ("scheduler.policy", "'sjf'")),
    # -- files
    ("include-missing-file", mutated(include_missing), (), ("missing.yaml",)),
    ("include-cycle", mutated(include_cycle), (), ("include cycle", "other.yaml", "scenario.yaml")),
    ("invalid-yaml", raw("scenario: tiny\nsites: [a, b\n"), (), ("scenario.yaml", "line 3", "invalid YAML")),
    ("config-does-not-exist", no_config, (), ("does-not-exist.yaml",)),
    ("baseline-flag-missing-file", mutated(lambda c, f: None), ("--baseline", "no-such-baseline.yaml"),
     ("no-such-baseline.yaml",)),
    # -- hourly series CSV
    ("series-non-numeric-absolute-path", price_series(hourly_csv(bad_line=100), relative=False), (),
     ("prices.csv", "line 100", "'abc'")),
    ("series-non-numeric-relative-path", price_series(hourly_csv(bad_line=100), relative=True), (),
     ("prices.csv", "line 100", "'abc'")),
    ("series-negative-value", price_series(hourly_csv(bad_line=5000, bad_value="-5"), relative=False), (),
     ("prices.csv", "line 5000")),
    ("series-missing-column", price_series(hourly_csv(header="timestamp,prix"), relative=False), (),
     ("prices.csv", "line 1", "'price'")),
    # -- flags
    ("flag-replicas-zero", mutated(lambda c, f: None), ("--replicas", "0"), ("--replicas",)),
    ("flag-replicas-not-a-number", mutated(lambda c, f: None), ("--replicas", "abc"), ("--replicas", "'abc'")),
    ("flag-replicas-over-the-cap", mutated(lambda c, f: None), ("--replicas", "1000000000"),
     ("--replicas", "at most 100,000")),
    ("flag-out-empty", mutated(lambda c, f: None), ("--out", ""), ("--out", "expected a folder")),
    ("flag-dask-address-empty", mutated(lambda c, f: None), ("--executor", "dask", "--dask-address", ""),
     ("--dask-address", "expected a scheduler address")),
    ("flag-dask-address-bad-scheme", mutated(lambda c, f: None), ("--executor", "dask", "--dask-address", "bogus://x"),
     ("--dask-address", "unknown scheme 'bogus'")),
    ("flag-dask-address-malformed", mutated(lambda c, f: None), ("--executor", "dask", "--dask-address", "tcp://[::1"),
     ("--dask-address", "is not an address")),
    ("start-year-1", set_at("start", "0001-01-01"), (), ("start", "year from 1970")),
    ("start-year-9999", set_at("start", "9999-01-01"), (), ("start", "year from 1970")),
    ("flag-seed-negative", mutated(lambda c, f: None), ("--seed", "-1"), ("--seed", "-1")),
    ("flag-workers-zero", mutated(lambda c, f: None), ("--workers", "0"), ("--workers",)),
    ("flag-backend-unknown", mutated(lambda c, f: None), ("--backend", "tpu"), ("--backend", "'tpu'")),
    ("flag-unknown", mutated(lambda c, f: None), ("--frobnicate",), ("--frobnicate",)),
    ("flag-dask-address-without-dask-executor", mutated(lambda c, f: None), ("--dask-address", "tcp://127.0.0.1:8786"),
     ("--dask-address", "--executor dask")),
    pytest.param("flag-backend-cupy-without-gpu", mutated(lambda c, f: None), ("--backend", "cupy"),
                 ("--backend cupy", "CuPy"),
                 marks=pytest.mark.skipif(not NO_CUPY, reason="CuPy is installed here; may see a GPU")),
    pytest.param("flag-executor-dask-not-installed", mutated(lambda c, f: None), ("--executor", "dask"),
                 ("--executor dask", "dask is not installed"),
                 marks=pytest.mark.skipif(not NO_DASK, reason="dask is installed here")),

    # ---------------------------------------------------------- found by review, now fixed
    pytest.param("bad-date-unquoted", tiny_text("start: 2026-01-01", "start: 2026-02-30"), (), ("start",)),
    pytest.param("config-not-utf8", raw("# caf\xe9\n".encode("latin-1") + TINY_TEXT.encode()), (),
                 ("scenario.yaml",)),
    pytest.param("yaml-control-character", raw("scenario: tiny\n\x01\n"), (), ("scenario.yaml", "invalid YAML")),
    pytest.param("series-not-utf8", price_series(hourly_csv(header="timestamp,pr\xe9x", encoding="latin-1"),
                                                 relative=False), (), ("prices.csv",)),
    pytest.param("schedule-step-negative", set_at("sites.0.critical_it_mw", {"2026-01-01": -1.0}), (),
                 ("sites[0].critical_it_mw", "2026-01-01", "greater than or equal to 0")),
    pytest.param("scenario-name-dotdot", tiny_text("scenario: tiny", "scenario: .."), (), ("scenario",)),
    pytest.param("out-is-a-file", out_is_a_file, (), ("--out",)),
    pytest.param("horizon-astronomical", set_at("horizon", 1e300), ("--replicas", "1"), ("horizon",)),
    pytest.param("arrival-rate-astronomical", set_at("tenants.1.workload.arrival_rate_per_h", 1e300),
                 ("--replicas", "1"), ("tenants[1].workload.arrival_rate_per_h",)),
    pytest.param("gpus-beyond-int64", set_at("tenants.1.workload.gpus", {"dist": "fixed", "value": 1e20}),
                 ("--replicas", "1"), ("tenants[1].workload.gpus",)),
    # -- names and selections that would silently do nothing or the wrong thing
    ("duplicate-loan-name", set_at("companies.0.debt", [
        {"name": "term", "principal_usd": 1e6, "rate": 0.08, "maturity": "2030-01-01"},
        {"name": "term", "principal_usd": 2e6, "rate": 0.09, "maturity": "2031-01-01"}]), (),
     ("companies[0].debt[1].name", "duplicate name 'term'")),
    ("trace-select-names-no-tenant", set_at("tenants.1.workload", {
        "node_type": "H100", "trace": {"path": str(ROOT / "tests" / "data" / "fifo_2x4.swf"), "format": "swf",
                                       "select": ["2", "nobody"]}}), (),
     ("tenants[1].workload.trace.select", "'nobody' not in", "its tenants: 1, 2")),
]


def _ids():
    return [c.values[0] if hasattr(c, "values") else c[0] for c in CASES]


@pytest.mark.parametrize("case_id, build, flags, expect", CASES, ids=_ids())
def test_bad_input(tmp_path, case_id, build, flags, expect):
    cfg = build(tmp_path)
    assert_bad_input(cfg, tmp_path / "out", flags, expect)


def test_tiny_runs(tmp_path):
    """Positive control: configs/examples/tiny.yaml itself runs and writes its summary."""
    proc = run_cli(ROOT / "configs" / "examples" / "tiny.yaml", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "tiny" / "summary.json").is_file()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["tiny"]


def test_a_folder_we_did_not_write_is_never_replaced(tmp_path):
    """OUT/<scenario>/ made by the user: refused before any simulation, its files untouched."""
    cfg = mutated(lambda c, f: None)(tmp_path)
    out = tmp_path / "out"
    (out / "tiny").mkdir(parents=True)
    (out / "tiny" / "thesis.txt").write_text("my only copy")
    proc = run_cli(cfg, out)
    assert proc.returncode == 2 and "no fleetsim run wrote it" in proc.stderr and "\n" not in proc.stderr.strip()
    assert (out / "tiny" / "thesis.txt").read_text() == "my only copy"
    assert sorted(p.name for p in out.iterdir()) == ["tiny"]
    # a folder an earlier run wrote is replaced as before
    (out / "tiny" / "thesis.txt").unlink()
    (out / "tiny").rmdir()
    assert run_cli(cfg, out).returncode == 0 and run_cli(cfg, out).returncode == 0
    assert (out / "tiny" / "run.json").is_file()


BOMB = "scenario: bomb\n" + "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)) + "unknown_key: 1\n"


@pytest.mark.parametrize("name, text, expect", [
    ("alias-bomb", BOMB, ("more than 1,000,000 values",)),
    ("deep-lists", "scenario: deep\nx: " + "[" * 20000 + "]" * 20000 + "\n", ("nested more than",)),
    ("deep-mappings", "scenario: deep\n" + "".join(" " * i + f"k{i}:\n" for i in range(3000)) + " " * 3000 + "v: 1\n",
     ("nested more than",)),
    ("recursive-alias", "scenario: r\nx: &x [1, *x]\n", ("scenario.yaml",)),
])
def test_hostile_yaml_fails_fast_with_one_line(tmp_path, name, text, expect):
    import time
    cfg = raw(text)(tmp_path)
    t0 = time.perf_counter()
    assert_bad_input(cfg, tmp_path / "out", (), expect)
    assert time.perf_counter() - t0 < 60   # refused up front, not after walking the expansion


def test_a_long_include_chain_is_refused(tmp_path):
    for i in range(40):
        (tmp_path / f"part{i}.yaml").write_text(f"include: part{i + 1}.yaml\n" if i < 39 else "seed: 1\n")
    cfg = tmp_path / "scenario.yaml"
    cfg.write_text(TINY_TEXT + "include: part0.yaml\n")
    assert_bad_input(cfg, tmp_path / "out", (), ("more than 32 files",))


def test_an_out_the_filesystem_refuses_is_a_one_line_error(tmp_path):
    """/proc lets root pass os.access but refuses new folders: found before any simulation."""
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY_TEXT)
    proc = run_cli(cfg, Path("/proc/fleetsim-results"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("error: --out: cannot write under /proc")


def test_a_cache_that_is_a_file_is_a_one_line_error(tmp_path):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY_TEXT)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".cache").write_text("mine")
    proc = run_cli(cfg, out)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert f"--out: {out / '.cache'} is not a folder" in proc.stderr and "--no-cache" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [".cache"] and (out / ".cache").read_text() == "mine"
    assert run_cli(cfg, out, "--no-cache").returncode == 0   # without the cache it runs


def test_a_full_disk_names_the_file_and_leaves_the_folder_as_it_was(tmp_path, monkeypatch, capsys):
    """ENOSPC while jobs.csv is written (made deterministic by a writer that raises it): exit 1,
    one line naming OUT/tiny/jobs.csv, no results folder and no temporary one left."""
    import errno
    import os

    from sim.cli.main import main
    from sim.output import results

    def full(exp, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(results, "_write_jobs", full)
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY_TEXT)
    out = tmp_path / "out"
    assert main([str(cfg), "--out", str(out), "--quiet", "--no-cache"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: cannot write {out / 'tiny' / 'jobs.csv'}: "
                                                   f"No space left on device"), err
    assert [p.name for p in out.iterdir()] == []


def test_a_ctrl_c_a_library_swallows_while_writing_still_ends_the_run(tmp_path, monkeypatch, capsys):
    """The SIGINT handler raises inside the report writer, which swallows it (as a library
    callback does): the run still ends with exit 130 and no results folder."""
    import signal

    from sim.cli.main import main
    from sim.output import report

    real = report.write_report

    def swallowing(exp, folder):
        try:
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)   # the interrupt, as it arrives
        except KeyboardInterrupt:
            pass                                                  # ... and a callback drops it
        real(exp, folder)

    monkeypatch.setattr(report, "write_report", swallowing)
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY_TEXT)
    out = tmp_path / "out"
    assert main([str(cfg), "--out", str(out), "--quiet", "--no-cache"]) == 130
    assert capsys.readouterr().err == "interrupted: no results written\n"
    assert not (out / "tiny").exists() and not [p for p in out.iterdir() if p.name.startswith(".tiny")]
