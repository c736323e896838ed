"""The two kinds of failure every layer may raise: bad input and a broken invariant.

`ConfigError` is the user's (config, trace, series, flags): the command line prints its one line
and exits 2. `InvariantError` is ours: a conservation law failed, which is a bug (exit 1).
"""


class ConfigError(Exception):
    """Bad input: one line naming where (file, YAML path) and what was expected."""


class InvariantError(AssertionError):
    """A conservation law of the model failed: a bug, never bad input."""
