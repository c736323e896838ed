"""The command line: every command's flags and exit codes (`main`: run, size, fit; `inspect`:
validate, diff, schema). The top layer: it may import every layer below.

May import: everything in `sim` but `sim.api`, and `kernels`."""
from .main import fit_main, main

__all__ = ["fit_main", "main"]
