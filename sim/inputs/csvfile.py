"""What every CSV reader here shares: the csv module's own errors (a field over its size limit,
a quote left open) turned into one line naming the file and line."""
from __future__ import annotations

import contextlib
import csv

from ..errors import ConfigError


@contextlib.contextmanager
def csv_errors(path: str, reader):
    try:
        yield
    except csv.Error as exc:
        raise ConfigError(f"{path}: line {reader.line_num}: {exc}") from None
