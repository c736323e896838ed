"""Queues, policies and reservations of one scheduler over its pools.

A scheduler owns one pool per node type. Reservations are contract capacity,
not jobs: they are served first, greedily, from whatever is free in their scope,
and whatever they could not get is recorded as shortfall. Jobs then start in
policy order with head-of-line blocking (`fifo`: arrival order; `priority`:
on-demand before spot, then arrival order). Completions are plain timeout
callbacks, not processes, which keeps the engine cheaper per job than a bare
SimPy resource loop.
"""
from __future__ import annotations

import heapq
from collections import deque

import simpy

from .fleet import Allocation, Pool
from .records import JobTable, Recorder

TIER_RANK = {"on_demand": 1, "spot": 2}


class FifoQueue:
    def __init__(self):
        self._items = deque()

    def push(self, job: int, tier: int) -> None:
        self._items.append(job)

    def peek(self) -> int:
        return self._items[0]

    def pop(self) -> int:
        return self._items.popleft()

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(self._items)


class PriorityQueue:
    """Lower tier rank first; arrival order (job id) within a tier."""

    def __init__(self):
        self._heap: list[tuple[int, int]] = []

    def push(self, job: int, tier: int) -> None:
        heapq.heappush(self._heap, (tier, job))

    def peek(self) -> int:
        return self._heap[0][1]

    def pop(self) -> int:
        return heapq.heappop(self._heap)[1]

    def __len__(self):
        return len(self._heap)

    def __iter__(self):
        return (job for _, job in self._heap)


POLICIES = {"fifo": FifoQueue, "priority": PriorityQueue}


class StrandingMeter:
    """Integrates min(free GPUs, queued GPU demand) per node type over time, across
    every scheduler of a variant: capacity idle while jobs that could use it wait."""

    def __init__(self):
        self.pools: dict[str, list[Pool]] = {}
        self.queued: dict[str, int] = {}
        self.total_queued = 0
        self.last_h = 0.0
        self.stranded_gpu_h = 0.0

    def register(self, pool: Pool) -> None:
        self.pools.setdefault(pool.node_type, []).append(pool)
        self.queued.setdefault(pool.node_type, 0)

    def advance(self, now: float) -> None:
        if self.total_queued:
            dt = now - self.last_h
            for node_type, queued in self.queued.items():
                if queued:
                    free = sum(p.free_gpus for p in self.pools[node_type])
                    self.stranded_gpu_h += dt * min(free, queued)
        self.last_h = now

    def change_queued(self, node_type: str, gpus: int) -> None:
        self.queued[node_type] += gpus
        self.total_queued += gpus


class Reservation:
    """A tenant's reserved GPUs of one node type; target steps over time."""

    def __init__(self, profile: int, node_type: str, site: str | None):
        self.profile = profile
        self.node_type = node_type
        self.site = site
        self.target = 0
        self.granted = 0
        self.held: list[list] = []      # [node, gpus, since]
        self.short_since = 0.0


class Scheduler:
    def __init__(self, env: simpy.Environment, policy: str, jobs: JobTable, rec: Recorder,
                 meter: StrandingMeter):
        self.env = env
        self.jobs = jobs
        self.rec = rec
        self.meter = meter
        self.policy = policy
        self.pools: dict[str, Pool] = {}
        self.queues: dict[str, FifoQueue | PriorityQueue] = {}
        self.reservations: dict[str, list[Reservation]] = {}
        self.running: dict[int, tuple[Pool, Allocation]] = {}

    def pool(self, node_type: str, gpus_per_node: int) -> Pool:
        if node_type not in self.pools:
            self.pools[node_type] = pool = Pool(node_type, gpus_per_node)
            self.queues[node_type] = POLICIES[self.policy]()
            self.reservations[node_type] = []
            self.meter.register(pool)
        return self.pools[node_type]

    # -- events
    def nodes_online(self, node_type: str, site: str, nodes: int, deployment: int) -> None:
        self.meter.advance(self.env.now)
        self.pools[node_type].add_nodes(site, nodes, deployment)
        self._dispatch(node_type)

    def submit(self, job: int) -> None:
        now = self.env.now
        self.meter.advance(now)
        jobs = self.jobs
        node_type = jobs.node_type[job]
        gpus = jobs.gpus[job]
        pool = self.pools.get(node_type)
        if pool is None or not pool.could_ever_fit(gpus):
            jobs.state[job] = JobTable.REJECTED
            return
        jobs.state[job] = JobTable.QUEUED
        queue = self.queues[node_type]
        if not queue:
            # Reservations short of their target already hold all free GPUs in their
            # scope (every dispatch fills them first), so what is free here is free to use.
            alloc = pool.place(gpus)
            if alloc is not None:
                self._start(job, pool, alloc)
                return
        queue.push(job, jobs.tier[job])
        self.meter.change_queued(node_type, gpus)
        if self.policy != "fifo":
            self._dispatch(node_type)  # a higher tier may now head the queue

    def set_reservation(self, res: Reservation, target: int) -> None:
        now = self.env.now
        self.meter.advance(now)
        self._close_shortfall(res, now)
        res.target = target
        pool = self.pools[res.node_type]
        while res.granted > target:
            node, gpus, since = res.held[-1]
            give = min(gpus, res.granted - target)
            self.rec.reserved(since, now, pool.node_deployment[node], give, res.profile)
            pool.release(node, give)
            res.granted -= give
            if give == gpus:
                res.held.pop()
            else:
                res.held[-1][1] -= give
        if res not in self.reservations[res.node_type]:
            self.reservations[res.node_type].append(res)
        self._dispatch(res.node_type)

    def _on_finish(self, event: simpy.Event) -> None:
        job = event.value
        now = self.env.now
        self.meter.advance(now)
        pool, alloc = self.running.pop(job)
        self._record_job(job, pool, alloc, now)
        for node, gpus in alloc:
            pool.release(node, gpus)
        self.jobs.end[job] = now
        self.jobs.state[job] = JobTable.COMPLETED
        self._dispatch(pool.node_type)

    # -- internals
    def _dispatch(self, node_type: str) -> None:
        pool = self.pools[node_type]
        now = self.env.now
        for res in self.reservations[node_type]:
            if res.granted < res.target and pool.free_gpus:
                self._close_shortfall(res, now)
                for node, gpus in pool.take_up_to(res.target - res.granted, res.site):
                    res.held.append([node, gpus, now])
                    res.granted += gpus
        queue = self.queues[node_type]
        jobs = self.jobs
        while queue:
            job = queue.peek()
            alloc = pool.place(jobs.gpus[job])
            if alloc is None:
                break
            queue.pop()
            self.meter.change_queued(node_type, -jobs.gpus[job])
            self._start(job, pool, alloc)

    def _start(self, job: int, pool: Pool, alloc: Allocation) -> None:
        jobs = self.jobs
        jobs.start[job] = self.env.now
        jobs.site[job] = pool.node_site[alloc[0][0]]
        jobs.state[job] = JobTable.RUNNING
        self.running[job] = (pool, alloc)
        done = self.env.timeout(jobs.duration[job], value=job)
        done.callbacks.append(self._on_finish)

    def _record_job(self, job: int, pool: Pool, alloc: Allocation, end: float) -> None:
        jobs = self.jobs
        held = sum(g for _, g in alloc)
        busy_share = jobs.gpus[job] / held  # gang jobs may hold GPUs they do not use
        for node, gpus in alloc:
            self.rec.job(jobs.start[job], end, pool.node_deployment[node], gpus, gpus * busy_share,
                         jobs.utilization[job])

    def _close_shortfall(self, res: Reservation, now: float) -> None:
        short = res.target - res.granted
        if short > 0 and now > res.short_since:
            self.rec.shortfall(res.short_since, now, res.profile, short)
        res.short_since = now

    def finish(self, horizon_h: float) -> None:
        """Close every open interval at the horizon; running and queued jobs stay unfinished."""
        self.meter.advance(horizon_h)
        for job, (pool, alloc) in sorted(self.running.items()):
            self._record_job(job, pool, alloc, horizon_h)
        for node_type, reservations in self.reservations.items():
            pool = self.pools[node_type]
            for res in reservations:
                self._close_shortfall(res, horizon_h)
                for node, gpus, since in res.held:
                    self.rec.reserved(since, horizon_h, pool.node_deployment[node], gpus, res.profile)
        for pool in self.pools.values():
            pool.check()
