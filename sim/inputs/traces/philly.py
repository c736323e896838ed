"""The processed Microsoft Philly job table; the reading is described in `sim.inputs.traces`."""
from __future__ import annotations

import datetime as dt
import math

from .rows import BadRow, Rows, Trace, csv_rows, number

PHILLY_COLUMNS = ("timestamp", "duration", "num_gpus", "gpu_time", "cluster")
_EPOCH = dt.datetime(1970, 1, 1)


def load_philly(path: str, skip_bad_rows: bool) -> Trace:
    rows = Rows(path, skip_bad_rows)
    for line, r in csv_rows(path, PHILLY_COLUMNS, "Philly job table"):
        try:
            if isinstance(r, BadRow):
                raise r
            stamp = r["timestamp"]
            try:  # fromisoformat is ~10x faster than strptime; the length and separators pin the format
                if len(stamp) != 19 or stamp[10] != " ":
                    raise ValueError
                submit = (dt.datetime.fromisoformat(stamp) - _EPOCH).total_seconds()
            except ValueError:
                raise BadRow(f"timestamp: expected YYYY-MM-DD HH:MM:SS, got {stamp!r}") from None
            duration = number(r["duration"], "duration", minimum=0)
            gpus = number(r["num_gpus"], "num_gpus", whole=True, minimum=1)
            gpu_time = number(r["gpu_time"], "gpu_time", minimum=0)
            if abs(gpu_time - duration * gpus) > 1e-6 * max(1.0, gpu_time):
                raise BadRow(f"gpu_time: expected duration x num_gpus = {duration * gpus:g}, got {r['gpu_time']!r}")
            if not r["cluster"]:
                raise BadRow("cluster: expected a virtual cluster id, got ''")
        except BadRow as exc:
            rows.bad(line, str(exc))
            continue
        rows.add(submit, duration, int(gpus), r["cluster"], math.nan, "unknown", -1, math.nan)
    # origin: the first job, so the replay's offset and alignment across tenants do not depend on
    # the calendar; the calendar is kept in clock_origin_s
    first = min(rows.cols["submit"], default=0.0)
    return rows.trace(origin_s=first, clock_origin_s=first)
