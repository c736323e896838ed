"""Stranded capacity: GPUs idle while jobs that could use them wait, across every scheduler
of a variant (fragmentation, and capacity split between companies)."""
from __future__ import annotations

from .fleet import Pool


class StrandingMeter:
    """Integrates min(free GPUs, queued GPU demand) per node type over time, across
    every scheduler of a variant: capacity idle while jobs that could use it wait."""

    def __init__(self):
        self.pools: dict[str, list[Pool]] = {}
        self.queued: dict[str, int] = {}
        self.total_queued = 0
        self.last_h = 0.0
        self.stranded_gpu_h = 0.0
        self.daily: dict[int, float] = {}   # day -> stranded GPU-hours

    def register(self, pool: Pool) -> None:
        self.pools.setdefault(pool.node_type, []).append(pool)
        self.queued.setdefault(pool.node_type, 0)

    def advance(self, now: float) -> None:
        if self.total_queued and now > self.last_h:
            rate = 0
            for node_type, queued in self.queued.items():
                if queued:
                    rate += min(sum(p.free_gpus for p in self.pools[node_type]), queued)
            if rate:
                self.stranded_gpu_h += rate * (now - self.last_h)
                t = self.last_h
                while t < now:   # also by day, for the plot over time
                    day = int(t // 24)
                    end = min(now, (day + 1) * 24.0)
                    self.daily[day] = self.daily.get(day, 0.0) + rate * (end - t)
                    t = end
        self.last_h = now

    def change_queued(self, node_type: str, gpus: int) -> None:
        self.queued[node_type] += gpus
        self.total_queued += gpus
