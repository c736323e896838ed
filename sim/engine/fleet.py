"""GPU nodes of one node type under one scheduler, indexed by free GPUs.

Each site keeps `buckets[k]`: the nodes with exactly k free GPUs (a dict used
as an ordered set). Placement scans at most `gpus_per_node` buckets, never the
nodes, so its cost does not grow with the fleet. Every change of a node's free
GPUs goes through `_set_free`, which keeps the buckets, the per-pod index of
wholly free nodes, the first-fit tree and the totals consistent.

Placement strategies for a job of G <= N GPUs (N GPUs per node):
- `best_fit`: the node left with the fewest free GPUs (smallest k >= G);
- `first_fit`: the lowest-numbered node with k >= G (sites in config order);
- `frag_aware`: the node whose change in expected stranded GPUs is smallest,
  stranded(f) = f * P(request > f) over the request sizes seen so far
  (after Weng et al., FGD, ATC 2023).
A job of G > N GPUs takes ceil(G/N) wholly free nodes in one site, or in one
pod (network domain) when it must.
"""
from __future__ import annotations

from itertools import islice

from ..errors import InvariantError

Allocation = list[tuple[int, int]]  # (node id in this pool, GPUs taken on it)



class Pool:
    shares_gpus = False   # sim.engine.shared_pool.SharedPool: GPU-sharing nodes

    def __init__(self, node_type: str, gpus_per_node: int, placement: str = "best_fit"):
        self.node_type = node_type
        self.gpus_per_node = gpus_per_node
        self.placement = placement
        self.first_fit = placement == "first_fit"
        self.node_free: list[int] = []
        self.node_site: list[str] = []
        self.node_deployment: list[int] = []
        self.node_pod: list[int] = []
        self.node_up: list[bool] = []
        self.buckets: dict[str, list[dict[int, None]]] = {}   # site -> k -> nodes with k free
        self.pod_whole: dict[int, dict[int, None]] = {}        # pod -> wholly free nodes
        self.site_nodes_eventual: dict[str, int] = {}
        self.largest_pod = 0                                   # nodes, once every deployment is in
        self.online_gpus = 0
        self.free_gpus = 0
        self.whole_nodes = 0                                   # wholly free nodes, all sites
        self.site_free: dict[str, int] = {}                    # free GPUs by site
        self.requests = [1] * (gpus_per_node + 2)              # sizes seen (Laplace prior); last: > N
        self._tree: list[int] = [-1, -1]                       # first-fit: max free per subtree

    # -- building
    def plan_nodes(self, site: str, nodes: int, nodes_per_pod: int | None = None) -> None:
        """Record future capacity, so that 'can this job ever fit' is known up front."""
        self.site_nodes_eventual[site] = self.site_nodes_eventual.get(site, 0) + nodes
        self.largest_pod = max(self.largest_pod, min(nodes, nodes_per_pod or nodes))

    def add_nodes(self, site: str, nodes: int, deployment: int, nodes_per_pod: int | None) -> list[int]:
        n = self.gpus_per_node
        if site not in self.buckets:
            self.buckets[site] = [dict() for _ in range(n + 1)]
            self.site_free[site] = 0
        first_pod = max(self.pod_whole, default=-1) + 1
        ids = []
        for i in range(nodes):
            node = len(self.node_free)
            self.node_free.append(0)
            self.node_site.append(site)
            self.node_deployment.append(deployment)
            self.node_pod.append(first_pod + (i // nodes_per_pod if nodes_per_pod else 0))
            self.node_up.append(False)
            ids.append(node)
        for pod in range(first_pod, max(self.node_pod[ids[-1]], first_pod) + 1):
            self.pod_whole[pod] = {}
        if self.first_fit:
            self._grow_tree(len(self.node_free))
        for node in ids:
            self.bring_up(node)
        return ids

    def forget_nodes(self, nodes: list[int]) -> None:
        """Retired nodes no longer count as capacity to come (a job that only they could hold is
        rejected from then on; pods are not recounted, so a gang job may still wait)."""
        for node in nodes:
            self.site_nodes_eventual[self.node_site[node]] -= 1

    def could_ever_fit(self, gpus: int, in_pod: bool = False) -> bool:
        n = self.gpus_per_node
        if gpus <= n:
            return any(self.site_nodes_eventual.values())
        room = self.largest_pod if in_pod else max(self.site_nodes_eventual.values(), default=0)
        return -(-gpus // n) <= room

    # -- the one place where a node's free GPUs change
    def _set_free(self, node: int, free: int) -> None:
        n = self.gpus_per_node
        old = self.node_free[node]
        if free == old:
            return
        if not 0 <= free <= n:
            raise InvariantError(f"node {node} of {self.node_type}: {free} free GPUs outside [0, {n}]")
        buckets = self.buckets[self.node_site[node]]
        del buckets[old][node]
        buckets[free][node] = None
        if old == n:
            del self.pod_whole[self.node_pod[node]][node]
            self.whole_nodes -= 1
        elif free == n:
            self.pod_whole[self.node_pod[node]][node] = None
            self.whole_nodes += 1
        self.node_free[node] = free
        self.free_gpus += free - old
        self.site_free[self.node_site[node]] += free - old
        if self.first_fit:
            self._tree_set(node, free)

    def take(self, node: int, gpus: int) -> None:
        self._set_free(node, self.node_free[node] - gpus)

    def release(self, node: int, gpus: int) -> None:
        self._set_free(node, self.node_free[node] + gpus)

    # -- failures: an emptied node leaves the pool and comes back whole
    def take_down(self, node: int) -> None:
        if self.node_free[node] != self.gpus_per_node:
            raise InvariantError(f"node {node} taken down while in use")
        self._set_free(node, 0)
        del self.buckets[self.node_site[node]][0][node]
        self.node_up[node] = False
        self.online_gpus -= self.gpus_per_node
        if self.first_fit:
            self._tree_set(node, -1)

    def bring_up(self, node: int) -> None:
        self.buckets[self.node_site[node]][0][node] = None
        self.node_free[node] = 0
        self.node_up[node] = True
        self.online_gpus += self.gpus_per_node
        self._set_free(node, self.gpus_per_node)

    # -- a job's view (the interface SharedPool shares)
    def could_run(self, jobs, job: int) -> bool:
        return self.could_ever_fit(jobs.gpus[job], jobs.in_pod[job])

    def place_job(self, jobs, job: int, avoid=frozenset()) -> Allocation | None:
        return self.place(jobs.gpus[job], avoid, jobs.in_pod[job])

    def free(self, alloc: Allocation) -> None:
        for node, gpus in alloc:
            self._set_free(node, self.node_free[node] + gpus)

    # -- placement
    def note_request(self, gpus: int) -> None:
        self.requests[min(gpus, self.gpus_per_node + 1)] += 1

    def place(self, gpus: int, avoid: set[int] | frozenset = frozenset(), in_pod: bool = False) -> Allocation | None:
        """Where a job of `gpus` GPUs would run now, taken; None when it does not fit."""
        if gpus > self.free_gpus:
            return None
        n = self.gpus_per_node
        if gpus > n:
            count = -(-gpus // n)
            if count > self.whole_nodes:
                return None
            nodes = self._whole_nodes(count, avoid, in_pod)
            if nodes is None:
                return None
            for node in nodes:
                self.take(node, n)
            return [(node, n) for node in nodes]
        node = self._first_fit(gpus, avoid) if self.first_fit else self._by_bucket(gpus, avoid)
        if node is None:
            return None
        self.take(node, gpus)
        return [(node, gpus)]

    def _bucket_node(self, bucket: dict, avoid) -> int | None:
        if not avoid:
            return next(reversed(bucket))
        for node in reversed(bucket):
            if node not in avoid:
                return node
        return None

    def _by_bucket(self, gpus: int, avoid) -> int | None:
        n = self.gpus_per_node
        ks = range(gpus, n + 1)
        if self.placement == "frag_aware":
            stranded = self._stranded()
            ks = sorted(ks, key=lambda k: (stranded[k - gpus] - stranded[k], k))
        for k in ks:
            for buckets in self.buckets.values():
                if buckets[k]:
                    node = self._bucket_node(buckets[k], avoid)
                    if node is not None:
                        return node
        return None

    def _stranded(self) -> list[float]:
        """For each number of free GPUs f on a node, the GPUs it is expected not to be able
        to give the next request: f x P(request > f), from the sizes seen so far."""
        total, above = sum(self.requests), sum(self.requests[1:])   # above: requests of more than f
        out = []
        for free in range(self.gpus_per_node + 1):
            out.append(free * above / total)
            above -= self.requests[free + 1]
        return out

    def _whole_nodes(self, count: int, avoid, in_pod: bool) -> list[int] | None:
        groups = ([self.pod_whole[p] for p in self.pod_whole] if in_pod
                  else [b[self.gpus_per_node] for b in self.buckets.values()])
        for group in groups:
            if len(group) >= count:
                picked = list(islice((node for node in reversed(group) if node not in avoid), count))
                if len(picked) == count:
                    return picked
        return None

    def take_up_to(self, gpus: int, site: str | None) -> Allocation:
        """Grant as many of `gpus` as are free (a reservation), whole free nodes first."""
        alloc: Allocation = []
        for name in ([site] if site is not None else list(self.buckets)):
            buckets = self.buckets.get(name)
            if buckets is None or not self.site_free[name]:
                continue   # (a sold-out site is the common case: skip its buckets)
            for k in range(self.gpus_per_node, 0, -1):
                while gpus > 0 and buckets[k]:
                    node = next(reversed(buckets[k]))
                    grant = min(k, gpus)
                    self.take(node, grant)
                    alloc.append((node, grant))
                    gpus -= grant
                if gpus == 0:
                    return alloc
        return alloc

    # -- first fit: a max-tree over node ids, sites in the order their nodes came
    def _grow_tree(self, size: int) -> None:
        cap = len(self._tree) // 2
        if size <= cap:
            return
        while cap < size:
            cap *= 2
        leaves = self._tree[len(self._tree) // 2:] + [-1] * (cap - len(self._tree) // 2)
        self._tree = [-1] * cap + leaves
        for i in range(cap - 1, 0, -1):
            self._tree[i] = max(self._tree[2 * i], self._tree[2 * i + 1])

    def _tree_set(self, node: int, free: int) -> None:
        i = node + len(self._tree) // 2
        self._tree[i] = free
        i //= 2
        while i:
            self._tree[i] = max(self._tree[2 * i], self._tree[2 * i + 1])
            i //= 2

    def _first_fit(self, gpus: int, avoid) -> int | None:
        """Lowest node id with at least `gpus` free, skipping `avoid` (a depth-first search
        that prunes subtrees whose max is too small)."""
        tree, cap = self._tree, len(self._tree) // 2
        stack = [1]
        while stack:
            i = stack.pop()
            if tree[i] < gpus:
                continue
            if i >= cap:
                if i - cap not in avoid:
                    return i - cap
                continue
            stack.append(2 * i + 1)
            stack.append(2 * i)
        return None

    def check(self) -> None:
        """allocated + free == online, the wholly free nodes counted right, and every
        node's free GPUs within [0, N]."""
        up = [f for f, u in zip(self.node_free, self.node_up) if u]
        if (sum(up) != self.free_gpus or len(up) * self.gpus_per_node != self.online_gpus
                or up.count(self.gpus_per_node) != self.whole_nodes
                or sum(self.site_free.values()) != self.free_gpus):
            raise InvariantError(f"{self.node_type}: free/online GPU totals disagree with the node table")
