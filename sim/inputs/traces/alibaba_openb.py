"""FGD's Alibaba openb pod lists: as a trace to replay, and as raw requests to sample from;
the reading is described in `sim.inputs.traces`."""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError
from ..filecache import cached_by_file
from .rows import BadRow, Rows, Trace, csv_rows, number, read_text

OPENB_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")
OPENB_TIME_COLUMNS = ("qos", "pod_phase", "creation_time", "deletion_time", "scheduled_time")
OPENB_PHASES = {"Succeeded": "completed", "Failed": "failed", "Running": "running", "Pending": "pending",
                "Unknown": "unknown"}


def _openb_pod(r: dict) -> tuple[int, int]:
    """(num_gpu, gpu_milli) of a pod row, checked."""
    number(r["cpu_milli"], "cpu_milli", whole=True, minimum=0)
    number(r["memory_mib"], "memory_mib", whole=True, minimum=0)
    num_gpu = int(number(r["num_gpu"], "num_gpu", whole=True, minimum=0))
    milli = int(number(r["gpu_milli"], "gpu_milli", whole=True, minimum=0))
    if milli > 1000:
        raise BadRow(f"gpu_milli: expected thousandths of one GPU, 0 to 1000, got {r['gpu_milli']!r}")
    if num_gpu and not milli:
        raise BadRow(f"gpu_milli: expected 1 to 1000 for a pod with num_gpu {num_gpu}, got {r['gpu_milli']!r}")
    if num_gpu > 1 and milli != 1000:
        raise BadRow(f"gpu_milli: only one GPU can be shared; a pod of {num_gpu} GPUs takes whole GPUs (1000), "
                     f"got {r['gpu_milli']!r}")
    return num_gpu, milli


def load_alibaba_openb(path: str, skip_bad_rows: bool) -> Trace:
    rows = Rows(path, skip_bad_rows)
    header = next(csv.reader(read_text(path).splitlines()[:1]), [])
    if all(c in header for c in OPENB_COLUMNS) and not any(c in header for c in OPENB_TIME_COLUMNS):
        raise ConfigError(f"{path}: line 1: this openb pod list has no time columns ({', '.join(OPENB_TIME_COLUMNS)}):"
                          f" it is a distribution to sample from, not a schedule to replay")
    for line, r in csv_rows(path, OPENB_COLUMNS + OPENB_TIME_COLUMNS, "openb pod list"):
        try:
            if isinstance(r, BadRow):
                raise r
            num_gpu, milli = _openb_pod(r)
            phase = OPENB_PHASES.get(r["pod_phase"])
            if phase is None:
                raise BadRow(f"pod_phase: expected one of {', '.join(OPENB_PHASES)}, got {r['pod_phase']!r}")
            created = number(r["creation_time"], "creation_time", minimum=0)
            deleted = number(r["deletion_time"], "deletion_time", minimum=created)
            if r["scheduled_time"]:
                scheduled = number(r["scheduled_time"], "scheduled_time", minimum=created)
                if scheduled > deleted:
                    raise BadRow(f"scheduled_time: expected at most deletion_time ({r['deletion_time']}), "
                               f"got {r['scheduled_time']!r}")
            else:
                scheduled = math.nan
        except BadRow as exc:
            rows.bad(line, str(exc))
            continue
        if num_gpu == 0:       # CPU-only: not a GPU job
            rows.left_out += 1
            continue
        began = created if math.isnan(scheduled) else scheduled
        rows.add(created, deleted - began, num_gpu, r["qos"] or "unknown", math.nan, phase, 1, scheduled - created)
        rows.add_resources(milli, int(float(r["cpu_milli"])), int(float(r["memory_mib"])))
    return rows.trace()


@dataclass(frozen=True)
class OpenbPods:
    """The raw request of every row of an openb pod list (CPU-only pods included)."""
    cpu_milli: np.ndarray     # int64, thousandths of a CPU core
    memory_mib: np.ndarray    # int64
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
    cpu, mem, num, milli, spec = [], [], [], [], []
    for line, r in csv_rows(path, OPENB_COLUMNS, "openb pod list"):
        try:
            if isinstance(r, BadRow):
                raise r
            n, m = _openb_pod(r)
        except BadRow as exc:
            raise ConfigError(f"{path}: line {line}: {exc}") from None
        cpu.append(int(float(r["cpu_milli"])))  # checked as whole numbers by _openb_pod
        mem.append(int(float(r["memory_mib"])))
        num.append(n)
        milli.append(m)
        spec.append(r.get("gpu_spec", ""))
    return OpenbPods(np.asarray(cpu, np.int64), np.asarray(mem, np.int64), np.asarray(num, np.int64),
                     np.asarray(milli, np.int64), np.asarray(spec, object))
