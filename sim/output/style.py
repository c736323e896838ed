"""One house style for every plot (matplotlib, headless): light grid, no top and right
frame, readable sizes, dates as years. Importing this module sets it; plots take `plt` from
here."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")   # headless: before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({
    "figure.dpi": 110, "savefig.dpi": 110, "font.size": 9.5, "axes.titlesize": 10.5, "axes.labelsize": 9.5,
    "legend.fontsize": 8.5, "legend.frameon": False, "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6,
    "axes.spines.top": False, "axes.spines.right": False, "lines.linewidth": 1.2,
    "date.autoformatter.month": "%Y-%m", "date.autoformatter.day": "%Y-%m-%d",
})

__all__ = ["plt"]
