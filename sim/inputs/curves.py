"""Allocation curves to compare against (a packing run's `allocation.csv`, or the published FGD
curves in docs/data/): one row per rule, seed and arrived workload, columns `rule`, `seed`,
`arrived_pct`, `allocated_pct`."""
from __future__ import annotations

import csv

import numpy as np

from ..errors import ConfigError
from .csvfile import csv_errors
from .traces.rows import BadRow, number, read_text

CURVE_COLUMNS = ("rule", "seed", "arrived_pct", "allocated_pct")


def load_curves(path: str) -> dict[str, dict[int, np.ndarray]]:
    """{rule: {seed: allocated % at arrived 0..130 %, NaN where the file has none}}. Raises ConfigError."""
    reader = csv.DictReader(read_text(path).splitlines())
    out: dict[str, dict[int, np.ndarray]] = {}
    with csv_errors(path, reader):
        if reader.fieldnames is None or any(c not in reader.fieldnames for c in CURVE_COLUMNS):
            raise ConfigError(f"{path}: line 1: expected the columns {', '.join(CURVE_COLUMNS)}")
        for row in reader:
            try:
                seed = int(number(row["seed"], "seed", whole=True))
                arrived = int(number(row["arrived_pct"], "arrived_pct", whole=True, minimum=0))
                if arrived > 130:
                    raise BadRow(f"arrived_pct: expected 0 to 130, got {row['arrived_pct']!r}")
                allocated = number(row["allocated_pct"], "allocated_pct", minimum=0)
                if allocated > 100:
                    raise BadRow(f"allocated_pct: expected 0 to 100, got {row['allocated_pct']!r}")
            except BadRow as exc:
                raise ConfigError(f"{path}: line {reader.line_num}: {exc}") from None
            curve = out.setdefault(row["rule"], {}).setdefault(seed, np.full(131, np.nan))
            curve[arrived] = allocated
    if not out:
        raise ConfigError(f"{path}: no rows")
    return out
