"""Contracts (reservations, on-demand and spot, hosting fees, legacy loads) and the monthly
statements per company built from them (EBITDA, debt, DSCR, NPV); what lenders do (borrowing
base, cash sweeps, default); terminal value, IRR, payback, the deal and the offer per share;
the same money over thousands of market paths.

May import: `sim.metering` and everything below it, `sim.errors`, `sim.rng`, `sim.metrics`,
`kernels`."""
