"""How full a GPU-sharing cluster gets under each placement rule: the experiment of the FGD
paper (Weng et al., USENIX ATC 2023, section 6), computation only.

Requests arrive one after another until their GPU requests reach `inflation` (1.3) times the
cluster's GPUs; none leaves. As in the paper's simulator (its workload tuning, `-tune 1.3
--shuffle-pod=true`), the pod list is taken in a random order and then topped up with pods
drawn from it at random (or thinned at random when it asks for more); a request that fits
nowhere is left out and the next one comes. After each arrival we record the GPU requested so
far and the GPU allocated, in thousandths of a GPU.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.packing import Placer, TypicalRequests, make_rule
from ..engine.sharing import Request, SharingNodes
from ..inputs.nodelists import NodeList
from ..inputs.traces import OpenbPods
from ..rng import stream


def requests_of(pods: OpenbPods) -> list[Request]:
    return [Request(int(c), int(m), int(g), int(k) if g else 0, frozenset(s.split("|")) if s else frozenset())
            for c, m, g, k, s in zip(pods.cpu_milli, pods.memory_mib, pods.num_gpu, pods.gpu_milli, pods.gpu_spec)]


@dataclass(frozen=True)
class Fill:
    rule: str
    seed: int
    capacity_milli: int
    arrived_milli: np.ndarray     # GPU requested by the arrivals so far, after each arrival
    used_milli: np.ndarray        # GPU allocated after each arrival
    placed: np.ndarray            # bool: the arrival found a node

    def curve(self, percents: range = range(0, 131)) -> np.ndarray:
        """Allocated share of the GPUs (%) at each arrived workload (% of the GPUs), binned as
        the paper's analysis bins it: arrivals rounded to whole percents, allocations to 0.01 %,
        the mean of a bin (or of its neighbours +-1 when empty); NaN where none."""
        arrived = np.round(self.arrived_milli / self.capacity_milli * 100)
        alloc = np.round(self.used_milli / self.capacity_milli * 100, 2)
        out = np.full(len(percents), np.nan)
        for i, p in enumerate(percents):
            hit = arrived == p
            if not hit.any():
                hit = (arrived >= p - 1) & (arrived <= p + 1)
            if hit.any():
                out[i] = round(float(alloc[hit].mean()), 2)
        return out


def arrivals(requests: list[Request], capacity_milli: int, inflation: float, seed: int) -> list[Request]:
    """The list in a random order, topped up (or thinned) at random to `inflation` x capacity."""
    rng = np.random.default_rng(seed)
    out = [requests[i] for i in rng.permutation(len(requests))]
    target = inflation * capacity_milli
    total = sum(r.total_milli for r in out)
    while total > target and out:
        total -= out.pop(int(rng.integers(len(out)))).total_milli
    while True:
        extra = requests[int(rng.integers(len(requests)))]
        if total + extra.total_milli > target:
            return out
        out.append(extra)
        total += extra.total_milli


def fill(requests: list[Request], nodes: NodeList, rule: str, seed: int, inflation: float = 1.3) -> Fill:
    if not requests:
        raise ValueError("no requests")
    table = SharingNodes.from_node_list(nodes)
    capacity = table.gpu_capacity_milli
    if capacity == 0:
        raise ValueError("the node list has no GPUs")
    placer = Placer(table, make_rule(rule, TypicalRequests.of(requests), stream(seed, 0, "random placement")))
    queue = arrivals(requests, capacity, inflation, seed)
    arrived, used = np.empty(len(queue), np.int64), np.empty(len(queue), np.int64)
    placed = np.zeros(len(queue), bool)
    asked = allocated = 0
    for i, request in enumerate(queue):
        asked += request.total_milli
        if placer.place(request) is not None:
            placed[i] = True
            allocated += request.total_milli
        arrived[i], used[i] = asked, allocated
    if allocated != table.gpu_used_milli:
        raise AssertionError(f"{rule}: allocated {allocated} != the node table's {table.gpu_used_milli}")
    return Fill(rule, seed, capacity, arrived, used, placed)

