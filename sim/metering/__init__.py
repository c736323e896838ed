"""Engine records -> hourly GPU-hours, power, energy, cost and carbon (through the kernels),
monthly books of use, and the job metrics (waits, completion, slowdown, goodput).

May import: `sim.engine`, `sim.config`, `sim.inputs`, `sim.errors`, `sim.rng`, `sim.metrics`,
`kernels`."""
