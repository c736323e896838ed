"""Placement scoring as array math against the same rules one node at a time (DESIGN §10).

On the FGD paper's cluster (openb, 1,213 nodes, 6,212 GPUs) and tasks drawn from its default
pod list, places the same first tasks with `sim.engine.packing` (every node scored at once;
FGD keeps per-node scores and rescores only the node that changed) and with the loop-by-loop
port of the paper's simulator in tests/packing_reference.py, checks that both choose the same
node and GPUs for every task, and prints the time per placement of each and their ratio,
measured in this one run. Then the whole experiment's time per rule (one seed, 130 % arrived).

    python bench/placement.py [--tasks 40]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from sim.engine.packing import RULES, Placer, TypicalRequests, make_rule  # noqa: E402
from sim.engine.sharing import SharingNodes  # noqa: E402
from sim.experiment.packing import arrivals, fill, requests_of  # noqa: E402
from sim.inputs.nodelists import load_node_list  # noqa: E402
from sim.inputs.traces import openb_pods  # noqa: E402
from sim.rng import stream  # noqa: E402
from tests import packing_reference as ref  # noqa: E402

OPENB = os.path.join(ROOT, "..", "shared", "data", "alibaba-gpu-2023")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=40, help="tasks placed by both (the loop port is slow)")
    args = p.parse_args()
    nodes = load_node_list(os.path.join(OPENB, "openb_node_list_gpu_node.csv.gz"))
    requests = requests_of(openb_pods(os.path.join(OPENB, "openb_pod_list_default.csv.gz")))
    typical = TypicalRequests.of(requests)
    kinds = [((int(c), int(g), int(m), models), float(s)) for c, g, m, models, s in
             zip(typical.cpu, typical.gpus, typical.milli, typical.models, typical.share)]
    print(f"cluster: {len(nodes.gpus)} nodes, {int(nodes.gpus.sum())} GPUs; {len(kinds)} typical kinds; "
          f"{args.tasks} tasks")
    for rule in ("best_fit", "fgd"):
        table = SharingNodes.from_node_list(nodes)
        queue = arrivals(requests, table.gpu_capacity_milli, 1.3, seed=42)[:args.tasks]
        placer = Placer(table, make_rule(rule, typical, stream(42, 0, "unused")))
        mirror = [{"cpu": int(table.cpu_free[n]), "mem": int(table.memory_free[n]),
                   "gpus": table.gpu_free[n, :table.gpus[n]].tolist(), "model": table.model_names[table.model[n]],
                   "tags": {}} for n in range(len(table))]
        t0 = time.perf_counter()
        ours = [placer.place(r) for r in queue]
        t_array = (time.perf_counter() - t0) / len(queue)
        t0 = time.perf_counter()
        theirs = [ref.place(mirror, r, rule, kinds) for r in queue]
        t_loop = (time.perf_counter() - t0) / len(queue)
        same = ours == theirs
        print(f"{rule:<9} array {t_array * 1e3:8.3f} ms/placement   loop {t_loop * 1e3:9.3f} ms/placement   "
              f"same choices: {same}   array_vs_loop={t_loop / t_array:.1f}")
        if not same:
            raise SystemExit("the array rules and the loop port disagree")
    print("whole experiment, one seed (10,825 tasks to 130 % arrived):")
    for rule in RULES:
        t0 = time.perf_counter()
        run = fill(requests, nodes, rule, seed=42)
        wall = time.perf_counter() - t0
        print(f"  {rule:<15} {wall:6.2f} s  {wall / run.placed.size * 1e3:6.3f} ms/task  "
              f"allocated at 130 %: {run.curve()[130]:.2f} %")


if __name__ == "__main__":
    main()
