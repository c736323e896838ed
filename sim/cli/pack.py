"""`pack`: fill a GPU-sharing cluster under each placement rule (the FGD paper's experiment)
and write OUT/packing/."""
from __future__ import annotations

import argparse
import sys
import time

from ..engine.packing import RULES
from ..errors import ConfigError
from .exits import ONE_LINE_ERRORS, one_line_exit
from .flags import finite, whole_number
def add_pack_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("pods", help="openb pod list (cpu_milli, memory_mib, num_gpu, gpu_milli[, gpu_spec]); .gz is read")
    p.add_argument("--nodes", required=True, help="node list: openb (sn, cpu_milli, memory_mib, gpu, model) or "
                                                  "PAI 2020 machine spec")
    p.add_argument("--rules", default=",".join(RULES), type=lambda t: _choices(t, RULES, "--rules"),
                   help=f"placement rules, comma-separated (default: all: {', '.join(RULES)})")
    p.add_argument("--seeds", type=whole_number(1, 1000), default=10, help="seeds per rule (default 10: 42..51)")
    p.add_argument("--first-seed", type=whole_number(0), default=42, help="first seed (default 42, as the paper)")
    p.add_argument("--inflation", type=finite, default=1.3,
                   help="stop when the arrived tasks ask for this many times the cluster's GPUs (default 1.3)")
    p.add_argument("--published", help="curves to draw beside ours (columns rule, seed, arrived_pct, "
                                       "allocated_pct), e.g. docs/data/fgd_allocation_published.csv")
    p.add_argument("--out", default="results", help="results root (default: results); writes OUT/packing/")
    p.add_argument("--quiet", action="store_true", help="print only errors")


def _choices(text: str, allowed: tuple[str, ...], flag: str) -> list[str]:
    picked = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in picked if t not in allowed]
    if bad or not picked:
        raise argparse.ArgumentTypeError(f"{flag}: unknown {', '.join(bad) or 'empty list'}; "
                                         f"choose from {', '.join(allowed)}")
    return picked


def pack(args) -> int:
    from ..experiment.packing import fill, requests_of
    from ..inputs.curves import load_curves
    from ..inputs.nodelists import load_node_list
    from ..inputs.traces import openb_pods
    from ..output.packing import SHOWN_AT, curves_by_rule, median_curves, summary_rows, write_packing

    t0 = time.perf_counter()
    try:
        if not 1.0 <= args.inflation <= 1.3:
            raise ConfigError(f"--inflation: expected 1 to 1.3 (curves run to 130 % arrived), got {args.inflation}")
        requests = requests_of(openb_pods(args.pods))
        if not requests:
            raise ConfigError(f"{args.pods}: no pods")
        nodes = load_node_list(args.nodes)
        if nodes.gpus.max(initial=0) > 8:
            raise ConfigError(f"{args.nodes}: a node with {int(nodes.gpus.max())} GPUs; at most 8 per node")
        if not nodes.gpus.sum():
            raise ConfigError(f"{args.nodes}: no GPUs")
        published = load_curves(args.published) if args.published else {}
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
        fills = []
        for rule in args.rules:
            for seed in seeds:
                fills.append(fill(requests, nodes, rule, seed, args.inflation))
                if not args.quiet:
                    print(f"\r{rule}: seed {seed} ({len(fills)}/{len(args.rules) * len(seeds)})", end="",
                          file=sys.stderr, flush=True)
        if not args.quiet:
            print(file=sys.stderr)
        meta = {"pods": args.pods, "nodes": args.nodes, "rules": args.rules, "seeds": seeds,
                "inflation": args.inflation, "gpus": int(nodes.gpus.sum()), "published": args.published}
        out = write_packing(fills, meta, published, args.out)
    except ONE_LINE_ERRORS as exc:
        return one_line_exit(exc)
    except KeyboardInterrupt:
        print("interrupted: no results written", file=sys.stderr)
        return 130
    if not args.quiet:
        print("median GPU allocated (%) at " + ", ".join(f"{p} %" for p in SHOWN_AT) + " arrived"
              + (" (published)" if published else ""))
        ours = {rule: median_curves(c) for rule, c in curves_by_rule(fills).items()}
        for row in summary_rows(ours, {rule: median_curves(c) for rule, c in published.items()}):
            print(f"  {row[0]:<15} " + "  ".join(f"{c:<15}" for c in row[1:]))
        print(f"wrote {out}/ in {time.perf_counter() - t0:.1f}s")
    return 0
