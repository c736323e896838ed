"""Numbers as CSV text that reads back bit for bit: floats in their shortest round-trip form
(Python's `repr`: `0.0`, `2109110000.5`, `1e-07`), always with a decimal point or exponent so a
reader that infers types (polars, pandas by chunks) sees a float column; whole counts as
integers; a missing value (NaN, None) as an empty cell; infinities as `inf` and `-inf`."""
from __future__ import annotations

import math

import numpy as np


def float_cell(x) -> str:
    if x is None:
        return ""
    x = float(x)
    return "" if math.isnan(x) else repr(x)


def float_cells(values: np.ndarray) -> list[str]:
    """A float column as text (one call per column: no per-row formatting in Python beyond repr)."""
    return ["" if v != v else repr(v) for v in np.asarray(values, dtype=np.float64).tolist()]
