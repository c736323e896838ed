"""Trace loaders, replay and fit (issue 6).

Loaders round-trip small hand-written files of each format (tests/data/); every
kind of bad row gives a one-line error naming the file, the line and what was
expected (or is counted with skip_bad_rows); a hand-built SWF log replayed
under FIFO on 2 nodes x 4 GPUs starts each job exactly when computed by hand;
a workload fitted to a synthetic trace recovers the parameters that made it
and runs as a scenario.
"""
from __future__ import annotations

import copy
import gzip
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.config.loading import scenario_from_dict

from sim.errors import ConfigError
from sim.engine.model import simulate
from sim.engine.records import JobTable
from sim.inputs.nodelists import load_node_list
from sim.inputs.traces import load_trace
from sim.inputs.traces.alibaba_openb import openb_pods
from tests.conftest import BASE

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
SHARED = ROOT.parent / "shared" / "data"
NAN = math.nan


def _eq(got, want):
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


# ---------------------------------------------------------------- round trips

def test_swf_round_trip():
    t = load_trace(str(DATA / "small.swf"), "swf")
    _eq(t.submit_s, [0, 60.5, 180, 240, 300, 400])
    _eq(t.duration_s, [3600, 120.25, 600, 800, 0, 50])
    _eq(t.gpus, [4, 2, 8, 2, 1, 3])              # allocated processors, else requested (job 2)
    _eq(t.tenant, ["3", "7", "unknown", "3", "12", "7"])
    _eq(t.runtime_estimate_s, [7200, NAN, 900, 600, 60, 100])
    _eq(t.status, ["completed", "failed", "completed", "completed", "unknown", "cancelled"])
    _eq(t.nodes, [-1] * 6)
    _eq(t.wait_s, [5, NAN, 10, 0, 20, 0])
    assert t.gpus.dtype == np.int64 and t.submit_s.dtype == np.float64 and t.tenant.dtype == object
    # job 3 cancelled before it ran, and job 5's two partial-execution lines
    assert (t.rows_left_out, t.rows_skipped) == (3, 0)
    assert t.clock_origin_s == 1767571200.0      # UnixStartTime, UTC
    assert t.source == str(DATA / "small.swf")


def test_philly_round_trip_and_gzip(tmp_path):
    t = load_trace(str(DATA / "philly_small.csv"), "philly")
    _eq(t.submit_s, [2932, 0, 6417, 64017])       # from the first job, 2017-10-09 06:13:03
    assert t.clock_origin_s == 1507529583.0
    _eq(t.duration_s, [66, 2951, 860.5, 1200])
    _eq(t.gpus, [1, 1, 8, 16])
    _eq(t.tenant, ["11cb48", "6214e9", "6c71a0", "6214e9"])
    _eq(t.status, ["unknown"] * 4)
    _eq(t.nodes, [-1] * 4)
    assert np.isnan(t.runtime_estimate_s).all() and np.isnan(t.wait_s).all()
    gz = tmp_path / "philly.csv.gz"
    gz.write_bytes(gzip.compress((DATA / "philly_small.csv").read_bytes()))
    tz = load_trace(str(gz), "philly")
    for field in ("submit_s", "duration_s", "gpus", "tenant", "status"):
        _eq(getattr(tz, field), getattr(t, field))


def test_alibaba_openb_round_trip():
    t = load_trace(str(DATA / "openb_small.csv"), "alibaba_openb")
    _eq(t.submit_s, [0, 100, 200, 400])           # the CPU-only pod 3 is left out
    _eq(t.duration_s, [12537496, 4998, 8940, 1000])   # deletion - scheduled, or - creation if never scheduled
    _eq(t.gpus, [1, 1, 8, 2])                     # the GPU-sharing pod 1 (460 milli) takes a whole GPU
    _eq(t.tenant, ["LS", "BE", "LS", "BE"])
    _eq(t.status, ["running", "completed", "failed", "pending"])
    _eq(t.nodes, [1, 1, 1, 1])
    _eq(t.wait_s, [0, 2, 60, NAN])
    assert (t.rows_left_out, t.rows_skipped) == (1, 0)
    assert t.clock_origin_s is None
    pods = openb_pods(str(DATA / "openb_small.csv"))
    _eq(pods.gpu_request, [1.0, 0.46, 8.0, 0.0, 2.0])
    _eq(pods.gpu_spec, ["", "", "V100M32|G2", "", ""])


def test_node_lists():
    nodes = load_node_list(str(DATA / "openb_nodes.csv"))
    _eq(nodes.gpus, [0, 2, 8, 8, 4])
    assert nodes.shape() == {"G2": {8: 2}, "P100": {2: 1}, "T4": {4: 1}}
    _eq(nodes.cpu_cores, [32, 64, 96, 96, 64])
    pai = load_node_list(str(DATA / "pai_machines.csv"))
    assert pai.shape() == {"P100": {2: 1}, "V100M32": {8: 1}}
    _eq(pai.memory_gib, [512, 512, 512])


def test_results_are_cached_and_read_only(tmp_path):
    path = tmp_path / "t.swf"
    path.write_text((DATA / "small.swf").read_text())
    a = load_trace(str(path), "swf")
    assert load_trace(str(path), "swf") is a
    with pytest.raises(ValueError):
        a.gpus[0] = 99
    os.utime(path, ns=(0, 0))  # an edited file (new mtime) is read again
    assert load_trace(str(path), "swf") is not a


@pytest.mark.skipif(not (SHARED / "philly").is_dir(), reason="shared data not present")
def test_shipped_traces_match_their_readme():
    t = load_trace(str(SHARED / "philly" / "philly_jobs.csv.gz"), "philly")
    assert len(t) == 82_247
    assert round(float((t.duration_s * t.gpus).sum()) / 3600) == 978_078
    o = load_trace(str(SHARED / "alibaba-gpu-2023" / "openb_pod_list_default.csv.gz"), "alibaba_openb")
    assert (len(o), o.rows_left_out) == (8_152 - 1_088, 1_088)
    nodes = load_node_list(str(SHARED / "alibaba-gpu-2023" / "openb_node_list_gpu_node.csv.gz"))
    assert (nodes.gpus.size, int(nodes.gpus.sum())) == (1_213, 6_212)


# ---------------------------------------------------------------- bad rows

def _with_line(tmp_path, source: str, line: int, text: str) -> str:
    lines = (DATA / source).read_text().splitlines()
    lines[line - 1] = text
    path = tmp_path / source
    path.write_text("\n".join(lines) + "\n")
    return str(path)


SWF_JOB1 = "1 0 5 3600 4 -1 -1 4 7200 -1 1 3 1 -1 1 -1 -1 -1"


def _swf(**fields):
    values = SWF_JOB1.split()
    for index, value in fields.items():
        values[int(index[1:]) - 1] = value
    return " ".join(values)


BAD_ROWS = [
    # (id, file, line, replacement, format, substrings of the message)
    ("swf-field-count", "small.swf", 9, "1 0 5 3600 4", "swf", ("expected 18 whitespace-separated fields, got 5",)),
    ("swf-not-a-number", "small.swf", 9, _swf(f5="x"), "swf",
     ("field 5 (allocated processors): expected a whole number, got 'x'",)),
    ("swf-fractional-count", "small.swf", 9, _swf(f8="2.5"), "swf",
     ("field 8 (requested processors): expected a whole number, got '2.5'",)),
    ("swf-not-finite", "small.swf", 9, _swf(f4="inf"), "swf", ("field 4 (run time): expected a finite number",)),
    ("swf-negative", "small.swf", 9, _swf(f4="-5"), "swf",
     ("field 4 (run time): expected -1 (missing) or a number >= 0, got '-5'",)),
    ("swf-status", "small.swf", 9, _swf(f11="7"), "swf", ("field 11 (status): expected -1, 0, 1, 2, 3, 4 or 5",)),
    ("swf-no-submit", "small.swf", 9, _swf(f2="-1"), "swf", ("field 2 (submit time): missing (-1)",)),
    ("swf-no-run-time", "small.swf", 9, _swf(f4="-1"), "swf", ("field 4 (run time): missing (-1)",)),
    ("swf-no-processors", "small.swf", 9, _swf(f5="-1", f8="0"), "swf", ("fields 5 and 8", "both missing (-1) or 0")),
    ("philly-field-count", "philly_small.csv", 2, "2017-10-09 07:01:55,66.0,1,66.0", "philly",
     ("expected 5 comma-separated fields, got 4",)),
    ("philly-timestamp", "philly_small.csv", 2, "2017-13-09 07:01:55,66.0,1,66.0,11cb48", "philly",
     ("timestamp: expected YYYY-MM-DD HH:MM:SS, got '2017-13-09 07:01:55'",)),
    ("philly-timestamp-format", "philly_small.csv", 2, "09/10/2017 07:01,66.0,1,66.0,11cb48", "philly",
     ("timestamp: expected YYYY-MM-DD HH:MM:SS",)),
    ("philly-duration", "philly_small.csv", 2, "2017-10-09 07:01:55,abc,1,66.0,11cb48", "philly",
     ("duration: expected a number, got 'abc'",)),
    ("philly-negative-duration", "philly_small.csv", 2, "2017-10-09 07:01:55,-66,1,-66,11cb48", "philly",
     ("duration: expected a number >= 0, got '-66'",)),
    ("philly-zero-gpus", "philly_small.csv", 2, "2017-10-09 07:01:55,66.0,0,0.0,11cb48", "philly",
     ("num_gpus: expected a whole number >= 1, got '0'",)),
    ("philly-fractional-gpus", "philly_small.csv", 2, "2017-10-09 07:01:55,66.0,1.5,99.0,11cb48", "philly",
     ("num_gpus: expected a whole number, got '1.5'",)),
    ("philly-gpu-time", "philly_small.csv", 2, "2017-10-09 07:01:55,66.0,2,66.0,11cb48", "philly",
     ("gpu_time: expected duration x num_gpus = 132, got '66.0'",)),
    ("philly-no-cluster", "philly_small.csv", 2, "2017-10-09 07:01:55,66.0,1,66.0,", "philly",
     ("cluster: expected a virtual cluster id",)),
    ("philly-header", "philly_small.csv", 1, "timestamp,duration,gpus,gpu_time,cluster", "philly",
     ("line 1", "missing num_gpus")),
    ("openb-field-count", "openb_small.csv", 2, "openb-pod-0000,12000,16384,1,1000", "alibaba_openb",
     ("expected 11 comma-separated fields, got 5",)),
    ("openb-num-gpu", "openb_small.csv", 2, "p,12000,16384,x,1000,,LS,Running,0,10,0", "alibaba_openb",
     ("num_gpu: expected a whole number, got 'x'",)),
    ("openb-gpu-milli-range", "openb_small.csv", 2, "p,12000,16384,1,1500,,LS,Running,0,10,0", "alibaba_openb",
     ("gpu_milli: expected thousandths of one GPU, 0 to 1000, got '1500'",)),
    ("openb-gpu-pod-without-milli", "openb_small.csv", 2, "p,12000,16384,2,0,,LS,Running,0,10,0", "alibaba_openb",
     ("gpu_milli: expected 1 to 1000 for a pod with num_gpu 2",)),
    ("openb-phase", "openb_small.csv", 2, "p,12000,16384,1,1000,,LS,Done,0,10,0", "alibaba_openb",
     ("pod_phase: expected one of Succeeded, Failed, Running, Pending, Unknown, got 'Done'",)),
    ("openb-deleted-before-created", "openb_small.csv", 2, "p,12000,16384,1,1000,,LS,Running,50,10,50",
     "alibaba_openb", ("deletion_time: expected a number >= 50, got '10'",)),
    ("openb-scheduled-before-created", "openb_small.csv", 2, "p,12000,16384,1,1000,,LS,Running,50,90,40",
     "alibaba_openb", ("scheduled_time: expected a number >= 50, got '40'",)),
    ("openb-scheduled-after-deleted", "openb_small.csv", 2, "p,12000,16384,1,1000,,LS,Running,50,90,95",
     "alibaba_openb", ("scheduled_time: expected at most deletion_time (90), got '95'",)),
]


@pytest.mark.parametrize("case_id, source, line, text, fmt, expect", BAD_ROWS, ids=[c[0] for c in BAD_ROWS])
def test_bad_row_is_one_line_naming_file_and_line(tmp_path, case_id, source, line, text, fmt, expect):
    path = _with_line(tmp_path, source, line, text)
    with pytest.raises(ConfigError) as err:
        load_trace(path, fmt)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: line {line}: "), message
    for part in expect:
        assert part in message, message
    if line > 1:  # the same row is counted, never silently dropped, with skip_bad_rows
        good = load_trace(str(DATA / source), fmt)
        skipped = load_trace(path, fmt, skip_bad_rows=True)
        assert skipped.rows_skipped == 1
        assert len(skipped) + skipped.rows_left_out == len(good) + good.rows_left_out - 1


BAD_FILES = [
    ("not-utf8", lambda p: p.write_bytes(b"timestamp,duration,num_gpus,gpu_time,cluster\n"
                                         b"2017-10-09 07:01:55,66.0,1,66.0,caf\xe9\n"), "philly",
     ("line 2: not UTF-8",)),
    ("corrupt-gzip", lambda p: p.write_bytes(b"\x1f\x8b\x08\x00garbage"), "swf", ("not a readable gzip file",)),
    ("no-jobs", lambda p: p.write_text("; Version: 2.2\n; only a header\n"), "swf", ("no jobs to replay",)),
    ("all-cpu-only", lambda p: p.write_text((DATA / "openb_small.csv").read_text().splitlines()[0] +
                                            "\np,4000,8192,0,0,,BE,Running,0,10,0\n"), "alibaba_openb",
     ("no jobs to replay", "1 rows are not GPU jobs")),
    ("openb-without-times", lambda p: p.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1,1,1,1000\n"),
     "alibaba_openb", ("line 1", "no time columns")),
    ("unknown-format", lambda p: p.write_text(SWF_JOB1 + "\n"), "pbs", ("unknown trace format 'pbs'",)),
    ("missing-file", lambda p: None, "swf", ("cannot read trace",)),
]


@pytest.mark.parametrize("case_id, write, fmt, expect", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_file_is_one_line(tmp_path, case_id, write, fmt, expect):
    path = tmp_path / "trace.txt"
    write(path)
    with pytest.raises(ConfigError) as err:
        load_trace(str(path), fmt)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path)), message
    for part in expect:
        assert part in message, message


def test_skip_bad_rows_counts_every_skipped_row(tmp_path):
    lines = (DATA / "small.swf").read_text().splitlines()
    lines[8] = "1 0 5 3600 4"             # job 1: too few fields
    lines[9] = lines[9].replace("60.5", "x")   # job 2: not a number
    path = tmp_path / "two_bad.swf"
    path.write_text("\n".join(lines) + "\n")
    t = load_trace(str(path), "swf", skip_bad_rows=True)
    assert (t.rows_skipped, t.rows_left_out, len(t)) == (2, 3, 4)
    _eq(t.submit_s, [180, 240, 300, 400])


def test_bad_trace_through_the_command_line(tmp_path):
    """The contract of DESIGN §12: exit 2, one line naming the file and line, nothing written."""
    path = _with_line(tmp_path, "small.swf", 12, _swf(f5="x"))
    config = yaml.safe_load((ROOT / "configs" / "examples" / "tiny.yaml").read_text())
    config["tenants"][1]["workload"] = {"node_type": "H100", "trace": {"path": "small.swf", "format": "swf"}}
    cfg = tmp_path / "scenario.yaml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    proc = subprocess.run([sys.executable, "-m", "sim", str(cfg), "--out", str(tmp_path / "out"), "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert f"{path}: line 12: field 5 (allocated processors)" in proc.stderr
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- replay

def _replay_scenario(trace: dict, nodes: int = 2, gpus_per_node: int = 4, horizon="10d") -> dict:
    s = copy.deepcopy(BASE)
    s["horizon"] = horizon
    s["node_types"][0]["gpus_per_node"] = gpus_per_node
    s["deployments"] = [{"site": "s1", "node_type": "g", "nodes": nodes}]
    s["tenants"] = [{"name": "t", "provider": "a", "workload": {"node_type": "g", "trace": trace}}]
    s["scheduler"] = {"policy": "fifo", "scope": "pooled"}
    return s


def test_fifo_replay_matches_hand_computed_starts():
    """tests/data/fifo_2x4.swf on 2 nodes x 4 GPUs, one FIFO queue with head-of-line blocking.
    Jobs up to 4 GPUs go best-fit onto one node; bigger ones take whole nodes. Hours:

    job  submit  GPUs  run   start  why
    1    0       4     2     0      a whole node (A)
    2    1       2     3     1      node B; B has 2 free until 4
    3    1.25    8     1     4      needs both nodes whole: A is free at 2, B at 4
    4    1.5     1     1     5      FIFO: behind job 3 though B had room (EASY would backfill it)
    5    2       2     2     5      behind job 4; best fit puts it on job 4's node (3 free)
    9    2.5     -     -     -      cancelled before it ran: left out by the loader
    6    5.5     4     1     5.5    the other node, empty since 5
    7    6       3     1     6.5    job 4 ends at 6 (2 free beside job 5); job 6's node frees at 6.5
    8    6       12    1     never  3 nodes needed, 2 exist: rejected at once, reported
    """
    s = scenario_from_dict(_replay_scenario({"path": str(DATA / "fifo_2x4.swf"), "format": "swf"}))
    run = simulate(s, 1, 0)
    jobs = run.jobs
    _eq(jobs["submit_h"], [0, 1, 1.25, 1.5, 2, 5.5, 6, 6])
    _eq(jobs["gpus"], [4, 2, 8, 1, 2, 4, 3, 12])
    np.testing.assert_allclose(jobs["start_h"], [0, 1, 4, 5, 5, 5.5, 6.5, NAN], rtol=0, atol=1e-9)
    np.testing.assert_allclose(jobs["end_h"], [2, 4, 5, 6, 7, 6.5, 7.5, NAN], rtol=0, atol=1e-9)
    _eq(jobs["state"], [JobTable.COMPLETED] * 7 + [JobTable.REJECTED])


def test_easy_backfill_replay_matches_hand_computed_starts():
    """The same file under EASY backfill (estimates = the SWF requested times = run times).
    Job 3 (8 GPUs) heads the queue from 1.25; its shadow time is 4, when jobs 1 and 2 have
    ended, on both nodes. Job 4 (ends 2.5) and job 5 (starts 2, ends 4) end by then: both
    backfill. Job 3 still starts at 4, as under FIFO. Job 7 then finds a free node at 6."""
    d = _replay_scenario({"path": str(DATA / "fifo_2x4.swf"), "format": "swf"})
    d["scheduler"]["policy"] = "easy_backfill"
    run = simulate(scenario_from_dict(d), 1, 0)
    np.testing.assert_allclose(run.jobs["start_h"], [0, 1, 4, 1.5, 2, 5.5, 6, NAN], rtol=0, atol=1e-9)


def test_replay_select_time_scale_and_start():
    trace = {"path": str(DATA / "fifo_2x4.swf"), "format": "swf", "select": ["2"], "time_scale": 2.0,
             "start": "2026-01-06"}
    s = scenario_from_dict(_replay_scenario(trace, nodes=3))
    jobs = simulate(s, 1, 0).jobs
    # user 2's jobs 2, 4, 6, 8 at 1, 1.5, 5.5, 6 h: stretched x2 from the trace's first job, a day later
    _eq(jobs["submit_h"], [26, 27, 35, 36])
    _eq(jobs["duration_h"], [3, 1, 1, 1])     # durations are replayed as recorded, not stretched


# ---------------------------------------------------------------- fit

def _synthetic_swf(path: Path) -> dict:
    """Six weeks of the synthetic model's own jobs, written as SWF from Monday 2026-01-05 00:00 UTC."""
    truth = {"node_type": "g", "arrival_rate_per_h": 12.0, "diurnal_amplitude": 0.5, "peak_hour": 15.0,
             "weekly_amplitude": 0.4, "gpus": {"dist": "empirical", "values": [1, 2, 8], "weights": [6, 3, 1]},
             "duration_h": {"dist": "lognormal", "mean": 2.0, "sigma": 1.2}}
    s = copy.deepcopy(BASE)
    s["horizon"] = "6w"
    s["tenants"] = [{"name": "t", "provider": "a", "workload": truth}]
    from sim.engine.workload import job_stream
    scenario = scenario_from_dict(s)
    js = job_stream(scenario, "t", scenario.tenants[0].workload, 3, 0)
    lines = ["; UnixStartTime: 1767571200", "; TimeZoneString: UTC"]
    for i, (t, g, d) in enumerate(zip(js.submit_h, js.gpus, js.duration_h), start=1):
        lines.append(f"{i} {t * 3600:.3f} -1 {d * 3600:.3f} {g} -1 -1 {g} -1 -1 1 1 1 -1 1 -1 -1 -1")
    path.write_text("\n".join(lines) + "\n")
    return truth


def test_fit_recovers_the_synthetic_model_and_runs(tmp_path):
    from sim.cli import fit_main as main
    trace = tmp_path / "synthetic.swf"
    truth = _synthetic_swf(trace)
    out = tmp_path / "fitted.yaml"
    assert main([str(trace), "--format", "swf", "--out", str(out), "--node-type", "g"]) == 0
    text = out.read_text()
    block = yaml.safe_load(text)["workload"]
    assert block["arrival_rate_per_h"] == pytest.approx(truth["arrival_rate_per_h"], rel=0.03)
    assert block["diurnal_amplitude"] == pytest.approx(0.5, abs=0.05)
    assert block["peak_hour"] == pytest.approx(15.0, abs=0.5)
    assert block["weekly_amplitude"] == pytest.approx(0.4, abs=0.05)
    assert block["gpus"]["values"] == [1, 2, 8]
    weights = np.array(block["gpus"]["weights"]) / sum(block["gpus"]["weights"])
    np.testing.assert_allclose(weights, [0.6, 0.3, 0.1], atol=0.02)
    assert block["duration_h"]["dist"] == "lognormal"     # it beats the exponential by log-likelihood
    assert block["duration_h"]["sigma"] == pytest.approx(1.2, rel=0.03)
    assert block["duration_h"]["mean"] == pytest.approx(2.0, rel=0.08)
    assert "# measured arrivals per hour by hour of week" in text and "#   Sun:" in text
    # the block, and its empirical alternative, validate and run
    empirical = next(line for line in text.splitlines() if line.startswith("#   duration_h: {dist: empirical"))
    for duration in (None, yaml.safe_load(empirical[len("#   duration_h: "):])):
        s = copy.deepcopy(BASE)
        s["node_types"][0]["gpus_per_node"] = 8
        s["deployments"] = [{"site": "s1", "node_type": "g", "nodes": 20}]
        w = dict(block, **({"duration_h": duration} if duration else {}))
        s["tenants"] = [{"name": "t", "provider": "a", "workload": w}]
        run = simulate(scenario_from_dict(s), 1, 0)
        assert 0.8 * 12 * 240 < run.jobs["submit_h"].size < 1.2 * 12 * 240


def test_fit_bad_input_exits_2_with_one_line(tmp_path, capsys):
    from sim.cli import fit_main as main
    bad = _with_line(tmp_path, "philly_small.csv", 3, "2017-10-09 06:13:03,x,1,1,6214e9")
    assert main([bad, "--format", "philly"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}: line 3: duration" in err
    assert main([str(DATA / "philly_small.csv"), "--format", "philly", "--select", "nope"]) == 2
    assert "--select" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main([str(DATA / "philly_small.csv"), "--format", "csv"])
    assert exit_.value.code == 2
    # a trace without a calendar says how it was read
    assert main([str(DATA / "openb_small.csv"), "--format", "alibaba_openb"]) == 0
    assert "no calendar" in capsys.readouterr().out


def test_skipped_rows_are_reported_in_the_summary(tmp_path):
    """skip_bad_rows never drops silently: the count reaches the metrics and the warnings."""
    from sim.experiment.runner import run_variants
    from sim.output.notes import warnings
    bad = tmp_path / "bad.swf"
    lines = (DATA / "fifo_2x4.swf").read_text().splitlines()
    bad.write_text("\n".join(lines + ["10 25200 -1 3600 x -1 -1 1 3600 -1 1 1 1 -1 1 -1 -1 -1"]) + "\n")
    d = _replay_scenario({"path": str(bad), "format": "swf", "skip_bad_rows": True})
    _, (v,) = run_variants([scenario_from_dict(d)], seed=1, replicas=1, backend="numpy", workers=1)
    assert v.metrics["trace_rows_skipped"][0] == 1

    class Exp:
        variants = [v]
    notes = warnings(Exp())
    assert any("1 bad trace rows were skipped" in n for n in notes)
    assert any("can never fit" in n for n in notes)   # the 12-GPU job on 8 GPUs


def test_skip_bad_rows_flag_on_the_command_line(tmp_path):
    """Without the flag a bad row stops the run (exit 2); with it the run goes on and counts it."""
    import json
    bad = tmp_path / "bad.swf"
    lines = (DATA / "fifo_2x4.swf").read_text().splitlines()
    bad.write_text("\n".join(lines + ["10 25200 -1 3600 x -1 -1 1 3600 -1 1 1 1 -1 1 -1 -1 -1"]) + "\n")
    d = _replay_scenario({"path": str(bad), "format": "swf"})
    cfg = tmp_path / "replay.yaml"
    cfg.write_text(yaml.safe_dump(d))
    run = lambda *flags: subprocess.run([sys.executable, "-m", "sim", str(cfg), "--out", str(tmp_path / "out"),
                                         "--quiet", *flags], cwd=ROOT, capture_output=True, text=True, timeout=120)
    stopped = run()
    assert stopped.returncode == 2 and "line 14" in stopped.stderr
    counted = run("--skip-bad-rows")
    assert counted.returncode == 0, counted.stderr
    summary = json.loads((tmp_path / "out" / "t" / "summary.json").read_text())
    assert summary["variants"]["t"]["metrics"]["trace_rows_skipped"]["mean"] == 1


def test_deployment_counts_its_nodes_in_a_node_list():
    """`nodes_from` counts the node list's GPU nodes with the node type's GPUs per node."""
    base = yaml.safe_load((ROOT / "configs" / "examples" / "tiny.yaml").read_text())
    listed = {"path": str(DATA / "openb_nodes.csv")}
    base["deployments"] = [{"site": "dc1", "node_type": "H100", "nodes_from": listed}]
    assert scenario_from_dict(copy.deepcopy(base)).deployments[0].nodes == 2           # the two 8-GPU G2 nodes
    base["node_types"][0]["gpus_per_node"] = 4
    base["deployments"][0]["nodes_from"] = dict(listed, models=["T4"])
    assert scenario_from_dict(copy.deepcopy(base)).deployments[0].nodes == 1
    if (SHARED / "alibaba-gpu-2023").is_dir():   # the real openb cluster: 549 G2 + 39 G3 + 8 + 21 V100 8-GPU nodes
        base["node_types"][0]["gpus_per_node"] = 8
        base["sites"][0]["critical_it_mw"] = 10.0
        base["deployments"][0]["nodes_from"] = {
            "path": str(SHARED / "alibaba-gpu-2023" / "openb_node_list_gpu_node.csv.gz")}
        assert scenario_from_dict(base).deployments[0].nodes == 617


def test_an_edited_input_file_is_read_again(tmp_path):
    """Node lists (like traces and hourly series) are cached by path, time and size: a process
    that runs on (a notebook) sees the file as it is now."""
    path = tmp_path / "nodes.csv"
    path.write_text((DATA / "openb_nodes.csv").read_text())
    assert load_node_list(str(path)).shape()["G2"] == {8: 2}
    path.write_text((DATA / "openb_nodes.csv").read_text() + "openb-node-0005,96000,786432,8,G2\n")
    assert load_node_list(str(path)).shape()["G2"] == {8: 3}


def test_library_errors_in_csv_inputs_are_one_line_with_file_and_line(tmp_path):
    """A field over the csv module's size limit, in a trace, a node list or an hourly series."""
    huge = "x" * 200_000
    lines = (DATA / "philly_small.csv").read_text().splitlines()
    trace = tmp_path / "philly.csv"
    trace.write_text("\n".join(lines[:3] + [f'"{huge}"'] + lines[3:]) + "\n")
    with pytest.raises(ConfigError, match=r"philly\.csv: line 4: field larger than field limit"):
        load_trace(str(trace), "philly")
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\n" + f'a,1,1,"{huge}",V100\n')
    with pytest.raises(ConfigError, match=r"nodes\.csv: line 2: field larger"):
        load_node_list(str(nodes))
    from sim.inputs.series import typical_year
    series = tmp_path / "price.csv"
    series.write_text(f'timestamp,price\n2026-01-01 00:00,"{huge}"\n')
    with pytest.raises(ConfigError, match=r"price\.csv: line 2: field larger"):
        typical_year(str(series), "price", "timestamp")


def test_a_gpu_count_past_exact_integers_is_a_bad_row(tmp_path):
    lines = (DATA / "philly_small.csv").read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("num_gpus")] = "1e19"
    trace = tmp_path / "philly.csv"
    trace.write_text("\n".join([lines[0], ",".join(row)] + lines[2:]) + "\n")
    with pytest.raises(ConfigError, match=r"line 2: .*num_gpus.*below 2\^53"):
        load_trace(str(trace), "philly")
    assert load_trace(str(trace), "philly", skip_bad_rows=True).rows_skipped == 1


def test_a_series_error_quotes_only_a_short_glimpse_of_the_file(tmp_path):
    from sim.inputs.series import typical_year
    secret = tmp_path / "not_a_series.csv"
    secret.write_text("root:x:0:0:root:/root:/bin/bash," + "a" * 500 + "\n1,2\n")
    with pytest.raises(ConfigError) as err:
        typical_year(str(secret), "price", "timestamp")
    assert len(str(err.value)) < 200 + len(str(secret)) and "a" * 100 not in str(err.value)
