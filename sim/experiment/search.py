"""The one-input search that sizing and breakevens share."""
from __future__ import annotations

import math


def smallest_meeting(evaluate, start: float, whole: bool, low: float, high: float, step: float) -> float | None:
    """Smallest value in [low, high] for which evaluate(value) is True, assuming monotone (False
    below some value, True from it on); None when it is False at `high`. From `start` it halves
    or doubles until it brackets the answer, then bisects to `step` (whole numbers: to 1)."""
    shrink = (lambda v: float(max(low, math.floor(v / 2)))) if whole else (lambda v: max(low, v / 2))
    grow = (lambda v: float(min(high, max(v + 1, v * 2)))) if whole else (lambda v: min(high, max(v * 2, v + step)))
    if evaluate(start):
        hi = start
        while True:
            lo = shrink(hi)
            if lo >= hi:
                return hi
            if not evaluate(lo):
                break
            hi = lo
    else:
        lo = start
        while True:
            hi = grow(lo)
            if hi <= lo:
                return None
            if evaluate(hi):
                break
            lo = hi
    while hi - lo > step:
        mid = float(math.floor((lo + hi) / 2)) if whole else (lo + hi) / 2
        if mid <= lo or mid >= hi:
            break
        if evaluate(mid):
            hi = mid
        else:
            lo = mid
    return hi
