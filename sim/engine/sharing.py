"""GPU-sharing nodes: per node its free CPU (thousandths of a core), memory (MiB) and the free
thousandths of each of its GPUs, as arrays; a request over that vector; and which nodes can
take a request now.

A request asks for CPU, memory and either whole GPUs or a share of one GPU (`gpus == 1`,
`milli < 1000`: several such requests share a GPU, as in Alibaba's GPU-sharing cluster); it
may allow only some GPU models. Units are whole numbers, so nothing drifts as requests come
and go. The placement rules over these arrays are in `sim.engine.packing`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config.types import MAX_SHARING_GPUS   # GPU clustering's tags: a share, or 1..8 whole GPUs
from ..errors import InvariantError

MILLI = 1000          # thousandths of one GPU


@dataclass(frozen=True)
class Request:
    cpu: int                          # thousandths of a core
    memory: int                       # MiB
    gpus: int                         # GPUs asked for (0: CPU only)
    milli: int                        # thousandths of each GPU: 1000 for whole GPUs, < 1000 to share one
    models: frozenset[str] = frozenset()   # allowed GPU models, empty for any

    def __post_init__(self):
        if self.gpus < 0 or self.cpu < 0 or self.memory < 0:
            raise ValueError(f"negative request {self}")
        if self.gpus and not 0 < self.milli <= MILLI:
            raise ValueError(f"milli must be 1 to {MILLI} for a GPU request, got {self.milli}")
        if self.milli < MILLI and self.gpus > 1:
            raise ValueError("only a single GPU can be shared")
        if self.gpus > MAX_SHARING_GPUS:
            raise ValueError(f"at most {MAX_SHARING_GPUS} GPUs on one node, got {self.gpus}")

    @property
    def shares_gpu(self) -> bool:
        return self.gpus == 1 and self.milli < MILLI

    @property
    def total_milli(self) -> int:
        return self.gpus * self.milli if self.gpus else 0

    @property
    def tag(self) -> int:
        """GPU clustering's kind of request: 0 a share of one GPU, k for k whole GPUs (-1: no GPU)."""
        return -1 if not self.gpus else 0 if self.shares_gpu else self.gpus


class SharingNodes:
    """Free resources of every node. `version[n]` counts the changes of node n, so that a rule
    may keep per-node scores and recompute only the nodes that changed."""

    def __init__(self, cpu_milli, memory_mib, gpus, models):
        gpus = np.asarray(gpus, np.int64)
        if gpus.size == 0:
            raise ValueError("no nodes")
        width = max(int(gpus.max()), 1)
        if width > MAX_SHARING_GPUS:
            raise ValueError(f"at most {MAX_SHARING_GPUS} GPUs per node, got {width}")
        self.cpu_capacity = np.asarray(cpu_milli, np.int64).copy()
        self.memory_capacity = np.asarray(memory_mib, np.int64).copy()
        self.gpus = gpus
        self.cpu_free = self.cpu_capacity.copy()
        self.memory_free = self.memory_capacity.copy()
        # absent GPUs hold 0 free: they never fit a GPU request and add nothing to a sum
        self.gpu_free = np.where(np.arange(width)[None, :] < gpus[:, None], MILLI, 0).astype(np.int64)
        self.model_names = sorted({str(m) for m in models})
        self.model = np.asarray([self.model_names.index(str(m)) for m in models], np.int64)
        self.tags = np.zeros((gpus.size, MAX_SHARING_GPUS + 1), np.int64)   # requests by tag per node
        self.version = np.zeros(gpus.size, np.int64)

    @classmethod
    def from_node_list(cls, nodes) -> SharingNodes:
        """From a `sim.inputs.nodelists.NodeList` (cores and GiB back to the list's own units)."""
        return cls(np.rint(nodes.cpu_cores * 1000), np.rint(nodes.memory_gib * 1024), nodes.gpus, nodes.model)

    def __len__(self) -> int:
        return self.gpus.size

    @property
    def gpu_capacity_milli(self) -> int:
        return int(self.gpus.sum()) * MILLI

    @property
    def gpu_used_milli(self) -> int:
        return self.gpu_capacity_milli - int(self.gpu_free.sum())

    def allowed(self, request: Request) -> np.ndarray:
        """Nodes whose GPU model the request accepts (every node for a CPU-only request)."""
        if not request.gpus:
            return np.ones(len(self), bool)
        ok = self.gpus > 0
        if request.models:
            ok &= np.isin(self.model, [i for i, m in enumerate(self.model_names) if m in request.models])
        return ok

    def fits(self, request: Request) -> np.ndarray:
        """Nodes that can take the request now: CPU, memory, model, and enough GPUs each with
        at least `milli` free."""
        ok = (self.cpu_free >= request.cpu) & (self.memory_free >= request.memory) & self.allowed(request)
        if request.gpus:
            ok &= (self.gpu_free >= request.milli).sum(axis=1) >= request.gpus
        return ok

    def take(self, node: int, request: Request, gpu_ids: tuple[int, ...]) -> None:
        self._change(node, request, gpu_ids, -1)

    def release(self, node: int, request: Request, gpu_ids: tuple[int, ...]) -> None:
        self._change(node, request, gpu_ids, +1)

    def _change(self, node: int, request: Request, gpu_ids: tuple[int, ...], sign: int) -> None:
        if len(gpu_ids) != request.gpus or len(set(gpu_ids)) != len(gpu_ids):
            raise InvariantError(f"node {node}: {len(gpu_ids)} GPUs given for a request of {request.gpus}")
        self.cpu_free[node] += sign * request.cpu
        self.memory_free[node] += sign * request.memory
        for g in gpu_ids:
            self.gpu_free[node, g] += sign * request.milli
        if request.gpus:
            self.tags[node, request.tag] -= sign
        self.version[node] += 1
        free = self.gpu_free[node, :self.gpus[node]]
        if (self.cpu_free[node] < 0 or self.memory_free[node] < 0 or free.min(initial=0) < 0
                or free.max(initial=0) > MILLI or self.cpu_free[node] > self.cpu_capacity[node]
                or self.tags[node].min() < 0 or (gpu_ids and max(gpu_ids) >= self.gpus[node])):
            raise InvariantError(f"node {node}: resources outside their capacity after {request}")
