"""fleetsim: a discrete-event model of GPU fleets, tenant contracts, energy and finance.

Folders follow the data's way through the program and import only the ones below them:
cli, api -> output -> experiment -> money -> metering -> engine -> config -> inputs; any of
them may use errors, rng, metrics and the `kernels` package (import-linter holds the rule)."""
__version__ = "0.1.0"
