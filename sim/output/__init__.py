"""Results on disk and on screen: the results folder and its atomic publish, CSVs, report.md
and report.html, plots (matplotlib only here, in one house style: `style.py`), notes in words, terminal
tables, the sweep and sizing folders, and the market paths' tables, section and plot.

May import: `sim.experiment` and everything below it, `sim.errors`, `sim.rng`, `sim.metrics`,
`kernels`."""
