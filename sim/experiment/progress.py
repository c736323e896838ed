"""Progress of a run on stderr: replicas done per variant, rate and time left on a terminal;
plain lines otherwise; nothing if quiet."""
from __future__ import annotations

import sys
import time


class Progress:
    """Replicas done per variant (label), rate and time left on a terminal; plain lines
    otherwise; nothing if quiet. totals, reused: label -> replicas (reused: from the cache)."""

    def __init__(self, totals: dict[str, int], quiet: bool, reused: dict[str, int] | None = None):
        self.totals, self.quiet = dict(totals), quiet
        self.done = {label: (reused or {}).get(label, 0) for label in totals}
        self.total, self.reused = sum(self.totals.values()), sum(self.done.values())
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()
        if self.reused and not quiet:
            print(f"{self.reused}/{self.total} replicas reused from the cache of an earlier, unfinished run",
                  file=sys.stderr, flush=True)
        if self.tty and not quiet and self.reused < self.total:   # on screen before the first replica ends
            print(f"\r{self._counts()} replicas, starting\033[K", end="", file=sys.stderr, flush=True)

    def _counts(self) -> str:
        return ", ".join(f"{label} {self.done[label]}/{n}" for label, n in self.totals.items())

    def step(self, label: str) -> None:
        self.done[label] += 1
        if self.quiet:
            return
        done = sum(self.done.values())
        fresh = done - self.reused
        elapsed = max(time.perf_counter() - self.t0, 1e-9)
        left = elapsed / fresh * (self.total - done)
        line = f"{self._counts()} replicas; {fresh / elapsed:.2f}/s, ~{left:.0f}s left"
        if self.tty:
            print(f"\r{line}\033[K", end="" if done < self.total else "\n", file=sys.stderr, flush=True)
        elif done == self.total or fresh % max(1, (self.total - self.reused) // 10) == 0:
            print(line, file=sys.stderr, flush=True)
