"""Scheduling policies: how one scheduler orders and starts the jobs of one node type.

The interface (add a policy by subclassing `Policy` and registering it in
`POLICIES`; the README shows one in a few lines):

- `push(job)`: a job enters the queue (on arrival, after a preemption, after
  its node failed). Jobs are ints indexing the job table `self.jobs`.
- `dispatch(sched, node_type)`: called whenever capacity or the queue changes.
  Start jobs with `sched.try_start(job, avoid=...)`, which places and starts a
  job and returns True, or returns False when it does not fit now; stop running
  jobs with `sched.preempt(job)`, which puts them back through `push`. A policy
  removes a job from its own queue when it starts it.
- `__len__` and `__iter__`: the jobs waiting.
- `on_start(sched, job)`, `on_stop(job)`: optional hooks when a job starts, and
  when it stops running (completed, preempted or failed).
- `on_arrival(sched, node_type, job)`: optional; a newcomer was just pushed. The
  default dispatches; a policy may do less when it knows only the newcomer can start.
- `uses_shadow = True` (a class attribute) to call `sched.shadow(job)`: the earliest
  time and nodes at which running jobs' runtime estimates free room for `job`.

All policies here block at the head of their order (a job that does not fit
stops the ones behind it), except for what EASY backfill lets through.
"""
from __future__ import annotations

import bisect
import heapq
import math
from collections import deque
from itertools import islice


def _in_arrival_order(queue: deque, job: int) -> None:
    """Arrivals go to the back; a preempted or restarted job goes back to its place by
    arrival (job ids are in arrival order). The insertion is rare, so O(n) is fine."""
    if not queue or job > queue[-1]:
        queue.append(job)
    else:
        bisect.insort(queue, job)


class Policy:
    uses_shadow = False   # True: the scheduler keeps running jobs by estimated end for `sched.shadow`

    def __init__(self, jobs, config, weights):
        self.jobs = jobs            # the job table (sim.engine.records.JobTable)
        self.config = config        # the scheduler section of the scenario
        self.weights = weights      # fair-share weight per tenant index

    def on_arrival(self, sched, node_type: str, job: int) -> None:
        """A newcomer was just pushed. Only the arrival changed since the last dispatch;
        a policy that knows what that can start may do less than a full dispatch."""
        sched.dispatch(node_type)

    def on_start(self, sched, job: int) -> None:
        pass

    def on_stop(self, job: int) -> None:
        pass


class Fifo(Policy):
    """Arrival order, head-of-line blocking."""

    def __init__(self, *args):
        super().__init__(*args)
        self.queue: deque[int] = deque()

    def push(self, job):
        _in_arrival_order(self.queue, job)

    def on_arrival(self, sched, node_type, job):
        # behind a blocked head nothing can start: nothing has been freed since it blocked
        if len(self.queue) == 1:
            sched.dispatch(node_type)

    def dispatch(self, sched, node_type):
        q = self.queue
        while q and sched.try_start(q[0]):
            q.popleft()

    def __len__(self):
        return len(self.queue)

    def __iter__(self):
        return iter(self.queue)


class _Ordered(Policy):
    """A queue ordered by `key(job)` (a heap); ties by arrival (job id)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.heap: list[tuple] = []

    def key(self, job):
        raise NotImplementedError

    def push(self, job):
        heapq.heappush(self.heap, (self.key(job), job))

    def __len__(self):
        return len(self.heap)

    def __iter__(self):
        return (job for _, job in self.heap)


class Priority(_Ordered):
    """Higher priority classes first (`scheduler.classes`, highest first; by default
    on-demand before spot), then arrival order. With `preemption` (the default) a blocked
    job preempts running jobs of lower, preemptible classes, most recently started first,
    until it fits; preempted jobs resume where they stopped."""

    def key(self, job):
        return self.jobs.tier[job]

    def dispatch(self, sched, node_type):
        while self.heap:
            job = self.heap[0][1]
            if not sched.try_start(job):
                if not self.config.preemption:
                    return
                victims = sched.spot_victims(node_type, below=self.jobs.tier[job])
                if not victims or not sched.preempt_until_fits(job, victims):
                    return
            heapq.heappop(self.heap)


class EasyBackfill(Fifo):
    """FIFO, and EASY backfilling (Lifka 1995): when the head is blocked, its start is
    reserved at the earliest time the running jobs' runtime estimates free enough
    capacity (the shadow time); a later job in a bounded window may start now if it
    fits and either ends (by its estimate) before the shadow time or stays off the
    nodes reserved for the head. The head is never delayed while estimates hold."""
    uses_shadow = True

    def on_arrival(self, sched, node_type, job):
        """Every job in the window failed at the last dispatch and would fail again (free
        capacity and the shadow are unchanged): only the newcomer, if in the window, may start."""
        q = self.queue
        if len(q) == 1:
            super().on_arrival(sched, node_type, job)
        elif len(q) <= self.config.backfill_window + 1 and self.jobs.share[job] <= sched.pools[node_type].free_gpus:
            shadow_h, reserved_nodes = sched.shadow(q[0])
            long_job = self.jobs.estimate_left(job) > shadow_h - sched.env.now
            if sched.try_start(job, avoid=reserved_nodes if long_job else frozenset()):
                q.pop()
                if not long_job:
                    sched.short_started()

    def dispatch(self, sched, node_type):
        super().dispatch(sched, node_type)   # the head, and those behind it while they fit
        if len(self.queue) > 1:
            self._backfill(sched, node_type)

    def _backfill(self, sched, node_type) -> None:
        """One pass over the queue behind the head that stops after `backfill_window` jobs
        that could not start: each start lets one more job into the window. Within the pass
        free capacity only shrinks and the shadow stays put, so a job that did not fit
        would not fit later in it either. A job that would run past the head's shadow
        time (long, by its estimate) must stay off the nodes reserved for the head."""
        q = self.queue
        pool = sched.pools[node_type]
        jobs = self.jobs
        gpus_of, in_pod, estimate_left = jobs.share, jobs.in_pod, jobs.estimate_left
        tier, guarded, preemptible = jobs.tier, bool(sched.lending[node_type]), sched.preemptible
        sizes_order = not pool.shares_gpus   # with CPU and memory asked too, a bigger job may fit where a smaller did not
        # A job that does not fit means no bigger job fits under the same or stricter constraints
        # (long is stricter than short, in one pod stricter than anywhere in a site): failed[long][pod]
        # is the smallest size known not to fit, and bigger jobs are skipped without a try.
        inf = math.inf
        failed = [[inf, inf], [inf, inf]]
        time_left_h = reserved_nodes = None                    # the shadow, looked up once needed
        no_avoid = frozenset()
        started = set()
        blocked = scanned = 0
        for job in islice(q, 1, None):
            if blocked == self.config.backfill_window:
                break
            scanned += 1
            free = pool.free_gpus
            if free == 0:
                break
            gpus, pod = gpus_of[job], in_pod[job]
            if gpus > free or gpus >= failed[0][pod]:
                blocked += 1
                continue
            if time_left_h is None:
                shadow_h, reserved_nodes = sched.shadow(q[0])
                time_left_h = shadow_h - sched.env.now
            long_job = estimate_left(job) > time_left_h
            if long_job and gpus >= failed[1][pod]:
                blocked += 1
                continue
            if sched.try_start(job, avoid=reserved_nodes if long_job else no_avoid):
                started.add(job)
                if not long_job and sched.short_started():
                    time_left_h = None   # the same shadow time, a new choice of nodes
                continue
            blocked += 1
            if (guarded and not preemptible[tier[job]]) or not sizes_order:
                continue   # it may have fitted, but not taken GPUs a reservation lent: says nothing of spot jobs
            for stricter in ((True,) if long_job else (False, True)):
                for stricter_pod in ((True,) if pod else (False, True)):
                    failed[stricter][stricter_pod] = min(failed[stricter][stricter_pod], gpus)
            if failed[0][0] == 1:
                break   # not even one GPU free without constraints: nothing else fits
        if started:   # rebuild only the scanned part, not the whole queue
            scanned_part = [q.popleft() for _ in range(scanned + 1)]
            q.extendleft(reversed([j for j in scanned_part if j not in started]))


class Las(Policy):
    """Discretized least attained service (Tiresias, NSDI 2019): a job's queue level
    is the number of `las_thresholds_gpu_h` its attained GPU-hours have passed; lower
    levels first, arrival order within a level. A blocked job preempts running jobs of
    higher levels (the highest, most recently started first). A running job that
    crosses a threshold is demoted, and may then be preempted."""

    def __init__(self, *args):
        super().__init__(*args)
        self.thresholds = list(self.config.las_thresholds_gpu_h)
        self.levels: list[list[int]] = [[] for _ in range(len(self.thresholds) + 1)]
        self.count = 0
        self.now = 0.0

    def level(self, job) -> int:
        attained = self.jobs.attained_at(job, self.now)
        return sum(attained >= t - 1e-9 for t in self.thresholds)

    def push(self, job):
        heapq.heappush(self.levels[self.level(job)], job)   # queued: attained is settled
        self.count += 1

    def __len__(self):
        return self.count

    def __iter__(self):
        return (job for level in self.levels for job in level)

    def dispatch(self, sched, node_type):
        self.now = sched.env.now
        while self.count:
            lvl = next(i for i, level in enumerate(self.levels) if level)
            job = self.levels[lvl][0]
            if not sched.try_start(job):
                higher = [(v, j) for v, j in ((self.level(j), j) for j in sched.running_jobs(node_type)) if v > lvl]
                victims = [j for _, j in sorted(higher, key=lambda vj: (-vj[0], -self.jobs.run_start[vj[1]]))]
                if not sched.preempt_until_fits(job, victims):
                    return
            heapq.heappop(self.levels[lvl])
            self.count -= 1

    def on_start(self, sched, job):
        """Wake up when the job crosses its next threshold, to demote it."""
        attained = self.jobs.attained_at(job, sched.env.now)
        nxt = next((t for t in self.thresholds if t > attained + 1e-9), None)
        if nxt is not None:
            sched.wake_at(job, (nxt - attained) / self.jobs.share[job])


class FairShare(Policy):
    """Weighted fair share across tenants: the waiting tenant with the smallest
    dominant share (GPUs it holds here / its weight; GPUs are the one resource) goes
    next, its jobs in arrival order; head-of-line blocking."""

    def __init__(self, *args):
        super().__init__(*args)
        self.queues: dict[int, deque[int]] = {}
        self.held: dict[int, int] = {}
        self.count = 0

    def push(self, job):
        _in_arrival_order(self.queues.setdefault(self.jobs.tenant[job], deque()), job)
        self.count += 1

    def __len__(self):
        return self.count

    def __iter__(self):
        return (job for q in self.queues.values() for job in q)

    def share(self, tenant) -> float:
        return self.held.get(tenant, 0) / self.weights[tenant]

    def dispatch(self, sched, node_type):
        while self.count:
            tenant = min((t for t, q in self.queues.items() if q), key=lambda t: (self.share(t), t))
            job = self.queues[tenant][0]
            if not sched.try_start(job):
                return
            self.queues[tenant].popleft()
            self.count -= 1

    def on_start(self, sched, job):
        tenant = self.jobs.tenant[job]
        self.held[tenant] = self.held.get(tenant, 0) + self.jobs.share[job]

    def on_stop(self, job):
        self.held[self.jobs.tenant[job]] -= self.jobs.share[job]


def policy_problem(name: str) -> str | None:
    """Why a scenario's `scheduler.policy` cannot run here (unknown name), or None."""
    if name in POLICIES:
        return None
    return f"scheduler.policy: unknown policy {name!r} (expected one of {', '.join(sorted(POLICIES))})"


POLICIES = {"fifo": Fifo, "priority": Priority, "easy_backfill": EasyBackfill, "las": Las,
            "fair_share": FairShare}
