"""Command line: every command's flags and exit codes (a run, `size`, `fit`); run, print the
comparison, write results.

Exit codes: 0 ok, 2 bad input (config, trace, flags), 1 internal error or results that cannot be
written (one line naming the path), 130 interrupted. The
layers that simulate and write are imported inside the handler, so `--help` and flag errors
stay fast and an interrupt while they load is reported like any other.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
import urllib.parse
from pathlib import Path

import numpy as np

from .. import __version__
from ..config.types import MAX_REPLICAS
from ..errors import ConfigError
from ..inputs.fit import fit_trace, render
from ..inputs.traces import TRACE_FORMATS, load_trace
from .exits import ONE_LINE_ERRORS, one_line_exit
from .flags import finite, whole_number
from .inspect import inspect
from .pack import add_pack_arguments, pack
from .view import add_view_arguments, view


class OneLineParser(argparse.ArgumentParser):
    """Bad flags as every bad input: one line naming what is wrong, exit 2."""
    def error(self, message):
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


_positive_int = whole_number(1)


_replicas = whole_number(1, MAX_REPLICAS)   # the config's own cap


_seed = whole_number(0)


def _common(p: argparse.ArgumentParser) -> None:
    """Flags shared by a run and `size`."""
    p.add_argument("--replicas", type=_replicas, help="replicas per variant (default: the config's `replicas`)")
    p.add_argument("--seed", type=_seed, help="random seed (default: the config's `seed`)")
    p.add_argument("--backend", choices=("auto", "numpy", "cupy"), default="auto",
                   help="array backend for the kernels: auto = CuPy when it imports and sees a GPU, else NumPy")
    p.add_argument("--out", default="results", help="output root; results go to OUT/<scenario>/ (default: results)")
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="where replicas run: local worker processes (default), or a Dask cluster "
                        "(pip install 'fleetsim[dask]')")
    p.add_argument("--dask-address", help="address of a running Dask scheduler, e.g. tcp://host:8786 "
                                          "(default: start a LocalCluster on this machine)")
    p.add_argument("--workers", type=_positive_int,
                   help="worker processes (default: one per CPU core, at most one per replica)")
    p.add_argument("--no-cache", action="store_true",
                   help="keep no finished replicas on disk (by default they are kept in OUT/.cache/ while the "
                        "run is unfinished, so rerunning an interrupted command resumes it)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")


COMMANDS = ("run", "size", "fit", "pack", "validate", "diff", "schema", "view")


def program_name() -> str:
    """`fleetsim` when the console script runs, else `python -m sim`: help names what was typed."""
    return "fleetsim" if Path(sys.argv[0]).name == "fleetsim" else "python -m sim"


def build_parser() -> argparse.ArgumentParser:
    prog = program_name()
    p = OneLineParser(prog=prog,
                description="fleetsim: simulate GPU fleets, their power, contracts and money. `fleetsim` and "
                            "`python -m sim` are the same program; `run` is the default command, so "
                            f"`{prog} CONFIG` runs CONFIG. `{prog} COMMAND --help` explains each command.",
                epilog="Exit codes: 0 ok, 2 bad input (config, trace, series, flags: one line naming the place, "
                       "nothing written), 1 internal error or results that cannot be written (one line naming the "
                       "path), 130 interrupted (rerun the command to resume).")
    p.add_argument("--version", action="version", version=f"fleetsim {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser, title="commands")
    run = sub.add_parser("run", help="simulate a scenario and its baseline, write OUT/<scenario>/ (the default)",
                         description="Simulate a GPU fleet scenario (and its baseline, if it names one) and write "
                                     "summary.json, timeseries.csv, jobs.csv, finance.csv, finance.xlsx, replicas.csv, plots, "
                                     "report.md and report.html to OUT/<scenario>/.",
                         epilog="Any number in the config may be a distribution ({dist: normal, mean, sd}, "
                                "lognormal {mean, sigma}, uniform {low, high}, triangular {low, mode, high}, choice "
                                "{values, weights}; optional min, max), drawn once per replica; draws go to "
                                "samples.csv. A `sweep:` section (or --sweep) runs every combination of listed "
                                "values.")
    run.add_argument("config", help="scenario YAML file, e.g. configs/merged.yaml")
    run.add_argument("--baseline", help="compare against this config instead of the one named by `baseline:`")
    run.add_argument("--sweep", action="append", default=[], metavar="KEY=V1,V2,...",
                     help="run every combination of these values of an input given by its YAML path, e.g. "
                          "--sweep 'sites[0].pue=1.2,1.3,1.4' (repeatable; adds to the config's `sweep:`)")
    _common(run)
    run.add_argument("--precision", action="append", default=[], metavar="METRIC=HALF_WIDTH",
                     help="run replicas in batches until the 95%% interval of METRIC (its paired difference with a "
                          "baseline) is this narrow: relative (npv_usd=0.05 is +-5%%) or with the metric's unit "
                          "(npv_usd=250e6USD); repeatable")
    run.add_argument("--max-replicas", type=_replicas,
                     help="with --precision: stop there even if a target is not met (default: 100)")
    run.add_argument("--skip-bad-rows", action="store_true",
                     help="in replayed traces, count malformed rows (trace_rows_skipped in summary.json) "
                          "instead of stopping at the first one")
    size = sub.add_parser("size", help="the smallest capacity that meets a target with 95%% confidence",
                          description="Find the smallest value of one input (nodes of a deployment, MW of a site, "
                                      "...) that meets a target with 95% confidence, by bisection with common "
                                      "random numbers; write the explored curve to OUT/<scenario>-sizing/.")
    size.add_argument("config", help="scenario YAML file (its baseline, if any, is not run)")
    _add_sizing_arguments(size)
    _common(size)
    fit = sub.add_parser("fit", help="fit a synthetic workload to a job trace",
                         description="Fit the synthetic workload (arrival rate with diurnal and weekly shape, "
                                     "GPU-count mix, duration distribution) to a job trace and write a `workload:` "
                                     "YAML block.")
    _add_fit_arguments(fit)
    packing = sub.add_parser("pack", help="how full a GPU-sharing cluster gets under each placement rule",
                          description="Fill a cluster (a node list) with tasks drawn from a pod list until they ask "
                                      "for --inflation times its GPUs, none leaving (the FGD paper's experiment), "
                                      "under each placement rule and seed; write OUT/packing/: allocation.csv, "
                                      "medians.csv, packing.json, allocation.png, report.md.")
    add_pack_arguments(packing)
    validate = sub.add_parser("validate", help="check a config (and its baseline): print every error, write nothing",
                              description="Check a scenario file and its baseline as a run would, and print every "
                                          "problem found (one line each, in file order, at most 50); exit 0 when "
                                          "there is none, 2 otherwise. Nothing is simulated or written.")
    validate.add_argument("config", help="scenario YAML file")
    validate.add_argument("--baseline", help="check this baseline instead of the one named by `baseline:`")
    diff = sub.add_parser("diff", help="the differences of two resolved configs, by YAML path",
                          description="Resolve two scenario files (includes, defaults) and print every value that "
                                      "differs, one `path: A -> B` line each.")
    diff.add_argument("a", help="scenario YAML file")
    diff.add_argument("b", help="scenario YAML file to compare it with")
    sub.add_parser("schema", help="print the JSON Schema of a scenario file (for editor completion)",
                   description="Print the JSON Schema of a scenario file; point an editor at it with "
                               "`# yaml-language-server: $schema=fleetsim.schema.json` at the top of a config.")
    add_view_arguments(sub)
    return p


def with_command(argv: list[str]) -> list[str]:
    """The arguments with their command first: `run` where none is named (so `CONFIG ...` runs),
    and flags given before the command moved after it (`--quiet size CONFIG ...`)."""
    for i, token in enumerate(argv):
        if token in COMMANDS:
            return [token, *argv[:i], *argv[i + 1:]]
        if not token.startswith("-") and (i == 0 or not argv[i - 1].startswith("-")):
            break   # a positional argument, not a flag's value: the config of a run
    if not argv or argv[0] in ("-h", "--help", "--version"):
        return argv
    return ["run", *argv]


def _add_sizing_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", required=True,
                   help="what must hold, as METRIC>=NUMBER or METRIC<=NUMBER, e.g. 'sla_attainment>=0.99' or "
                        "'mean_wait_h<=0.5' (any metric of summary.json)")
    p.add_argument("--vary", required=True,
                   help="the input to size, as a YAML path, e.g. 'deployments[0].nodes' or "
                        "'sites[0].critical_it_mw' (scales the site's MW and its deployments together)")
    p.add_argument("--min", type=finite, dest="low", help="smallest value to consider (default 1, or --step)")
    p.add_argument("--max", type=finite, dest="high", help="largest value to consider (default 1024x the config's)")
    p.add_argument("--step", type=finite,
                   help="resolution of the answer (default 1 for whole numbers, else 1%% of the config's value)")


DASK_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss", "inproc")


def _dask_address_problem(address: str) -> str | None:
    """A scheduler address Dask can dial: [scheme://]host[:port], or why not."""
    try:
        parts = urllib.parse.urlsplit(address if "://" in address else f"tcp://{address}")
        parts.port   # a malformed port raises here
    except ValueError as exc:
        return f"--dask-address: {address!r} is not an address ({exc})"
    if parts.scheme not in DASK_SCHEMES:
        return f"--dask-address: unknown scheme {parts.scheme!r} (expected one of {', '.join(DASK_SCHEMES)})"
    if not parts.hostname and parts.scheme != "inproc":
        return f"--dask-address: {address!r} names no host"
    return None


def _check_flags(args) -> str | None:
    """Flag problems that argparse cannot see, found before anything runs."""
    if args.dask_address is not None and not args.dask_address.strip():
        return "--dask-address: expected a scheduler address such as tcp://127.0.0.1:8786, got ''"
    if args.dask_address and args.executor != "dask":
        return "--dask-address needs --executor dask"
    if args.dask_address and (problem := _dask_address_problem(args.dask_address)):
        return problem
    if not args.out.strip():
        return "--out: expected a folder, got ''"
    if getattr(args, "max_replicas", None) is not None and not args.precision:
        return "--max-replicas needs --precision"
    if getattr(args, "baseline", None) and not Path(args.baseline).is_file():
        return f"--baseline: no such file {args.baseline}"
    out = Path(args.out)
    existing = next(p for p in (out, *out.parents) if p.exists())
    if not existing.is_dir():
        return f"--out: {existing} is not a folder"
    if not os.access(existing, os.W_OK):
        return f"--out: cannot write under {existing}"
    try:   # a folder made and removed at once: some filesystems (/proc) refuse what access() allows
        os.rmdir(tempfile.mkdtemp(prefix=".fleetsim-probe-", dir=existing))
    except OSError as exc:
        return f"--out: cannot write under {existing}: {exc.strerror or exc}"
    cache = out / ".cache"
    if not getattr(args, "no_cache", True) and (cache.exists() or cache.is_symlink()) and not cache.is_dir():
        return f"--out: {cache} is not a folder (finished replicas are kept there): move it, or use --no-cache"
    return None


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:   # one that lands outside a command's own handler (parsing flags, loading a layer)
        print("interrupted: no results written", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    argv = with_command(sys.argv[1:] if argv is None else list(argv))
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "fit":
        return _fit(args, argv[1:])
    if args.command == "pack":
        return pack(args)
    if args.command == "view":
        return view(args)
    if args.command in ("validate", "diff", "schema"):
        return inspect(args)
    sizing = args.command == "size"
    problem = _check_flags(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    args.t0 = time.perf_counter()
    cache_root = None if args.no_cache else Path(args.out) / ".cache"
    opts = dict(backend=args.backend, workers=args.workers, executor=args.executor,
                dask_address=args.dask_address, cache_root=cache_root, quiet=args.quiet)
    try:
        if sizing:
            return _size(args, opts)
        return _run(args, opts)
    except ONE_LINE_ERRORS as exc:
        return one_line_exit(exc)
    except KeyboardInterrupt:
        kept = f"; finished replicas are kept in {cache_root}/ and the same command resumes from them" \
            if cache_root is not None and cache_root.is_dir() else ""
        print(f"interrupted: no results written{kept}", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so plainly, details on request
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if os.environ.get("FLEETSIM_DEBUG"):
            traceback.print_exc()
        return 1


def _run(args, opts) -> int:
    from ..config.variants import parse_flag, setup
    from ..experiment.cache import ReplicaCache
    from ..experiment.runner import run_setup
    from ..experiment.sweep import run_sweep
    from ..output.explain import identical_note
    from ..output.notes import warnings
    from ..output.results import check_replaceable, write_results
    from ..output.sweep import write_sweep
    from ..output.tables import text_table

    plan = setup(args.config, args.seed, args.replicas, args.baseline, dict(map(parse_flag, args.sweep)),
                 skip_bad_rows=args.skip_bad_rows)
    name = plan.variants[0].raw.get("scenario")
    if isinstance(name, str):
        check_replaceable(args.out, name)   # before any simulation: a user's folder is never touched
    if plan.sweep:
        result = run_sweep(plan, **opts)
        out = write_sweep(result, args.out)
        ReplicaCache(result.cache_folder).clear()
        if not args.quiet:
            print(f"wrote {out}/ in {time.perf_counter() - args.t0:.1f}s: {len(result.points)} sweep points x "
                  f"{result.replicas} replicas (backend {result.backend}); see {out}/report.md")
        return 0
    if args.precision:
        from ..experiment.precision import DEFAULT_MAX_REPLICAS, parse_precision, run_to_precision
        from ..experiment.runner import add_breakevens
        targets = [parse_precision(text) for text in args.precision]
        exp = run_to_precision(plan, targets, args.max_replicas or DEFAULT_MAX_REPLICAS,
                               lambda batch: run_setup(batch, **opts, with_breakevens=False), add_breakevens)
    else:
        exp = run_setup(plan, **opts)
    out = write_results(exp, args.out)
    ReplicaCache(exp.cache_folder).clear()   # finished: the replicas live on in the results
    if not args.quiet:
        print(text_table(exp))
        if note := identical_note(exp):
            print(f"\n{note}")
        for line in warnings(exp):
            print(f"warning: {line}", file=sys.stderr)
        if exp.precision:
            from ..experiment.precision import describe
            print(describe(exp.precision))
        print(f"\nwrote {out}/ in {time.perf_counter() - args.t0:.1f}s (backend {exp.backend}, "
              f"{exp.replicas} replicas)")
    return 0


def _size(args, opts) -> int:
    from ..experiment.cache import ReplicaCache
    from ..experiment.sizing import parse_target, size
    from ..output.sizing import write_sizing

    target = parse_target(args.target)
    result, folder = size(args.config, target, args.vary, seed=args.seed, replicas=args.replicas, low=args.low,
                          high=args.high, step=args.step, **opts)
    out = write_sizing(result, args.out)
    ReplicaCache(folder).clear()
    if not args.quiet:
        for p in sorted(result.probes, key=lambda p: p.value):
            lo, hi = p.stats["ci95"]
            ci = "" if lo is None else f" [{lo:.4g}, {hi:.4g}]"
            mean = "n/a" if p.stats["mean"] is None else f"{p.stats['mean']:.4g}"
            fleet = f" ({p.fleet})" if p.fleet else ""
            print(f"{args.vary} = {p.value:.6g}{fleet}: {target.metric} {mean}{ci}  {'meets' if p.met else 'misses'}")
        if result.answer is None:
            print(f"no value of {args.vary} up to {result.limit:g} meets {target.text} with 95% confidence")
        else:
            print(f"smallest {args.vary} meeting {target.text} with 95% confidence: {result.answer:.6g}")
        print(f"wrote {out}/ in {time.perf_counter() - args.t0:.1f}s")
    return 0


def _gpu_range(text: str) -> tuple[int, int]:
    try:
        low, high = (int(x) for x in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN-MAX whole numbers such as 2-8, got {text!r}") from None
    if not 1 <= low <= high:
        raise argparse.ArgumentTypeError(f"expected 1 <= MIN <= MAX, got {text!r}")
    return low, high


def _add_fit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("trace", help="trace file (.gz is read transparently)")
    p.add_argument("--format", required=True, choices=TRACE_FORMATS, help="trace format")
    p.add_argument("--out", help="write the YAML block to this file (default: print it)")
    p.add_argument("--node-type", default="gpu", help="node_type to write into the block (default: gpu)")
    p.add_argument("--select", nargs="+", metavar="TENANT",
                   help="fit only these tenants (virtual clusters, users, queues as the trace names them)")
    p.add_argument("--gpus", metavar="MIN-MAX", type=_gpu_range,
                   help="fit only jobs with MIN to MAX GPUs (e.g. 2-8), to fit job-size classes one by one")
    p.add_argument("--durations", choices=("auto", "lognormal", "exponential", "empirical"), default="auto",
                   help="duration distribution to write: auto = lognormal or exponential, whichever has the "
                        "higher log-likelihood")
    p.add_argument("--skip-bad-rows", action="store_true", help="skip malformed rows (counted) instead of failing")


def fit_main(argv: list[str]) -> int:
    """`python -m sim fit TRACE --format F`: exit 0 ok, 2 bad input (trace, flags)."""
    return main(["fit", *argv])


def _fit(args, argv: list[str]) -> int:
    try:
        trace = load_trace(args.trace, args.format, args.skip_bad_rows)
        keep = np.ones(len(trace), dtype=bool)
        if args.select:
            keep = np.isin(trace.tenant, np.asarray(args.select, dtype=object))
            if not keep.any():
                known = sorted(set(trace.tenant.tolist()))
                shown = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
                raise ConfigError(f"--select: no jobs of {', '.join(args.select)} in {args.trace} "
                                  f"(tenants: {shown})")
        if args.gpus:
            keep &= (trace.gpus >= args.gpus[0]) & (trace.gpus <= args.gpus[1])
        try:
            fit = fit_trace(trace.submit_s[keep], trace.duration_s[keep], trace.gpus[keep], trace.clock_origin_s)
        except ValueError as exc:
            raise ConfigError(f"{args.trace}: {exc}") from None
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    first = None
    if trace.clock_origin_s is not None:
        first = trace.clock_origin_s + float(trace.submit_s[keep].min())
    command = "python -m sim fit " + " ".join(argv)
    text = render(fit, trace_path=args.trace, fmt=args.format, node_type=args.node_type, durations=args.durations,
                  command=command, rows_skipped=trace.rows_skipped, rows_left_out=trace.rows_left_out,
                  selected=args.select, first_clock_s=first)
    if args.out:
        try:
            with open(args.out, "w") as handle:
                handle.write(text)
        except OSError as exc:
            print(f"error: --out: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0

