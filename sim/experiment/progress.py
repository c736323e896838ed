"""Progress of a run on stderr: replicas done, rate and time left on a terminal; plain lines
otherwise; nothing if quiet."""
from __future__ import annotations

import sys
import time


class Progress:
    """Replicas done, rate and time left on a terminal; plain lines otherwise; nothing if quiet."""

    def __init__(self, total: int, quiet: bool, reused: int = 0):
        self.total, self.done, self.reused, self.quiet = total, reused, reused, quiet
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()
        if reused and not quiet:
            print(f"{reused}/{total} replicas reused from the cache of an earlier, unfinished run",
                  file=sys.stderr, flush=True)
        if self.tty and not quiet and reused < total:   # something on screen before the first replica ends
            print(f"\r{reused}/{total} replicas, starting\033[K", end="", file=sys.stderr, flush=True)

    def step(self, label: str) -> None:
        self.done += 1
        if self.quiet:
            return
        fresh = self.done - self.reused
        elapsed = max(time.perf_counter() - self.t0, 1e-9)
        left = elapsed / fresh * (self.total - self.done)
        line = f"{label}: {self.done}/{self.total} replicas, {fresh / elapsed:.2f}/s, ~{left:.0f}s left"
        if self.tty:
            print(f"\r{line}\033[K", end="" if self.done < self.total else "\n", file=sys.stderr, flush=True)
        elif self.done == self.total or fresh % max(1, (self.total - self.reused) // 10) == 0:
            print(line, file=sys.stderr, flush=True)
