"""Market rental prices per SKU, one path per replica.

price(day) = usd_per_gpu_hour x (1 - decline_per_year) ^ (years from `at` to the day's month)
             x product of (1 - drop) over generation_drops dated on or before the day
             x exp(volatility x W - volatility^2 x t / 2)
W is a Brownian motion in years from the scenario start, stepped monthly from the SKU's own
stream (seed, replica, "market/<SKU>"), so a config and its baseline see the same prices;
before the scenario start the shock is 1 (that price is history). The shock has mean 1, so
the configured decline is the expected path. The price is constant within a calendar month.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from ..config.schema import MarketPrice, Scenario
from ..rng import stream


def _months_between(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


class PricePath:
    def __init__(self, s: Scenario, price: MarketPrice, seed: int, replica: int):
        self.price = price
        self.start = dt.date(s.start.year, s.start.month, 1)
        months = int(np.ceil(s.horizon_h / 730.0)) + 2
        steps = stream(seed, replica, f"market/{price.node_type}").standard_normal(months)
        sigma = price.volatility
        w = np.concatenate([[0.0], np.cumsum(steps * np.sqrt(1 / 12))])     # W at each month's start
        t = np.arange(months + 1) / 12
        self.shock = np.exp(sigma * w - sigma ** 2 * t / 2)

    def on(self, day: dt.date) -> float:
        p = self.price
        years = _months_between(p.at, day) / 12
        value = p.usd_per_gpu_hour * (1 - p.decline_per_year) ** years
        for when, drop in p.generation_drops.items():
            if when <= day:
                value *= 1 - drop
        m = _months_between(self.start, day)
        return float(value * (self.shock[min(m, self.shock.size - 1)] if m > 0 else 1.0))


def price_paths(s: Scenario, seed: int, replica: int) -> dict[str, PricePath]:
    """Node type -> its price path in this replica."""
    return {p.node_type: PricePath(s, p, seed, replica) for p in s.market.prices}
