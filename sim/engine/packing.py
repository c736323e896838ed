"""Placement rules for GPU-sharing nodes (`sim.engine.sharing`), each scoring every node that
fits a request at once, as array math.

The rules and their scores follow the simulator of Weng et al., "Beware of Fragmentation:
Scheduling GPU-Sharing Workloads with Fragmentation Gradient Descent" (USENIX ATC 2023;
hkust-adsl/kubernetes-scheduler-simulator, pkg/simulator/plugin), so that its experiment can
be reproduced: scores are whole numbers 0-100 as in the Kubernetes scheduler, the highest
wins, a tie goes to the first node in the node list (the simulator takes the lowest node
name, which is the list's order in the openb lists); then the rule picks the GPUs on the
chosen node.

- `random`: a node at random among those that fit; a GPU at random among those that fit.
- `first_fit`: the lowest-numbered node that fits (not in the paper).
- `best_fit`: the least CPU and GPU left after placing (weights 1/2, 1/2, over 128 cores
  and 8 GPUs).
- `dot_product` (Tetris): the smallest dot product of the node's free (CPU, GPU) and the
  request, as the paper's simulator scores it (`-dimext merge -norm max`).
- `gpu_packing`: a partly used GPU first, then a free GPU of a used node, then an idle node.
- `gpu_clustering`: a node already running requests of the same kind (a share, or the same
  number of whole GPUs), fuller nodes first.
- `fgd`: the smallest growth of the node's expected GPU fragmentation, over the typical
  requests of the workload (fragmentation gradient descent).
Every rule except `random` and `fgd` shares a GPU on the one with the least room left that
fits ("best" GPU selection) and takes whole GPUs in device order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config.types import SHARING_PLACEMENTS
from .sharing import MILLI, Request, SharingNodes

MAX_CPU = 128_000      # the paper simulator's normalisation (MaxSpecCpu, MaxSpecGpu)
MAX_GPU = 8 * MILLI
TOP = 100              # the Kubernetes scheduler's MaxNodeScore


def best_gpus(nodes: SharingNodes, request: Request, node: int) -> tuple[int, ...]:
    """A share on the fitting GPU with the least free (first of equals); whole GPUs: the
    wholly free ones in device order."""
    free = nodes.gpu_free[node]
    if request.shares_gpu:
        room = np.where(free >= request.milli, free, MILLI + 1)
        return (int(np.argmin(room)),)
    return tuple(int(g) for g in np.flatnonzero(free == MILLI)[:request.gpus])


class Rule:
    name = ""

    def scores(self, nodes: SharingNodes, request: Request, idx: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def gpu_ids(self, nodes: SharingNodes, request: Request, node: int) -> tuple[int, ...]:
        return best_gpus(nodes, request, node)


class RandomRule(Rule):
    name = "random"

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def scores(self, nodes, request, idx):
        score = np.zeros(idx.size, np.int64)
        score[self.rng.integers(idx.size)] = 1
        return score

    def gpu_ids(self, nodes, request, node):
        if not request.shares_gpu:
            return best_gpus(nodes, request, node)
        return (int(self.rng.choice(np.flatnonzero(nodes.gpu_free[node] >= request.milli))),)


class FirstFit(Rule):
    name = "first_fit"

    def scores(self, nodes, request, idx):
        return (idx == idx.min()).astype(np.int64)


class BestFit(Rule):
    name = "best_fit"

    def scores(self, nodes, request, idx):
        left = (0.5 * (nodes.cpu_free[idx] - request.cpu) / MAX_CPU
                + 0.5 * (nodes.gpu_free[idx].sum(axis=1) - request.total_milli) / MAX_GPU)
        return np.trunc((1.0 - left) * TOP).astype(np.int64)


class DotProduct(Rule):
    name = "dot_product"

    def scores(self, nodes, request, idx):
        dot = (nodes.cpu_free[idx] / MAX_CPU * (request.cpu / MAX_CPU)
               + nodes.gpu_free[idx].sum(axis=1) / MAX_GPU * (request.total_milli / MAX_GPU))
        return np.trunc((1.0 - dot / 2) * TOP).astype(np.int64)


class GpuPacking(Rule):
    name = "gpu_packing"

    def scores(self, nodes, request, idx):
        if not request.gpus:
            return np.zeros(idx.size, np.int64)
        free = nodes.gpu_free[idx]
        whole = (free == MILLI).sum(axis=1)
        ordered = np.sort(free, axis=1)                          # least free first
        fitting = ordered >= request.milli
        used = fitting & (np.cumsum(fitting, axis=1) <= request.gpus)
        whole_used = (used & (ordered == MILLI)).sum(axis=1)
        room_pct = np.where(used, ordered * 100 // MILLI, 0).sum(axis=1)
        shared = np.maximum(TOP - room_pct // 10, TOP // 2)       # partly used GPUs
        fresh = np.maximum(TOP // 2 - whole_used, TOP // 3)       # free GPUs of a used node
        idle = np.maximum(TOP // 3 - whole, whole)                # an idle node
        return np.where(whole == nodes.gpus[idx], idle, np.where(whole_used > 0, fresh, shared))


class GpuClustering(Rule):
    name = "gpu_clustering"

    def scores(self, nodes, request, idx):
        if not request.gpus:
            return np.zeros(idx.size, np.int64)
        tags = nodes.tags[idx]
        kinds = (tags > 0).sum(axis=1)
        same = tags[:, request.tag] > 0
        fill = TOP // 4 * (MAX_GPU - nodes.gpu_free[idx].sum(axis=1)) // MAX_GPU
        band = np.where(same, np.where(kinds == 1, 3, 2), np.where(kinds == 0, 1, 0))
        return fill + band * (TOP // 4)


@dataclass
class TypicalRequests:
    """The requests a workload is made of, by how often they occur: the most common kinds that
    together make `coverage` of all requests (the paper's `podPopularityThreshold`, 95%),
    renormalised."""
    cpu: np.ndarray
    gpus: np.ndarray
    milli: np.ndarray
    models: list[frozenset[str]]
    share: np.ndarray          # popularity, sums to 1

    @classmethod
    def of(cls, requests: list[Request], coverage: float = 0.95) -> TypicalRequests:
        counts: dict[tuple, int] = {}
        for r in requests:
            key = (r.cpu, r.gpus, r.milli if r.gpus else 0, r.models)
            counts[key] = counts.get(key, 0) + 1
        kinds = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][:3], sorted(kv[0][3])))
        kept, total, covered = [], sum(counts.values()), 0
        for key, n in kinds:
            if covered >= coverage * total:
                break
            kept.append((key, n))
            covered += n
        share = np.asarray([n for _, n in kept], float)
        return cls(np.asarray([k[0] for k, _ in kept], np.int64), np.asarray([k[1] for k, _ in kept], np.int64),
                   np.asarray([k[2] for k, _ in kept], np.int64), [k[3] for k, _ in kept], share / share.sum())


def fragmentation(typical: TypicalRequests, access: np.ndarray, gpu_free: np.ndarray,
                  cpu_free: np.ndarray, model: np.ndarray) -> np.ndarray:
    """Expected GPU fragmentation of node states (thousandths of a GPU), after the paper's
    definition: for each typical request, the free GPU share that request could not use, over
    how often it occurs. A request that fits leaves unusable only the GPUs with less free than
    it asks of each GPU; one that does not fit (CPU, model, GPUs; or a CPU-only request) leaves
    all the node's free GPU unusable. `access[kind, model]`: the kind accepts the model.

    gpu_free: (states, GPUs); cpu_free, model: (states,). Returns (states,)."""
    free = gpu_free[:, None, :]                                    # (states, kinds, GPUs)
    enough = free >= typical.milli[None, :, None]
    fits = ((enough.sum(axis=2) >= typical.gpus[None, :]) & (typical.milli[None, :] > 0)
            & (cpu_free[:, None] >= typical.cpu[None, :]) & access[:, model].T)
    total = gpu_free.sum(axis=1)
    unusable = np.where(fits, np.where(enough, 0, free).sum(axis=2), total[:, None])
    return unusable @ typical.share


@dataclass
class _Scored:
    score: np.ndarray
    gpus: np.ndarray            # chosen GPU for a shared request, per node
    seen: np.ndarray            # node version the score was computed at


@dataclass
class Fgd(Rule):
    """Fragmentation gradient descent. Scores are kept per kind of request and per node and
    recomputed only for the nodes that changed since (one node per placement), which makes the
    rule as cheap as the others."""
    typical: TypicalRequests
    name: str = "fgd"
    _cache: dict = field(default_factory=dict)
    _access: np.ndarray | None = None
    _before: tuple | None = None

    def _prepare(self, nodes: SharingNodes) -> None:
        if self._access is None:
            self._access = np.asarray([[not m or name in m for name in nodes.model_names]
                                       for m in self.typical.models], bool).reshape(len(self.typical.models), -1)
            self._before = (np.zeros(len(nodes)), np.full(len(nodes), -1, np.int64))

    def _frag(self, gpu_free, cpu_free, model):
        return fragmentation(self.typical, self._access, gpu_free, cpu_free, model)

    def _frag_now(self, nodes: SharingNodes, idx: np.ndarray) -> np.ndarray:
        frag, seen = self._before
        stale = idx[seen[idx] != nodes.version[idx]]
        if stale.size:
            frag[stale] = self._frag(nodes.gpu_free[stale], nodes.cpu_free[stale], nodes.model[stale])
            seen[stale] = nodes.version[stale]
        return frag[idx]

    def scores(self, nodes, request, idx):
        self._prepare(nodes)
        key = (request.cpu, request.gpus, request.milli, request.models)
        entry = self._cache.get(key)
        if entry is None:
            n = len(nodes)
            entry = self._cache[key] = _Scored(np.zeros(n, np.int64), np.full(n, -1, np.int64),
                                               np.full(n, -1, np.int64))
        stale = idx[entry.seen[idx] != nodes.version[idx]]
        if stale.size:
            entry.score[stale], entry.gpus[stale] = self._score(nodes, request, stale)
            entry.seen[stale] = nodes.version[stale]
        return entry.score[idx]

    def _score(self, nodes, request, stale):
        before = self._frag_now(nodes, stale)
        free, cpu, model = nodes.gpu_free[stale], nodes.cpu_free[stale] - request.cpu, nodes.model[stale]
        width = free.shape[1]
        if request.shares_gpu:
            # every fitting GPU of every node, as its own after-state
            after_free = np.repeat(free[:, None, :], width, axis=1)
            eye = np.eye(width, dtype=bool)[None, :, :]
            after_free = after_free - np.where(eye, request.milli, 0)
            after = self._frag(after_free.reshape(-1, width), np.repeat(cpu, width),
                               np.repeat(model, width)).reshape(-1, width)
            score = _sigmoid_score(before[:, None] - after)
            score = np.where(free >= request.milli, score, -1)
            gpu = np.argmax(score, axis=1)                   # first of the best, as the paper's loop
            return score[np.arange(stale.size), gpu], gpu
        after_free = free.copy()
        if request.gpus:
            take = (free == MILLI) & (np.cumsum(free == MILLI, axis=1) <= request.gpus)
            after_free = free - np.where(take, MILLI, 0)
        after = self._frag(after_free, cpu, model)
        return _sigmoid_score(before - after), np.full(stale.size, -1, np.int64)

    def gpu_ids(self, nodes, request, node):
        if request.shares_gpu:
            gpu = self._cache[(request.cpu, request.gpus, request.milli, request.models)].gpus[node]
            return (int(gpu),)
        return best_gpus(nodes, request, node)


def _sigmoid_score(gain: np.ndarray) -> np.ndarray:
    return np.floor(TOP / (1.0 + np.exp(-gain / 1000.0))).astype(np.int64)


RULES = SHARING_PLACEMENTS
_SCORED = {cls.name: cls for cls in (FirstFit, BestFit, DotProduct, GpuPacking, GpuClustering)}


def make_rule(name: str, typical: TypicalRequests, rng: np.random.Generator) -> Rule:
    """A rule by name; `typical` is what FGD measures fragmentation against, `rng` what the
    random rule draws from."""
    if name == "fgd":
        return Fgd(typical)
    if name == "random":
        return RandomRule(rng)
    return _SCORED[name]()


class Placer:
    """Places requests on nodes by one rule: the best score among the nodes that fit, a tie to
    the first of them in the node list."""

    def __init__(self, nodes: SharingNodes, rule: Rule):
        self.nodes, self.rule = nodes, rule

    def place(self, request: Request) -> tuple[int, tuple[int, ...]] | None:
        idx = np.flatnonzero(self.nodes.fits(request))
        if idx.size == 0:
            return None
        score = self.rule.scores(self.nodes, request, idx)
        node = int(idx[np.argmax(score)])
        gpu_ids = self.rule.gpu_ids(self.nodes, request, node)
        self.nodes.take(node, request, gpu_ids)
        return node, gpu_ids

