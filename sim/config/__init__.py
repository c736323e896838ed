"""YAML -> a validated, immutable `Scenario`: scalar types (dates, durations, schedules),
the schema, loading (YAML, `include:`, one-line errors with the YAML path), cross-checks,
uncertain inputs, YAML paths, and a command's plan (a config, its baseline, the sweep).

May import: `sim.inputs` (to read the files a scenario names), `sim.errors`, `sim.rng`,
`sim.metrics`, `kernels`."""
