"""Variants x replicas: the runner, executors (local processes, Dask), the replica cache,
statistics across replicas, progress, and the studies built on runs (sweeps, sizing, breakevens), and
the packing experiment (a GPU-sharing cluster filled under each placement rule); no
files but the cache, no plots.

May import: `sim.money` and everything below it, `sim.errors`, `sim.rng`, `sim.metrics`,
`kernels`."""
