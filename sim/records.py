"""Flat records the engine writes: the job table and allocation intervals.

The engine only appends; kernels turn the intervals into hourly arrays.
"""
from __future__ import annotations

import math

import numpy as np


class JobTable:
    """One row per submitted job; columns are plain lists while the engine runs."""
    QUEUED, RUNNING, COMPLETED, REJECTED = 0, 1, 2, 3

    def __init__(self, submit_h, gpus, duration_h, tenant, node_type, tier, utilization):
        n = len(submit_h)
        self.submit = list(map(float, submit_h))
        self.gpus = list(map(int, gpus))
        self.duration = list(map(float, duration_h))
        self.tenant = list(tenant)
        self.node_type = list(node_type)
        self.tier = list(tier)
        self.utilization = list(utilization)
        self.start = [math.nan] * n
        self.end = [math.nan] * n
        self.site = [""] * n
        self.state = [-1] * n   # -1: not arrived yet

    def __len__(self):
        return len(self.submit)


class Recorder:
    """Allocation intervals [start_h, end_h) by deployment, and reservation shortfall."""

    def __init__(self):
        self.job_cols = ([], [], [], [], [], [])        # start, end, deployment, gpus, busy gpus, util
        self.reserved_cols = ([], [], [], [], [])       # start, end, deployment, gpus, profile
        self.shortfall_cols = ([], [], [], [])          # start, end, profile, gpus

    def job(self, start, end, deployment, gpus, busy_gpus, util):
        if end > start:
            for col, v in zip(self.job_cols, (start, end, deployment, gpus, busy_gpus, util)):
                col.append(v)

    def reserved(self, start, end, deployment, gpus, profile):
        if end > start:
            for col, v in zip(self.reserved_cols, (start, end, deployment, gpus, profile)):
                col.append(v)

    def shortfall(self, start, end, profile, gpus):
        for col, v in zip(self.shortfall_cols, (start, end, profile, gpus)):
            col.append(v)

    def arrays(self) -> dict[str, np.ndarray]:
        f8, i8 = np.float64, np.int64
        names = {
            "job": (self.job_cols, ("start_h", "end_h", "deployment", "gpus", "busy_gpus", "util"),
                    (f8, f8, i8, f8, f8, f8)),
            "reserved": (self.reserved_cols, ("start_h", "end_h", "deployment", "gpus", "profile"),
                         (f8, f8, i8, f8, i8)),
            "shortfall": (self.shortfall_cols, ("start_h", "end_h", "profile", "gpus"), (f8, f8, i8, f8)),
        }
        out = {}
        for kind, (cols, fields, dtypes) in names.items():
            for col, field, dtype in zip(cols, fields, dtypes):
                out[f"{kind}_{field}"] = np.asarray(col, dtype=dtype)
        return out
