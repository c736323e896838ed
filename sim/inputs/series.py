"""Hourly input series (energy price, carbon intensity) from CSV.

A file has a timestamp column (`YYYY-MM-DD HH[:MM[:SS]]` or ISO `T`) and value
columns. Values are placed by hour of the year (Feb 29 dropped), and the
scenario takes each of its hours from the same hour of the year: one full
year of rows (8760 distinct hours) is required, more years average out.
"""
from __future__ import annotations

import csv
import datetime as dt
import math
import sys
from zoneinfo import ZoneInfo

import numpy as np

from ..errors import ConfigError
from .csvfile import csv_errors
from .filecache import cached_by_file


def _hour_of_year(ts: dt.datetime) -> int | None:
    if ts.month == 2 and ts.day == 29:
        return None
    day = ts.timetuple().tm_yday - 1
    if ts.month > 2 and ts.year % 4 == 0 and (ts.year % 100 != 0 or ts.year % 400 == 0):
        day -= 1
    return day * 24 + ts.hour


@cached_by_file(maxsize=64)
def typical_year(path: str, column: str, timestamp_column: str, allow_negative: bool = False,
                 timezone: str | None = None) -> np.ndarray:
    """8760 values by hour of the year (mean where a year repeats); negative values only
    where allowed (temperatures). Raises ConfigError.

    Clock: timestamps with a UTC offset (`2026-03-08T03:00-04:00`), or wall-clock ones with a
    `timezone` (an IANA name: the second of two equal wall-clock hours is the later one, as when
    clocks fall back), are placed on UTC hours, the scenario's clock for such series. Timestamps
    without either are taken as the scenario's clock as they are. A wall-clock file without a
    zone that skips an hour (spring forward) has it interpolated from its neighbours, and a
    repeated hour (fall back) is averaged; either is reported once."""
    try:
        handle = open(path, newline="")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read hourly series: {exc.strerror or exc}") from None
    with handle:
        try:
            return _read_typical_year(handle, path, column, timestamp_column, allow_negative, timezone)
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _snippet(fields) -> str:
    """A short, printable glimpse of a header, never a whole line of whatever file was named."""
    text = repr(list(fields or []))
    return text if len(text) <= 60 else text[:57] + "..."


def _to_utc(ts: dt.datetime, zone, seen: set) -> dt.datetime:
    """A timestamp on UTC: by its own offset, else as wall-clock time in `zone`."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=zone, fold=1 if ts in seen else 0)   # the repeat of an hour is the later one
        seen.add(ts.replace(tzinfo=None, fold=0))
    return ts.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _fill_gaps(sums: np.ndarray, counts: np.ndarray, path: str, column: str) -> np.ndarray:
    """Means by hour; isolated missing hours (clocks springing forward) interpolated from the
    hours beside them, repeated ones (falling back) averaged, each reported once."""
    missing = np.flatnonzero(counts == 0)
    usual = np.median(counts)
    isolated = all(counts[(h - 1) % 8760] > 0 and counts[(h + 1) % 8760] > 0 for h in missing)
    if missing.size > 8 or not isolated:
        raise ConfigError(f"{path}: {column}: {missing.size} of the 8760 hours of the year have no value "
                          f"(an hourly series needs at least one full year)")
    means = np.divide(sums, counts, out=np.zeros(8760), where=counts > 0)
    for h in missing.tolist():
        means[h] = (means[(h - 1) % 8760] + means[(h + 1) % 8760]) / 2
    repeated = int((counts > usual).sum())
    if missing.size or repeated:
        print(f"warning: {path}: {column}: {missing.size} missing hours interpolated and {repeated} repeated "
              f"hours averaged (daylight-saving changes without a timezone?)", file=sys.stderr)
    return means


def _read_typical_year(handle, path: str, column: str, timestamp_column: str, allow_negative: bool,
                       timezone: str | None = None) -> np.ndarray:
    sums = np.zeros(8760)
    counts = np.zeros(8760)
    zone = ZoneInfo(timezone) if timezone else dt.timezone.utc
    seen: set = set()
    reader = csv.reader(handle)   # (a DictReader miscounts lines on the csv module's errors)
    with csv_errors(path, reader):
        header = next(reader, None)
        for name in (timestamp_column, column):
            if header is None or name not in header:
                raise ConfigError(f"{path}: line 1: no column {name!r} (columns: {_snippet(header)})")
        for cells in reader:
            if not cells:
                continue   # a blank line, as DictReader skips them
            line = reader.line_num
            row = dict(zip(header, cells))
            row = {name: row.get(name) for name in (timestamp_column, column)}   # None where a row is short
            raw_ts = (row[timestamp_column] or "").strip().replace("T", " ")
            try:
                ts = dt.datetime.fromisoformat(raw_ts if len(raw_ts) > 13 else raw_ts + ":00")
            except ValueError:
                raise ConfigError(f"{path}: line {line}: bad timestamp {row[timestamp_column]!r}") from None
            try:
                value = float(row[column])
            except (TypeError, ValueError):
                raise ConfigError(f"{path}: line {line}: {column} is not a number: {row[column]!r}") from None
            if not math.isfinite(value) or (value < 0 and not allow_negative):
                raise ConfigError(f"{path}: line {line}: {column} must be a finite number"
                                  f"{'' if allow_negative else ' >= 0'}, got {value}")
            if ts.tzinfo is not None or timezone:
                ts = _to_utc(ts, zone, seen)
            hour = _hour_of_year(ts)
            if hour is not None:
                sums[hour] += value
                counts[hour] += 1
    return _fill_gaps(sums, counts, path, column)


def scenario_hours_of_year(start: dt.date, n_hours: int) -> np.ndarray:
    """Hour-of-year index of each scenario hour (Feb 29 maps to Feb 28)."""
    base = dt.datetime(start.year, start.month, start.day)
    out = np.empty(n_hours, dtype=np.int64)
    day_index = []
    for d in range(-(-n_hours // 24)):
        ts = base + dt.timedelta(days=d)
        hour = _hour_of_year(ts) if not (ts.month == 2 and ts.day == 29) else _hour_of_year(ts - dt.timedelta(days=1))
        day_index.append(hour)
    days = np.repeat(np.asarray(day_index, dtype=np.int64), 24)[:n_hours]
    out[:] = days + np.tile(np.arange(24), len(day_index))[:n_hours]
    return out
