"""Seed -> named, independent random streams (one per purpose).

A stream is keyed by (seed, replica, name), so adding a stream never shifts
another, and a config and its baseline draw identical numbers for the same
tenant in the same replica: common random numbers.
"""
import hashlib

import numpy as np


def stream(seed: int, replica: int, name: str) -> np.random.Generator:
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    return np.random.default_rng(np.random.SeedSequence([seed, replica, key]))
