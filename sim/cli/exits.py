"""The one-line errors every command ends with, and their exit codes (README, "Command line")."""
from __future__ import annotations

import sys

from kernels import BackendError

from ..errors import ConfigError, OutputError

ONE_LINE_ERRORS = (ConfigError, BackendError, OutputError)


def one_line_exit(exc: Exception) -> int:
    """Print a bad input or an unwritable result as one line; its exit code: 2 for bad input
    (config, trace, series, flags, backend), 1 for results that cannot be written."""
    print(f"error: {exc}", file=sys.stderr)
    return 1 if isinstance(exc, OutputError) else 2
