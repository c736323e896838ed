"""Scalar types of a scenario: dates, durations, names, bounded numbers, and levels that step
at dates (schedules), with the one conversion of a reservation's schedule into levels.

Dates are `YYYY-MM-DD` or `YYYY-MM` (first of month); durations are numbers of hours or strings
such as `12y`, `90d`, `2w`, `6h`, `30min` (a year is 365 days).
"""
from __future__ import annotations

import datetime as dt
import math
import os
import re
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

if TYPE_CHECKING:   # for annotations only: the schema builds on these types
    from .schema import Reservation, Scenario

HOURS_PER_YEAR = 8760.0
HOURS_PER_MONTH = HOURS_PER_YEAR / 12   # 730: the hours of a kW-month, and of a plan's month
MAX_JOB_GPUS = 1_000_000
MAX_JOBS_PER_REPLICA = 50_000_000
MAX_FLEET_GPUS = 20_000_000          # about 20x the largest fleets built
MAX_SHARING_GPUS = 8                 # GPUs of a GPU-sharing node (the packing rules' node table)
# the placement rules of GPU-sharing node types (sim.engine.packing.RULES, in its order)
SHARING_PLACEMENTS = ("random", "first_fit", "best_fit", "dot_product", "gpu_packing", "gpu_clustering", "fgd")
BYTES_PER_JOB = 1_000                # the engine's records, measured about 0.9 KB per job per process


def memory_bytes() -> int:
    """This machine's memory (16 GiB where it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 << 30


def jobs_per_replica_limit() -> int:
    """Jobs one replica may hold: a quarter of memory (a worker per core holds a replica each,
    and the parent their results), and never above MAX_JOBS_PER_REPLICA."""
    return min(MAX_JOBS_PER_REPLICA, memory_bytes() // 4 // BYTES_PER_JOB)
MAX_REPLICAS = 100_000


# ---------------------------------------------------------------- scalar types

YEARS = (1970, 2200)   # dates a scenario may name: the plots' calendar, and any plan's horizon


def parse_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        m = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", value.strip())
        if m:
            try:
                value = dt.date(int(m[1]), int(m[2]), int(m[3] or 1))
            except ValueError:
                pass
    if not isinstance(value, dt.date):
        raise ValueError(f"expected a date YYYY-MM-DD or YYYY-MM, got {value!r}")
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise ValueError(f"expected a year from {YEARS[0]} to {YEARS[1]}, got {value}")
    return value


_DURATION_UNITS_H = {"y": HOURS_PER_YEAR, "w": 168.0, "d": 24.0, "h": 1.0, "min": 1 / 60}


def parse_duration_h(value) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 12y, 90d, 6h or a number of hours, got {value!r}")
    if isinstance(value, (int, float)):
        hours = float(value)
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(y|w|d|h|min)\s*", value)
        if not m:
            raise ValueError(f"expected a duration such as 12y, 90d, 6h or a number of hours, got {value!r}")
        hours = float(m[1]) * _DURATION_UNITS_H[m[2]]
    else:
        raise ValueError(f"expected a duration such as 12y, 90d, 6h or a number of hours, got {value!r}")
    if not math.isfinite(hours) or hours <= 0:
        raise ValueError(f"expected a positive duration, got {value!r}")
    return hours


Date = Annotated[dt.date, BeforeValidator(parse_date)]
DurationH = Annotated[float, BeforeValidator(parse_duration_h)]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")]
NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Pos = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


def _schedule(value):
    """A level that steps at dates: a number (from the start) or {date: level}."""
    if isinstance(value, dict):
        out = {}
        for key, level in value.items():
            out[parse_date(key)] = level
        if not out:
            raise ValueError("expected at least one {date: value} step")
        return out
    return value


Schedule = Annotated[NonNeg | dict[Date, NonNeg], BeforeValidator(_schedule)]


def schedule_steps(schedule, default_date: dt.date) -> list[tuple[dt.date, float]]:
    """Sorted (date, level) steps of a Schedule; a bare number starts at default_date."""
    if isinstance(schedule, dict):
        return sorted(schedule.items())
    return [(default_date, float(schedule))]


def reservation_levels(s: "Scenario", r: "Reservation") -> list[tuple[float, float, int]]:
    """(start_h, end_h, GPUs) of a reservation's contracted levels, in hours from the scenario
    start (they may begin before it and end past the horizon); nothing after the term."""
    start = r.start or s.start
    end_h = s.hours_from_start(start) + r.term if r.term is not None else s.horizon_h
    steps = [(s.hours_from_start(max(day, start)), int(round(g))) for day, g in schedule_steps(r.gpus, start)]
    levels = []
    for k, (a, gpus) in enumerate(steps):
        b = min(end_h, steps[k + 1][0]) if k + 1 < len(steps) else end_h
        if b > a:
            levels.append((a, b, gpus))
    return levels


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)   # no true for 1, no "1" for 1
