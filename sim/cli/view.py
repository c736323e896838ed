"""`fleetsim view FOLDER`: the notebook (notebooks/explore.py) served on a results folder by
marimo, in the browser; its what-ifs start from `--config`."""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "explore.py"


def add_view_arguments(sub) -> None:
    view = sub.add_parser("view", help="open the notebook on a results folder (marimo, in the browser)",
                          description="Serve the explore notebook on a results folder with `marimo run` and open "
                                      "it in the browser: the comparison, plots by site and company, and what-ifs "
                                      "against the loaded run. Needs the 'notebook' extra (pip install "
                                      "'fleetsim[notebook]'). For a file to send around, use report.html.")
    view.add_argument("folder", nargs="?", default="results/merged", help="results folder (default: results/merged)")
    view.add_argument("--config", default="configs/merged.yaml",
                      help="the config the what-ifs re-run (default: configs/merged.yaml)")
    view.add_argument("--port", type=int, default=2718, help="port to serve on (default: 2718)")
    view.add_argument("--headless", action="store_true", help="serve without opening a browser")


def view_command(folder: Path, config: str, port: int, headless: bool) -> list[str]:
    return [sys.executable, "-m", "marimo", "run", str(NOTEBOOK), "--port", str(port),
            *(["--headless"] if headless else []), "--", "--folder", str(folder), "--config", config]


def view(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    if not (folder / "summary.json").is_file():
        print(f"error: view: {folder} holds no results (no summary.json): run `fleetsim CONFIG` first",
              file=sys.stderr)
        return 2
    if importlib.util.find_spec("marimo") is None:
        print("error: view: marimo is not installed: pip install 'fleetsim[notebook]'", file=sys.stderr)
        return 2
    if not NOTEBOOK.is_file():
        print(f"error: view: the notebook {NOTEBOOK} is not here (it ships with a source checkout)", file=sys.stderr)
        return 2
    try:
        return subprocess.call(view_command(folder, args.config, args.port, args.headless))
    except KeyboardInterrupt:
        return 130
