"""GPU-sharing nodes of one node type under one scheduler: the pool interface the scheduler
uses (`sim.engine.fleet.Pool` for whole GPUs), over the node table of `sim.engine.sharing`
and one placement rule of `sim.engine.packing`.

Every job runs on one node, as a Kubernetes pod does. GPU totals count what jobs use: a node
of two GPUs, one of them a quarter used, has 1.75 GPUs free. Node ids are given out in blocks,
one per deployment in config order, when every deployment is planned (ties between nodes go
to the lowest id, as the rules break them); nodes not yet online, down or spare are masked.
CPU (memory) is a constraint only where every node has a capacity for it, from the node type
or the deployment's node list; elsewhere jobs' CPU (memory) requests are not counted.
"""
from __future__ import annotations

import math

import numpy as np

from ..config.schema import Deployment, NodeType
from ..errors import InvariantError
from ..inputs.nodelists import load_node_list
from .packing import TypicalRequests, make_rule
from .sharing import MILLI, Request, SharingNodes


def node_capacity(nt: NodeType, dep: Deployment) -> tuple:
    """Each of a deployment's nodes' CPU (thousandths of a core) and memory (MiB): the node
    type's, else the deployment's node list's (node by node), else nan (none given)."""
    cpu = nt.cpu_cores * 1000 if nt.cpu_cores is not None else math.nan
    memory = nt.memory_gib * 1024 if nt.memory_gib is not None else math.nan
    if dep.nodes_from is not None:
        listed = load_node_list(dep.nodes_from.path)
        keep = listed.matching(nt.gpus_per_node, dep.nodes_from.models)
        if math.isnan(cpu):
            cpu = np.rint(listed.cpu_cores[keep] * 1000)
        if math.isnan(memory):
            memory = np.rint(listed.memory_gib[keep] * 1024)
    return cpu, memory


class SharedAllocation(list):
    """[(node, GPUs used)] of one job, with its request and the GPUs it holds on the node."""
    __slots__ = ("gpu_ids", "request")


class SharedPool:
    shares_gpus = True

    def __init__(self, node_type: str, gpus_per_node: int, rule: str, rng: np.random.Generator):
        self.node_type = node_type
        self.gpus_per_node = gpus_per_node
        self.placement = rule
        self._rule_name, self._rng = rule, rng
        self.node_site: list[str] = []
        self.node_deployment: list[int] = []
        self.node_pod: list[int] = []
        self._blocks: dict[int, list[int]] = {}          # deployment -> its node ids
        self._capacity: list[tuple[float, float]] = []   # per node (CPU thousandths, MiB); nan: none given
        self.nodes: SharingNodes | None = None           # built at the first node online
        self.node_up = np.zeros(0, bool)
        self.free_milli = 0                               # free GPU thousandths of nodes up
        self.online_gpus = 0
        self._requests: dict[tuple, Request] = {}
        self._jobs = None
        self._retired = 0                                 # nodes past their economic life

    # -- building
    def plan_nodes(self, site: str, nodes: int, deployment: int, cpu_milli, memory_mib) -> None:
        """A deployment's nodes, with each node's CPU and memory (nan: none given)."""
        first = len(self.node_site)
        self._blocks[deployment] = list(range(first, first + nodes))
        self.node_site += [site] * nodes
        self.node_deployment += [deployment] * nodes
        self.node_pod += [0] * nodes
        self._capacity += list(zip(np.broadcast_to(cpu_milli, nodes).tolist(),
                                   np.broadcast_to(memory_mib, nodes).tolist()))

    def _build(self) -> None:
        cpu, memory = (np.asarray(c, np.float64) for c in zip(*self._capacity))
        self.cpu_counts, self.memory_counts = not np.isnan(cpu).any(), not np.isnan(memory).any()
        n = len(self.node_site)
        self.nodes = SharingNodes(np.nan_to_num(cpu) if self.cpu_counts else np.zeros(n),
                                  np.nan_to_num(memory) if self.memory_counts else np.zeros(n),
                                  np.full(n, self.gpus_per_node), [self.node_type] * n)
        self.node_up = np.zeros(n, bool)
        self.max_cpu, self.max_memory = int(self.nodes.cpu_capacity.max()), int(self.nodes.memory_capacity.max())
        jobs = self._jobs
        mine = [j for j in range(len(jobs)) if jobs.node_type[j] == self.node_type and self.could_run(jobs, j)]
        typical = TypicalRequests.of([self.request_of(jobs, j) for j in mine]) if mine else None
        self.rule = make_rule(self._rule_name, typical, self._rng)

    def attach(self, jobs) -> None:
        """The job table, whose jobs of this node type are what FGD measures fragmentation against."""
        self._jobs = jobs

    def add_nodes(self, site: str, nodes: int, deployment: int, nodes_per_pod=None) -> list[int]:
        if self.nodes is None:
            self._build()
        ids = self._blocks[deployment]
        for node in ids:
            self.bring_up(node)
        return ids

    # -- what a job asks
    def request_of(self, jobs, job: int) -> Request:
        key = (jobs.cpu[job] if self.cpu_counts else 0, jobs.memory[job] if self.memory_counts else 0,
               jobs.gpus[job], jobs.milli[job])
        request = self._requests.get(key)
        if request is None:
            request = self._requests[key] = Request(*key)
        return request

    def forget_nodes(self, nodes: list[int]) -> None:
        self._retired += len(nodes)

    def could_run(self, jobs, job: int) -> bool:
        """Does some node of the whole fleet (once online, not yet retired) have room for the job
        when empty?"""
        if not self.node_site or self._retired >= len(self.node_site):
            return False
        if self.nodes is None:
            self._build()   # every deployment is planned before the first job arrives
        return (jobs.gpus[job] <= self.gpus_per_node
                and (not self.cpu_counts or jobs.cpu[job] <= self.max_cpu)
                and (not self.memory_counts or jobs.memory[job] <= self.max_memory))

    def note_request(self, gpus: int) -> None:
        pass   # FGD's typical requests are the workload's, known when the pool is built

    # -- placement
    @property
    def free_gpus(self) -> float:
        return self.free_milli / MILLI

    def _fitting(self, request: Request, avoid) -> np.ndarray:
        ok = self.nodes.fits(request) & self.node_up
        if avoid:
            ok[list(avoid)] = False
        return np.flatnonzero(ok)

    def place_job(self, jobs, job: int, avoid=frozenset()) -> SharedAllocation | None:
        """Where the job runs now, taken; None when no node has room."""
        if jobs.share[job] * MILLI > self.free_milli:
            return None
        request = self.request_of(jobs, job)
        idx = self._fitting(request, avoid)
        if idx.size == 0:
            return None
        node = int(idx[np.argmax(self.rule.scores(self.nodes, request, idx))])
        gpu_ids = self.rule.gpu_ids(self.nodes, request, node)
        self.nodes.take(node, request, gpu_ids)
        self.free_milli -= request.total_milli
        alloc = SharedAllocation([(node, request.total_milli / MILLI)])
        alloc.request, alloc.gpu_ids = request, gpu_ids
        return alloc

    def free(self, alloc: SharedAllocation) -> None:
        self.nodes.release(alloc[0][0], alloc.request, alloc.gpu_ids)
        self.free_milli += alloc.request.total_milli

    # -- what would fit if running jobs ended
    def _after(self, scratch: dict, alloc: SharedAllocation) -> int:
        """Release `alloc` into `scratch` (node -> [CPU, memory, GPU row] free); its node."""
        node = alloc[0][0]
        state = scratch.get(node)
        if state is None:
            t = self.nodes
            state = scratch[node] = [int(t.cpu_free[node]), int(t.memory_free[node]), t.gpu_free[node].copy()]
        request = alloc.request
        state[0] += request.cpu
        state[1] += request.memory
        state[2][list(alloc.gpu_ids)] += request.milli
        return node

    def _fits_state(self, state, request: Request) -> bool:
        cpu, memory, gpu_free = state
        return (cpu >= request.cpu and memory >= request.memory
                and int((gpu_free >= request.milli).sum()) >= request.gpus)

    def shadow(self, jobs, job: int, by_end, running) -> tuple[float, frozenset]:
        """EASY's reservation for a job that does not fit now: the first estimated end after
        which one node has room for it, and that node."""
        request = self.request_of(jobs, job)
        scratch: dict = {}
        for end_h, other in by_end:
            node = self._after(scratch, running[other][1])
            if self.node_up[node] and self._fits_state(scratch[node], request):
                return end_h, frozenset([node])
        return math.inf, frozenset()

    def fits_if_freed(self, jobs, job: int, victims: list[SharedAllocation]) -> bool:
        """Would the job find a node once the victims' allocations are released? (Nothing changes.)"""
        request = self.request_of(jobs, job)
        if self._fitting(request, ()).size:
            return True
        scratch: dict = {}
        for alloc in victims:
            self._after(scratch, alloc)
        return any(self.node_up[node] and self._fits_state(state, request) for node, state in scratch.items())

    # -- failures and maintenance: an emptied node leaves the pool and comes back whole
    def _node_free_milli(self, node: int) -> int:
        return int(self.nodes.gpu_free[node].sum())

    def take_down(self, node: int) -> None:
        t = self.nodes
        if (self._node_free_milli(node) != self.gpus_per_node * MILLI or t.cpu_free[node] != t.cpu_capacity[node]
                or t.memory_free[node] != t.memory_capacity[node]):
            raise InvariantError(f"node {node} of {self.node_type} taken down while in use")
        self.node_up[node] = False
        self.free_milli -= self.gpus_per_node * MILLI
        self.online_gpus -= self.gpus_per_node

    def bring_up(self, node: int) -> None:
        self.node_up[node] = True
        self.free_milli += self._node_free_milli(node)
        self.online_gpus += self.gpus_per_node

    def check(self) -> None:
        """Free GPU shares of the nodes up add up to the total kept."""
        if self.nodes is None:
            return
        up = self.node_up
        if int(self.nodes.gpu_free[up].sum()) != self.free_milli or int(up.sum()) * self.gpus_per_node != self.online_gpus:
            raise InvariantError(f"{self.node_type}: free/online GPU totals disagree with the node table")
