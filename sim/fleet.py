"""GPU nodes of one node type under one scheduler, indexed by free GPUs.

Each site keeps `buckets[k]`: the nodes with exactly k free GPUs (a dict used
as an ordered set; `popitem` is O(1) and deterministic). Placement is then a
scan over at most `gpus_per_node` buckets, never over nodes, so cost does not
grow with fleet size.
"""
from __future__ import annotations

Allocation = list[tuple[int, int]]  # (node id in this pool, GPUs taken on it)


class InvariantError(AssertionError):
    """An invariant of DESIGN §9 failed: a bug, never bad input."""


class Pool:
    def __init__(self, node_type: str, gpus_per_node: int):
        self.node_type = node_type
        self.gpus_per_node = gpus_per_node
        self.node_free: list[int] = []
        self.node_site: list[str] = []
        self.node_deployment: list[int] = []
        self.buckets: dict[str, list[dict[int, None]]] = {}  # site -> k -> nodes
        self.site_nodes_eventual: dict[str, int] = {}       # nodes each site will ever have
        self.online_gpus = 0
        self.free_gpus = 0

    # -- building
    def plan_nodes(self, site: str, nodes: int) -> None:
        """Record future capacity, so that 'can this job ever fit' is known up front."""
        self.site_nodes_eventual[site] = self.site_nodes_eventual.get(site, 0) + nodes

    def add_nodes(self, site: str, nodes: int, deployment: int) -> None:
        n = self.gpus_per_node
        if site not in self.buckets:
            self.buckets[site] = [dict() for _ in range(n + 1)]
        full = self.buckets[site][n]
        for _ in range(nodes):
            node = len(self.node_free)
            self.node_free.append(n)
            self.node_site.append(site)
            self.node_deployment.append(deployment)
            full[node] = None
        self.online_gpus += nodes * n
        self.free_gpus += nodes * n

    def could_ever_fit(self, gpus: int) -> bool:
        n = self.gpus_per_node
        if gpus <= n:
            return any(self.site_nodes_eventual.values())
        return -(-gpus // n) <= max(self.site_nodes_eventual.values(), default=0)

    # -- moving GPUs between buckets
    def _take(self, node: int, gpus: int) -> None:
        """Take GPUs from a node already popped out of its bucket."""
        free = self.node_free[node] - gpus
        if free < 0:
            raise InvariantError(f"node {node} of {self.node_type} over-allocated")
        self.node_free[node] = free
        self.buckets[self.node_site[node]][free][node] = None
        self.free_gpus -= gpus

    def release(self, node: int, gpus: int) -> None:
        buckets = self.buckets[self.node_site[node]]
        free = self.node_free[node]
        del buckets[free][node]
        free += gpus
        if free > self.gpus_per_node:
            raise InvariantError(f"node {node} of {self.node_type} released more GPUs than it has")
        self.node_free[node] = free
        buckets[free][node] = None
        self.free_gpus += gpus

    # -- placement
    def place(self, gpus: int) -> Allocation | None:
        """Best fit for a job: the node left with the fewest free GPUs; larger jobs take
        whole nodes, all in one site (gang). None when it does not fit now."""
        if gpus > self.free_gpus:
            return None
        n = self.gpus_per_node
        if gpus <= n:
            for k in range(gpus, n + 1):
                for buckets in self.buckets.values():
                    if buckets[k]:
                        node, _ = buckets[k].popitem()
                        self._take(node, gpus)
                        return [(node, gpus)]
            return None
        whole = -(-gpus // n)
        for buckets in self.buckets.values():
            if len(buckets[n]) >= whole:
                alloc = []
                for _ in range(whole):
                    node, _ = buckets[n].popitem()
                    self._take(node, n)
                    alloc.append((node, n))
                return alloc
        return None

    def take_up_to(self, gpus: int, site: str | None) -> Allocation:
        """Grant as many of `gpus` as are free (a reservation), whole free nodes first."""
        alloc: Allocation = []
        sites = [site] if site is not None else list(self.buckets)
        for name in sites:
            buckets = self.buckets.get(name)
            if buckets is None:
                continue
            for k in range(self.gpus_per_node, 0, -1):
                bucket = buckets[k]
                while gpus > 0 and bucket:
                    node, _ = bucket.popitem()
                    take = min(k, gpus)
                    self._take(node, take)
                    alloc.append((node, take))
                    gpus -= take
                if gpus == 0:
                    return alloc
        return alloc

    def check(self) -> None:
        """allocated + free == online, and free within [0, gpus_per_node] per node."""
        if not 0 <= self.free_gpus <= self.online_gpus:
            raise InvariantError(f"{self.node_type}: free {self.free_gpus} outside [0, {self.online_gpus}]")
        if sum(self.node_free) != self.free_gpus:
            raise InvariantError(f"{self.node_type}: free GPU index disagrees with node table")
