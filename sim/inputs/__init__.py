"""Files a scenario names, read without knowing anything of scenarios: job traces (one module
per format behind one registry and one `Trace` table), node lists, hourly series, allocation
curves to compare with, the cache of
what was read (by path, time and size), and fitting a synthetic workload to a trace.

May import: `sim.errors`, `sim.rng`, `sim.metrics`, `kernels`; nothing else of `sim`."""
