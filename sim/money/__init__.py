"""Contracts (reservations, on-demand and spot, hosting fees, legacy loads) and the monthly
statements per company built from them (EBITDA, debt, DSCR, NPV).

May import: `sim.metering` and everything below it, `sim.errors`, `sim.rng`, `sim.metrics`,
`kernels`."""
