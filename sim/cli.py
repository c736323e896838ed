"""Command line: parse flags, run, print the comparison, write results, exit code.

Exit codes: 0 ok, 2 bad input (config, trace, flags), 1 internal error.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from kernels import BackendError

from .config import ConfigError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for every bad input
        print(f"error: {message} (see python -m sim --help)", file=sys.stderr)
        sys.exit(2)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m sim",
                description="Simulate a GPU fleet scenario (and its baseline, if it names one) and write "
                            "summary.json, timeseries.csv, jobs.csv, finance.csv, plots and report.md to "
                            "OUT/<scenario>/.")
    p.add_argument("config", help="scenario YAML file, e.g. configs/merged.yaml")
    p.add_argument("--replicas", type=_positive_int, help="replicas per variant (default: the config's `replicas`)")
    p.add_argument("--seed", type=_seed, help="random seed (default: the config's `seed`)")
    p.add_argument("--backend", choices=("auto", "numpy", "cupy"), default="auto",
                   help="array backend for the kernels: auto = CuPy when it imports and sees a GPU, else NumPy")
    p.add_argument("--out", default="results", help="output root; results go to OUT/<scenario>/ (default: results)")
    p.add_argument("--baseline", help="compare against this config instead of the one named by `baseline:`")
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="where replicas run: local processes, or a Dask cluster")
    p.add_argument("--dask-address", help="address of a running Dask scheduler (default: start a LocalCluster)")
    p.add_argument("--workers", type=_positive_int,
                   help="worker processes (default: one per CPU core, at most one per replica)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return p


def _check_flags(args) -> str | None:
    """Flag problems that argparse cannot see, found before anything runs."""
    if args.dask_address and args.executor != "dask":
        return "--dask-address needs --executor dask"
    if args.baseline and not Path(args.baseline).is_file():
        return f"--baseline: no such file {args.baseline}"
    out = Path(args.out)
    existing = next(p for p in (out, *out.parents) if p.exists())
    if not existing.is_dir():
        return f"--out: {existing} is not a folder"
    if not os.access(existing, os.W_OK):
        return f"--out: cannot write under {existing}"
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["fit"]:
        from .fit import main as fit_main
        return fit_main(argv[1:])
    args = build_parser().parse_args(argv)
    problem = _check_flags(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from .experiment import run_experiment
    from .report import text_table, warnings
    from .results import write_results
    try:
        exp = run_experiment(args.config, seed=args.seed, replicas=args.replicas, backend=args.backend,
                             workers=args.workers, quiet=args.quiet, baseline=args.baseline,
                             executor=args.executor, dask_address=args.dask_address)
        out = write_results(exp, args.out)
    except (ConfigError, BackendError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing written", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so plainly, details on request
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if os.environ.get("FLEETSIM_DEBUG"):
            traceback.print_exc()
        return 1
    if not args.quiet:
        print(text_table(exp))
        for line in warnings(exp):
            print(f"warning: {line}")
        print(f"\nwrote {out}/ in {exp.wall_s:.1f}s (backend {exp.backend}, {exp.replicas} replicas)")
    return 0
