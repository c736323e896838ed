"""Caching of what is read from input files, keyed by the file's path, modification time and
size: a config load and every replica share one read, and an edited file is read again (a
notebook or script that runs on keeps seeing the file as it is now)."""
from __future__ import annotations

import functools
import os


def cached_by_file(maxsize: int):
    """Decorate `fn(path, *args, **kwargs)`; a path that cannot be stat'ed goes straight to
    `fn`, which reports it."""
    def wrap(fn):
        @functools.lru_cache(maxsize=maxsize)
        def keyed(path, mtime_ns, size, *args, **kwargs):
            return fn(path, *args, **kwargs)

        @functools.wraps(fn)
        def call(path, *args, **kwargs):
            try:
                st = os.stat(path)
            except OSError:
                return fn(path, *args, **kwargs)
            return keyed(str(path), st.st_mtime_ns, st.st_size, *args, **kwargs)
        return call
    return wrap
