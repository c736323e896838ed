"""The Standard Workload Format (Parallel Workloads Archive, version 2.2); the reading is
described in `sim.inputs.traces`."""
from __future__ import annotations

import datetime as dt
import math

from .rows import BadRow, Rows, Trace, number, read_text

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
        raise BadRow(f"expected 18 whitespace-separated fields, got {len(fields)}")
    values = []
    for i, raw in enumerate(fields):
        what = f"field {i + 1} ({SWF_FIELDS[i]})"
        value = number(raw, what, whole=i in _SWF_WHOLE)
        if value < 0 and value != -1:
            raise BadRow(f"{what}: expected -1 (missing) or a number >= 0, got {raw!r}")
        values.append(value)
    return values


def load_swf(path: str, skip_bad_rows: bool) -> Trace:
    rows = Rows(path, skip_bad_rows)
    lines = read_text(path).splitlines()
    for line, text in enumerate(lines, start=1):
        text = text.strip()
        if not text or text.startswith(";"):
            continue
        try:
            f = _swf_fields(text)
            status = int(f[10])
            if status not in SWF_STATUS and status not in _SWF_PARTIAL:
                raise BadRow(f"field 11 (status): expected -1, 0, 1, 2, 3, 4 or 5, got {text.split()[10]!r}")
            if f[1] < 0:
                raise BadRow("field 2 (submit time): missing (-1); a replay needs every job's submit time")
            if status in _SWF_PARTIAL:
                rows.left_out += 1
                continue
            gpus = f[4] if f[4] > 0 else f[7]
            if f[3] < 0 or gpus <= 0:
                if status == 5:            # cancelled before it ran: no machine time to replay
                    rows.left_out += 1
                    continue
                if f[3] < 0:
                    raise BadRow("field 4 (run time): missing (-1); a replay needs every job's run time")
                raise BadRow("fields 5 and 8 (allocated, requested processors): both missing (-1) or 0; "
                           "a replay needs a processor count")
        except BadRow as exc:
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
