"""Job logs into one job table: the Standard Workload Format and the GPU-cluster
traces in ../shared/data/ (see its README), plus the Alibaba node lists.

Every loader returns a `Trace` (one row per job to replay). A bad row is a
`ConfigError` naming the file and line and what was expected; with
`skip_bad_rows=True` it is counted in `rows_skipped` instead. Rows that are
well formed but are not GPU jobs to replay (CPU-only pods, SWF jobs cancelled
before they ran, SWF partial-execution lines) are counted in `rows_left_out`,
never dropped silently. Files may be gzip-compressed (detected by content).

Formats and the choices made for each:

- `swf` (Parallel Workloads Archive, version 2.2): lines starting with `;` are
  header comments; each job line has 18 whitespace-separated numbers, -1 where
  missing. GPUs = allocated processors (field 5), else requested processors
  (field 8); duration = run time (4); runtime estimate = requested time (9);
  tenant = user id (12) as text ("unknown" for -1); status (11): 1 completed,
  0 failed, 5 cancelled, -1 unknown. Lines with status 2/3/4 are the partial
  executions of a checkpointed or swapped job, whose whole-job line (status
  0/1/5) is in the log too: they are left out so the job is not replayed twice.
  A cancelled job (status 5) with no run time or no processors never ran: left
  out. Any other job without a run time or processor count is a bad row.
  Submit times stay seconds from the log's start; `clock_origin_s` comes from
  the `UnixStartTime` and `TimeZoneString` header comments when present.
- `philly` (the processed Microsoft Philly job table): columns `timestamp`
  (submit, `YYYY-MM-DD HH:MM:SS` as recorded), `duration` (s), `num_gpus`,
  `gpu_time` (must equal duration x num_gpus), `cluster` (virtual cluster, the
  tenant). submit_s counts from the first job; `clock_origin_s` is that job's
  recorded wall-clock time (no time zone applied). No status, node count,
  runtime estimate or wait is recorded.
- `alibaba_openb` (FGD's openb pod lists): one pod per row. The engine gives
  whole GPUs, so a GPU-sharing pod (num_gpu 1, gpu_milli < 1000) takes one
  whole GPU; CPU-only pods (num_gpu 0) are not GPU jobs and are left out
  (`rows_left_out`). duration = deletion_time - scheduled_time, or
  - creation_time for pods never scheduled (Pending at the end: their time spent
  pending is replayed as running, so look at `status` before trusting their GPU
  use); recorded wait = scheduled_time - creation_time. Tenant = `qos` class
  (LS, BE, Burstable, Guaranteed); one node per pod. The `multigpu*` variants
  have no time columns: they are distributions to sample from (as the FGD paper
  uses them), not schedules, so loading one as a trace is an error.
"""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import math
import os
import zlib
from dataclasses import dataclass

import numpy as np

from .config import TRACE_FORMATS, ConfigError
from .filecache import cached_by_file



@dataclass(frozen=True)
class Trace:
    submit_s: np.ndarray        # float64 seconds, any origin (the replay offsets to the first job)
    duration_s: np.ndarray      # float64 run time in seconds, as recorded
    gpus: np.ndarray            # int64 whole GPUs (>= 1)
    tenant: np.ndarray          # object array of str: virtual cluster / user / queue, as the format has it
    runtime_estimate_s: np.ndarray  # float64, nan where the trace has none
    status: np.ndarray          # object array of str (e.g. completed, failed, cancelled, unknown)
    nodes: np.ndarray           # int64 node count, -1 where unknown
    rows_skipped: int           # bad rows skipped (only with skip_bad_rows=True)
    source: str                 # the file path
    wait_s: np.ndarray | None = None   # float64 recorded wait (start - submit), nan where not recorded
    rows_left_out: int = 0      # well-formed rows that are not GPU jobs to replay (see the module doc)
    clock_origin_s: float | None = None  # local wall-clock time at submit_s == 0, as seconds since
                                         # 1970-01-01; None when the trace has no calendar

    def __len__(self) -> int:
        return int(self.submit_s.size)


class _Bad(Exception):
    """A bad row: the message says which field and what was expected."""


# ---------------------------------------------------------------- reading files

def _read_text(path: str) -> str:
    """The file's text, gunzipped when it is gzip. Raises ConfigError."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read trace: {exc.strerror or exc}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ConfigError(f"{path}: not a readable gzip file ({exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}: line {line}: not UTF-8 text (byte {exc.start})") from None


def _number(text: str, what: str, *, whole: bool = False, minimum: float | None = None) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _Bad(f"{what}: expected a {'whole number' if whole else 'number'}, got {text!r}") from None
    if not math.isfinite(value):
        raise _Bad(f"{what}: expected a finite number, got {text!r}")
    if whole and value != int(value):
        raise _Bad(f"{what}: expected a whole number, got {text!r}")
    if minimum is not None and value < minimum:
        raise _Bad(f"{what}: expected a {'whole ' if whole else ''}number >= {minimum:g}, got {text!r}")
    return value


class _Rows:
    """Collects parsed rows; a bad row raises, or is counted when skipping."""

    def __init__(self, path: str, skip_bad_rows: bool):
        self.path = path
        self.skip = skip_bad_rows
        self.skipped = 0
        self.left_out = 0
        self.cols: dict[str, list] = {k: [] for k in ("submit", "duration", "gpus", "tenant", "estimate",
                                                      "status", "nodes", "wait")}

    def bad(self, line: int, message: str) -> None:
        if not self.skip:
            raise ConfigError(f"{self.path}: line {line}: {message}")
        self.skipped += 1

    def add(self, submit, duration, gpus, tenant, estimate, status, nodes, wait) -> None:
        for key, value in zip(self.cols, (submit, duration, gpus, tenant, estimate, status, nodes, wait)):
            self.cols[key].append(value)

    def trace(self, origin_s: float = 0.0, clock_origin_s: float | None = None) -> Trace:
        """The table, with `origin_s` subtracted from every submit time."""
        c = self.cols
        if not c["submit"]:
            why = f" ({self.skipped} bad rows skipped)" if self.skipped else ""
            left = f" ({self.left_out} rows are not GPU jobs)" if self.left_out else ""
            raise ConfigError(f"{self.path}: no jobs to replay in the file{why}{left}")

        def arr(values, dtype):
            a = np.asarray(values, dtype=dtype)
            a.flags.writeable = False  # results are cached and shared: nobody may change them
            return a

        return Trace(submit_s=arr(np.asarray(c["submit"], np.float64) - origin_s, np.float64),
                     duration_s=arr(c["duration"], np.float64), gpus=arr(c["gpus"], np.int64),
                     tenant=arr(c["tenant"], object), runtime_estimate_s=arr(c["estimate"], np.float64),
                     status=arr(c["status"], object), nodes=arr(c["nodes"], np.int64),
                     rows_skipped=self.skipped, source=self.path, wait_s=arr(c["wait"], np.float64),
                     rows_left_out=self.left_out,
                     clock_origin_s=clock_origin_s)


# ---------------------------------------------------------------- SWF

SWF_FIELDS = ("job number", "submit time", "wait time", "run time", "allocated processors",
              "average CPU time used", "used memory", "requested processors", "requested time",
              "requested memory", "status", "user id", "group id", "executable number", "queue number",
              "partition number", "preceding job number", "think time")
_SWF_WHOLE = frozenset((0, 4, 7, 10, 11, 12, 13, 14, 15, 16))   # counts and ids; times may be fractional
SWF_STATUS = {-1: "unknown", 0: "failed", 1: "completed", 5: "cancelled"}
_SWF_PARTIAL = (2, 3, 4)


def _swf_fields(text: str) -> list[float]:
    fields = text.split()
    if len(fields) != 18:
        raise _Bad(f"expected 18 whitespace-separated fields, got {len(fields)}")
    values = []
    for i, raw in enumerate(fields):
        what = f"field {i + 1} ({SWF_FIELDS[i]})"
        value = _number(raw, what, whole=i in _SWF_WHOLE)
        if value < 0 and value != -1:
            raise _Bad(f"{what}: expected -1 (missing) or a number >= 0, got {raw!r}")
        values.append(value)
    return values


def _load_swf(path: str, skip_bad_rows: bool) -> Trace:
    rows = _Rows(path, skip_bad_rows)
    lines = _read_text(path).splitlines()
    for line, text in enumerate(lines, start=1):
        text = text.strip()
        if not text or text.startswith(";"):
            continue
        try:
            f = _swf_fields(text)
            status = int(f[10])
            if status not in SWF_STATUS and status not in _SWF_PARTIAL:
                raise _Bad(f"field 11 (status): expected -1, 0, 1, 2, 3, 4 or 5, got {text.split()[10]!r}")
            if f[1] < 0:
                raise _Bad("field 2 (submit time): missing (-1); a replay needs every job's submit time")
            if status in _SWF_PARTIAL:
                rows.left_out += 1
                continue
            gpus = f[4] if f[4] > 0 else f[7]
            if f[3] < 0 or gpus <= 0:
                if status == 5:            # cancelled before it ran: no machine time to replay
                    rows.left_out += 1
                    continue
                if f[3] < 0:
                    raise _Bad("field 4 (run time): missing (-1); a replay needs every job's run time")
                raise _Bad("fields 5 and 8 (allocated, requested processors): both missing (-1) or 0; "
                           "a replay needs a processor count")
        except _Bad as exc:
            rows.bad(line, str(exc))
            continue
        rows.add(f[1], f[3], int(gpus), "unknown" if f[11] < 0 else str(int(f[11])),
                 f[8] if f[8] >= 0 else math.nan, SWF_STATUS[status], -1, f[2] if f[2] >= 0 else math.nan)
    return rows.trace(clock_origin_s=_swf_clock_origin(_swf_header(lines)))


def _swf_clock_origin(header: dict[str, str]) -> float | None:
    """Local wall-clock seconds since 1970 at submit time 0, from UnixStartTime and TimeZoneString."""
    try:
        start = float(header["UnixStartTime"])
    except (KeyError, ValueError):
        return None
    try:
        from zoneinfo import ZoneInfo
        zone = ZoneInfo(header["TimeZoneString"])
        return start + dt.datetime.fromtimestamp(start, zone).utcoffset().total_seconds()
    except Exception:  # no zone, or one this system does not know: UTC
        return start


def _swf_header(lines: list[str]) -> dict[str, str]:
    out = {}
    for text in lines:
        text = text.strip()
        if text and not text.startswith(";"):
            break
        key, sep, value = text.lstrip(";").partition(":")
        if sep and key.strip() and " " not in key.strip():
            out[key.strip()] = value.strip()
    return out


# ---------------------------------------------------------------- CSV formats

def _csv_rows(path: str, required: tuple[str, ...], what: str):
    """(line number, {column: text}) for each data row; checks the header and field count."""
    lines = _read_text(path).splitlines()
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None or any(name not in header for name in required):
        missing = [name for name in required if header is None or name not in header]
        raise ConfigError(f"{path}: line 1: expected a {what} header with columns {', '.join(required)} "
                          f"(missing {', '.join(missing)})")
    index = {name: header.index(name) for name in header}
    for row in reader:
        line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            yield line, _Bad(f"expected {len(header)} comma-separated fields, got {len(row)}")
            continue
        yield line, {name: row[i].strip() for name, i in index.items()}


PHILLY_COLUMNS = ("timestamp", "duration", "num_gpus", "gpu_time", "cluster")
_EPOCH = dt.datetime(1970, 1, 1)


def _load_philly(path: str, skip_bad_rows: bool) -> Trace:
    rows = _Rows(path, skip_bad_rows)
    for line, r in _csv_rows(path, PHILLY_COLUMNS, "Philly job table"):
        try:
            if isinstance(r, _Bad):
                raise r
            stamp = r["timestamp"]
            try:  # fromisoformat is ~10x faster than strptime; the length and separators pin the format
                if len(stamp) != 19 or stamp[10] != " ":
                    raise ValueError
                submit = (dt.datetime.fromisoformat(stamp) - _EPOCH).total_seconds()
            except ValueError:
                raise _Bad(f"timestamp: expected YYYY-MM-DD HH:MM:SS, got {stamp!r}") from None
            duration = _number(r["duration"], "duration", minimum=0)
            gpus = _number(r["num_gpus"], "num_gpus", whole=True, minimum=1)
            gpu_time = _number(r["gpu_time"], "gpu_time", minimum=0)
            if abs(gpu_time - duration * gpus) > 1e-6 * max(1.0, gpu_time):
                raise _Bad(f"gpu_time: expected duration x num_gpus = {duration * gpus:g}, got {r['gpu_time']!r}")
            if not r["cluster"]:
                raise _Bad("cluster: expected a virtual cluster id, got ''")
        except _Bad as exc:
            rows.bad(line, str(exc))
            continue
        rows.add(submit, duration, int(gpus), r["cluster"], math.nan, "unknown", -1, math.nan)
    # origin: the first job, so the replay's offset and alignment across tenants do not depend on
    # the calendar; the calendar is kept in clock_origin_s
    first = min(rows.cols["submit"], default=0.0)
    return rows.trace(origin_s=first, clock_origin_s=first)


OPENB_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")
OPENB_TIME_COLUMNS = ("qos", "pod_phase", "creation_time", "deletion_time", "scheduled_time")
OPENB_PHASES = {"Succeeded": "completed", "Failed": "failed", "Running": "running", "Pending": "pending",
                "Unknown": "unknown"}


def _openb_pod(r: dict) -> tuple[int, int]:
    """(num_gpu, gpu_milli) of a pod row, checked."""
    _number(r["cpu_milli"], "cpu_milli", whole=True, minimum=0)
    _number(r["memory_mib"], "memory_mib", whole=True, minimum=0)
    num_gpu = int(_number(r["num_gpu"], "num_gpu", whole=True, minimum=0))
    milli = int(_number(r["gpu_milli"], "gpu_milli", whole=True, minimum=0))
    if milli > 1000:
        raise _Bad(f"gpu_milli: expected thousandths of one GPU, 0 to 1000, got {r['gpu_milli']!r}")
    if num_gpu and not milli:
        raise _Bad(f"gpu_milli: expected 1 to 1000 for a pod with num_gpu {num_gpu}, got {r['gpu_milli']!r}")
    return num_gpu, milli


def _load_alibaba_openb(path: str, skip_bad_rows: bool) -> Trace:
    rows = _Rows(path, skip_bad_rows)
    header = next(csv.reader(_read_text(path).splitlines()[:1]), [])
    if all(c in header for c in OPENB_COLUMNS) and not any(c in header for c in OPENB_TIME_COLUMNS):
        raise ConfigError(f"{path}: line 1: this openb pod list has no time columns ({', '.join(OPENB_TIME_COLUMNS)}):"
                          f" it is a distribution to sample from, not a schedule to replay")
    for line, r in _csv_rows(path, OPENB_COLUMNS + OPENB_TIME_COLUMNS, "openb pod list"):
        try:
            if isinstance(r, _Bad):
                raise r
            num_gpu, _ = _openb_pod(r)
            phase = OPENB_PHASES.get(r["pod_phase"])
            if phase is None:
                raise _Bad(f"pod_phase: expected one of {', '.join(OPENB_PHASES)}, got {r['pod_phase']!r}")
            created = _number(r["creation_time"], "creation_time", minimum=0)
            deleted = _number(r["deletion_time"], "deletion_time", minimum=created)
            if r["scheduled_time"]:
                scheduled = _number(r["scheduled_time"], "scheduled_time", minimum=created)
                if scheduled > deleted:
                    raise _Bad(f"scheduled_time: expected at most deletion_time ({r['deletion_time']}), "
                               f"got {r['scheduled_time']!r}")
            else:
                scheduled = math.nan
        except _Bad as exc:
            rows.bad(line, str(exc))
            continue
        if num_gpu == 0:       # CPU-only: not a GPU job
            rows.left_out += 1
            continue
        began = created if math.isnan(scheduled) else scheduled
        rows.add(created, deleted - began, num_gpu, r["qos"] or "unknown", math.nan, phase, 1, scheduled - created)
    return rows.trace()


@dataclass(frozen=True)
class OpenbPods:
    """The raw request of every row of an openb pod list (CPU-only pods included)."""
    cpu_milli: np.ndarray     # int64, thousandths of a CPU core
    num_gpu: np.ndarray       # int64
    gpu_milli: np.ndarray     # int64, thousandths of one GPU
    gpu_spec: np.ndarray      # object: allowed GPU models, '' for any (all '' when the file has no column)

    @property
    def gpu_request(self) -> np.ndarray:
        """GPUs requested per pod, fractional for GPU-sharing pods."""
        return self.num_gpu * self.gpu_milli / 1000.0


@cached_by_file(maxsize=64)
def openb_pods(path: str) -> OpenbPods:
    """Request columns of any openb pod list, the `multigpu*` variants included. Raises ConfigError."""
    cpu, num, milli, spec = [], [], [], []
    for line, r in _csv_rows(path, OPENB_COLUMNS, "openb pod list"):
        try:
            if isinstance(r, _Bad):
                raise r
            n, m = _openb_pod(r)
        except _Bad as exc:
            raise ConfigError(f"{path}: line {line}: {exc}") from None
        cpu.append(int(float(r["cpu_milli"])))  # checked as a whole number by _openb_pod
        num.append(n)
        milli.append(m)
        spec.append(r.get("gpu_spec", ""))
    return OpenbPods(np.asarray(cpu, np.int64), np.asarray(num, np.int64), np.asarray(milli, np.int64),
                     np.asarray(spec, object))


# ---------------------------------------------------------------- entry points

_LOADERS = {"swf": _load_swf, "philly": _load_philly, "alibaba_openb": _load_alibaba_openb}


def load_trace(path: str, format: str, skip_bad_rows: bool = False) -> Trace:
    """Read a job log (cached: a config load and every replica share one read). Raises ConfigError."""
    if format not in _LOADERS:
        raise ConfigError(f"{path}: unknown trace format {format!r} (expected one of {', '.join(TRACE_FORMATS)})")
    try:
        os.stat(path)   # a missing file is reported as a trace problem
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read trace: {exc.strerror or exc}") from None
    return _load_cached(str(path), format, bool(skip_bad_rows))


@cached_by_file(maxsize=32)
def _load_cached(path: str, format: str, skip_bad_rows: bool) -> Trace:
    return _LOADERS[format](path, skip_bad_rows)


# ---------------------------------------------------------------- node lists

@dataclass(frozen=True)
class NodeList:
    name: np.ndarray          # object
    gpus: np.ndarray          # int64 GPUs on the node (0 for CPU-only nodes)
    model: np.ndarray         # object GPU model ('' for CPU-only nodes)
    cpu_cores: np.ndarray     # float64
    memory_gib: np.ndarray    # float64
    source: str

    def shape(self) -> dict[str, dict[int, int]]:
        """GPU nodes by model and GPUs per node: {model: {gpus_per_node: nodes}}."""
        out: dict[str, dict[int, int]] = {}
        for model, gpus in zip(self.model.tolist(), self.gpus.tolist()):
            if gpus > 0:
                by_size = out.setdefault(model, {})
                by_size[gpus] = by_size.get(gpus, 0) + 1
        return {m: dict(sorted(v.items())) for m, v in sorted(out.items())}


@cached_by_file(maxsize=16)
def load_node_list(path: str) -> NodeList:
    """A cluster's node list: FGD's openb node lists (header `sn,cpu_milli,memory_mib,gpu,model`)
    or PAI 2020's machine spec (no header: machine, gpu_type, cap_cpu, cap_mem GB, cap_gpu).
    Raises ConfigError."""
    lines = _read_text(path).splitlines()
    reader = csv.reader(lines)
    first = next(reader, None)
    if first is None:
        raise ConfigError(f"{path}: empty node list")
    openb = first[:1] == ["sn"]
    if openb and any(c not in first for c in ("sn", "cpu_milli", "memory_mib", "gpu", "model")):
        raise ConfigError(f"{path}: line 1: expected the columns sn, cpu_milli, memory_mib, gpu, model")
    index = {c: first.index(c) for c in first} if openb else None
    rows = reader if openb else csv.reader(lines)
    name, gpus, model, cpu, mem = [], [], [], [], []
    for row in rows:
        line = rows.line_num
        if not row:
            continue
        try:
            if openb:
                if len(row) != len(first):
                    raise _Bad(f"expected {len(first)} comma-separated fields, got {len(row)}")
                r = {c: row[i].strip() for c, i in index.items()}
                n, g, mo = r["sn"], _number(r["gpu"], "gpu", whole=True, minimum=0), r["model"]
                c = _number(r["cpu_milli"], "cpu_milli", minimum=0) / 1000.0
                m = _number(r["memory_mib"], "memory_mib", minimum=0) / 1024.0
            else:
                if len(row) != 5:
                    raise _Bad(f"expected 5 comma-separated fields (machine, gpu_type, cap_cpu, cap_mem, "
                               f"cap_gpu), got {len(row)}")
                n, mo = row[0].strip(), row[1].strip()
                c = _number(row[2], "cap_cpu", minimum=0)
                m = _number(row[3], "cap_mem", minimum=0)
                g = _number(row[4], "cap_gpu", whole=True, minimum=0)
                mo = "" if g == 0 else mo
        except _Bad as exc:
            raise ConfigError(f"{path}: line {line}: {exc}") from None
        name.append(n)
        gpus.append(int(g))
        model.append(mo)
        cpu.append(c)
        mem.append(m)
    return NodeList(np.asarray(name, object), np.asarray(gpus, np.int64), np.asarray(model, object),
                    np.asarray(cpu, np.float64), np.asarray(mem, np.float64), path)
