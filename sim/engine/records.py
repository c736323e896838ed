"""Flat records the engine writes: the job table and allocation intervals.

The engine only appends; kernels turn the intervals into hourly arrays.
"""
from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

import numpy as np


class JobTable:
    """One row per submitted job; columns are plain lists while the engine runs.

    A job may run in several segments (preempted, or restarted after a node
    failure): `remaining` is the work left (h), `attained` the useful GPU-hours
    done, `badput` the GPU-hours lost to failures since the last checkpoint.

    `gpus` is the GPUs a job touches; `share` the GPUs it uses, in GPU-hours' terms: a job
    that asks for a share of one GPU (`milli` < 1000 thousandths) touches 1 and uses 0.25, say.
    `cpu` (thousandths of a core) and `memory` (MiB) are what it asks of a GPU-sharing node;
    without any such job they are None and `share` is `gpus` itself.
    """
    QUEUED, RUNNING, COMPLETED, REJECTED = 0, 1, 2, 3
    STATE_NAMES = ("queued", "running", "completed", "rejected")   # by code, as the outputs write them

    def __init__(self, submit_h, gpus, duration_h, tenant, node_type, tier, utilization,
                 estimate_h=None, checkpoint_h=None, in_pod=None, resources=None):
        n = len(submit_h)
        self.submit = list(map(float, submit_h))
        self.gpus = list(map(int, gpus))
        self.share, self.milli, self.cpu, self.memory = self.gpus, None, None, None
        if resources is not None:   # (gpu_milli, cpu_milli, memory_mib) arrays
            milli = np.asarray(resources[0], np.int64)
            self.share = np.where(milli < 1000, milli / 1000.0, np.asarray(gpus, np.float64)).tolist()
            self.milli, self.cpu, self.memory = (np.asarray(r, np.int64).tolist() for r in resources)
        self.duration = list(map(float, duration_h))
        self.tenant = list(tenant)
        self.node_type = list(node_type)
        self.tier = list(tier)
        self.utilization = list(utilization)
        self.estimate = list(map(float, estimate_h)) if estimate_h is not None else list(self.duration)
        self.checkpoint = list(checkpoint_h) if checkpoint_h is not None else [math.nan] * n
        self.in_pod = list(map(bool, in_pod)) if in_pod is not None else [False] * n
        self.start = [math.nan] * n       # first start
        self.end = [math.nan] * n
        self.site = [""] * n
        self.state = [-1] * n             # -1: not arrived yet
        self.remaining = list(self.duration)
        self.run_start = [math.nan] * n   # start of the current segment
        self.attained = [0.0] * n
        self.badput = [0.0] * n
        self.epoch = [0] * n              # bumped when a segment ends: stale timers ignore themselves
        self.preemptions = [0] * n
        self.restarts = [0] * n

    def __len__(self):
        return len(self.submit)

    def attained_at(self, job: int, now: float) -> float:
        """Useful GPU-hours so far, counting the running segment."""
        running = self.attained[job]
        if self.state[job] == self.RUNNING:
            running += (now - self.run_start[job]) * self.share[job]
        return running

    def estimate_left(self, job: int) -> float:
        """Hours the job is expected to need from now by its runtime estimate."""
        done = self.duration[job] - self.remaining[job]
        return max(self.remaining[job], self.estimate[job] - done)


class Recorder:
    """Allocation intervals [start_h, end_h) by deployment, reservation shortfall and
    failed-node down time, kept while the engine runs in typed columns (array.array):
    a million-job run holds tens of millions of values, and boxed tuples would cost
    several times the memory and slow the whole engine down."""

    KINDS = {
        "job": (("start_h", "end_h", "deployment", "gpus", "busy_gpus", "util", "tenant"), "ddqdddq"),
        "reserved": (("start_h", "end_h", "deployment", "gpus", "profile"), "ddqdq"),
        "shortfall": (("start_h", "end_h", "profile", "gpus"), "ddqd"),
        "down": (("start_h", "end_h", "deployment", "gpus"), "ddqd"),
    }

    def __init__(self):
        self.columns = {kind: [array(t) for t in types] for kind, (_, types) in self.KINDS.items()}
        # one bound append per column, looked up once: the engine records millions of intervals
        self._append = {kind: [c.append for c in cols] for kind, cols in self.columns.items()}

    def _add(self, kind, values) -> None:
        for append, value in zip(self._append[kind], values):
            append(value)

    def job(self, start, end, deployment, gpus, busy_gpus, util, tenant):
        if end > start:
            s, e, d, g, b, u, t = self._append["job"]
            s(start), e(end), d(deployment), g(gpus), b(busy_gpus), u(util), t(tenant)

    def reserved(self, start, end, deployment, gpus, profile):
        if end > start:
            self._add("reserved", (start, end, deployment, gpus, profile))

    def shortfall(self, start, end, profile, gpus):
        self._add("shortfall", (start, end, profile, gpus))

    def down(self, start, end, deployment, gpus):
        if end > start:
            self._add("down", (start, end, deployment, gpus))

    def arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for kind, (fields, types) in self.KINDS.items():
            for field, t, column in zip(fields, types, self.columns[kind]):
                dtype = np.float64 if t == "d" else np.int64
                out[f"{kind}_{field}"] = np.frombuffer(column, dtype=dtype).copy() if column else np.empty(0, dtype)
        return out


@dataclass
class RunResult:
    seed: int
    replica: int
    jobs: dict[str, np.ndarray]
    intervals: dict[str, np.ndarray]
    stranded_gpu_h: float
    stranded_daily_gpu_h: np.ndarray
