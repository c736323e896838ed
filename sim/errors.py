"""The kinds of failure every layer may raise: bad input, results that cannot be written, and
a broken invariant.

`ConfigError` is the user's (config, trace, series, flags): the command line prints its one line
and exits 2. `OutputError` is the machine's (a full disk, a folder that refuses files): one line
naming the path, exit 1, nothing half-written. `InvariantError` is ours: a conservation law
failed, which is a bug (exit 1).
"""


class ConfigError(Exception):
    """Bad input: one line naming where (file, YAML path) and what was expected."""


class OutputError(Exception):
    """Results could not be written: the path and the system's reason, in one line."""


class InvariantError(AssertionError):
    """A conservation law of the model failed: a bug, never bad input."""
