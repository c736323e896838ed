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
- `alibaba_openb` (FGD's openb pod lists): one pod per row, with its GPU share
  (`gpu_milli`, thousandths of each GPU; a GPU-sharing pod has num_gpu 1 and
  gpu_milli < 1000), CPU (`cpu_milli`) and memory (`memory_mib`) requests, which
  a GPU-sharing node type honours (`whole_gpus: true` on the trace gives every
  pod whole GPUs and no CPU or memory instead); CPU-only pods (num_gpu 0) are not
  GPU jobs and are left out (`rows_left_out`). duration = deletion_time - scheduled_time, or
  - creation_time for pods never scheduled (Pending at the end: their time spent
  pending is replayed as running, so look at `status` before trusting their GPU
  use); recorded wait = scheduled_time - creation_time. Tenant = `qos` class
  (LS, BE, Burstable, Guaranteed); one node per pod. The `multigpu*` variants
  have no time columns: they are distributions to sample from (as the FGD paper
  uses them), not schedules, so loading one as a trace is an error.
"""
from __future__ import annotations

import os

from ...errors import ConfigError
from ..filecache import cached_by_file
from .alibaba_openb import OpenbPods, load_alibaba_openb, openb_pods
from .philly import load_philly
from .rows import Trace
from .swf import load_swf

__all__ = ["TRACE_FORMATS", "OpenbPods", "Trace", "load_trace", "openb_pods"]

_LOADERS = {"swf": load_swf, "philly": load_philly, "alibaba_openb": load_alibaba_openb}
TRACE_FORMATS = tuple(_LOADERS)


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
