"""One scheduler over its pools (one pool per node type): reservations, jobs,
preemption and node failures. The order in which jobs start is the policy's
(`sim/engine/policies.py`); the mechanics are here.

Reservations are contract capacity, not jobs: they are served first, from
whatever is free in their scope, and reclaim GPUs from running spot jobs;
what they still cannot get is recorded as shortfall. A reservation may lend
the GPUs its tenant leaves idle to spot work: then no other job may start if
free plus spot GPUs would no longer cover what is lent. A job may run in several
segments: a preempted job keeps its progress (suspend and resume); a job whose
node fails loses the work since its last checkpoint (all of it without
checkpoints), counted as badput, and is queued again (an outage may take a
whole node or only part of it). Completion and wake-up
timers carry the job's epoch, bumped whenever a segment ends, so a stale timer
ignores itself: SimPy timeouts cannot be cancelled.
"""
from __future__ import annotations

import bisect
import math
from itertools import islice

import simpy

from .fleet import Allocation, Pool
from .outages import NodeOutages
from .policies import POLICIES, Policy
from .records import JobTable, Recorder
from .reservations import Reservation, ReservationDesk
from .stranding import StrandingMeter


class Scheduler(ReservationDesk, NodeOutages):
    def __init__(self, env: simpy.Environment, config, jobs: JobTable, rec: Recorder, meter: StrandingMeter,
                 weights: list[float]):
        self.env = env
        self.config = config
        self.jobs = jobs
        self.rec = rec
        self.meter = meter
        self.weights = weights
        self.pools: dict[str, Pool] = {}
        self.policies: dict[str, object] = {}
        self.reservations: dict[str, list[Reservation]] = {}
        self.running: dict[int, tuple[Pool, Allocation]] = {}
        self.active: dict[str, dict[int, None]] = {}            # node type -> running jobs
        self.node_jobs: dict[str, dict[int, dict[int, None]]] = {}
        self.by_end: dict[str, list[tuple[float, int]]] = {}    # estimated ends, for backfill
        self.est_end: dict[int, float] = {}
        self.down_since: dict[tuple[str, int], float] = {}
        self.retired: set[tuple[str, int]] = set()   # (node type, node) past its economic life
        self.broken: dict[int, tuple[str, int, int, float]] = {}   # outage -> node type, node, GPUs, since
        self._next_outage = 0
        self.track_nodes = False   # jobs by node: only needed where nodes can fail
        self.version = 0           # bumped when capacity is freed or changes: invalidates the shadow
        self._shadow_key: tuple | None = None
        self._shadow: tuple[float, frozenset] = (math.inf, frozenset())
        self._shadow_holds_free = False   # the head's reservation tops up with nodes free now
        self.hooks: dict[str, tuple[bool, bool]] = {}   # policy overrides on_start, on_stop
        self.track_ends = POLICIES[config.policy].uses_shadow   # running jobs by estimated end
        self.preemptible = config.preemptible   # by class rank: spot-like work that gives GPUs back
        self.lending: dict[str, list[Reservation]] = {}  # node type -> reservations lending idle GPUs
        self.spot_gpus: dict[str, dict[str, int]] = {}   # node type -> site -> GPUs running spot jobs

    def pool(self, node_type: str, gpus_per_node: int, make=None) -> Pool:
        """The pool of a node type, made on first use (`make()`: another kind of pool, such as
        `SharedPool` for GPU-sharing nodes; whole GPUs by default)."""
        if node_type not in self.pools:
            pool = make() if make is not None else Pool(node_type, gpus_per_node, self.config.placement)
            self.pools[node_type] = pool
            policy = POLICIES[self.config.policy](self.jobs, self.config, self.weights)
            self.policies[node_type] = policy
            self.hooks[node_type] = (type(policy).on_start is not Policy.on_start,
                                     type(policy).on_stop is not Policy.on_stop)
            self.reservations[node_type] = []
            self.active[node_type] = {}
            self.node_jobs[node_type] = {}
            self.by_end[node_type] = []
            self.lending[node_type] = []
            self.spot_gpus[node_type] = {}
            self.meter.register(pool)
        return self.pools[node_type]

    # ------------------------------------------------------------ events from the model
    def nodes_online(self, node_type: str, site: str, nodes: int, deployment: int,
                     nodes_per_pod: int | None, spares: int = 0) -> tuple[list[int], list[int]]:
        """New nodes: the last `spares` of them are kept out of service as spares
        (powered, never allocated). Returns (in service, spares)."""
        self.meter.advance(self.env.now)
        pool = self.pools[node_type]
        self.version += 1
        ids = pool.add_nodes(site, nodes, deployment, nodes_per_pod)
        cut = len(ids) - spares
        for node in ids[cut:]:
            pool.take_down(node)
        self.dispatch(node_type)
        return ids[:cut], ids[cut:]

    def submit(self, job: int) -> None:
        self.meter.advance(self.env.now)
        node_type = self.jobs.node_type[job]
        pool = self.pools.get(node_type)
        if pool is None or not pool.could_run(self.jobs, job):
            self.jobs.state[job] = JobTable.REJECTED
            return
        pool.note_request(self.jobs.gpus[job])
        # Nobody waiting: start at once if it fits. Reservations short of their target
        # already hold every free GPU in their scope (each dispatch fills them first),
        # so what is free here is free to use.
        policy = self.policies[node_type]
        if not len(policy) and self.try_start(job):
            return
        self._enqueue(job)
        policy.on_arrival(self, node_type, job)

    # ------------------------------------------------------------ what policies call
    def dispatch(self, node_type: str) -> None:
        if self.reservations[node_type]:
            self._fill_reservations(node_type)
        policy = self.policies[node_type]
        if len(policy):
            policy.dispatch(self, node_type)

    def try_start(self, job: int, avoid=frozenset()) -> bool:
        node_type = self.jobs.node_type[job]
        pool = self.pools[node_type]
        alloc = pool.place_job(self.jobs, job, avoid)
        if alloc is None:
            return False
        if self.lending[node_type] and not self.preemptible[self.jobs.tier[job]] \
                and not self._lent_reclaimable(node_type):
            pool.free(alloc)   # it would take GPUs lent out by a reservation: give them back
            return False
        self._start(job, pool, alloc)
        return True

    def running_jobs(self, node_type: str):
        return list(self.active[node_type])

    def spot_victims(self, node_type: str, site: str | None = None, below: int = 0) -> list[int]:
        """Running jobs of preemptible classes ranked below `below` (any, for reservations; in
        `site`, if given), most recently started first: the order in which reservations and
        higher classes take GPUs back."""
        jobs, running, preemptible = self.jobs, self.running, self.preemptible
        return sorted((j for j in self.active[node_type] if preemptible[jobs.tier[j]] and jobs.tier[j] > below
                       and (site is None or running[j][0].node_site[running[j][1][0][0]] == site)),
                      key=lambda j: -jobs.run_start[j])

    def preempt(self, job: int) -> None:
        self._stop(job, failed=False)
        self.jobs.preemptions[job] += 1
        self._enqueue(job)

    def preempt_until_fits(self, job: int, victims: list[int]) -> bool:
        """Preempt victims in order until `job` starts; False (and nothing preempted) when
        even all of them would not make room for it, placement included."""
        jobs = self.jobs
        node_type = jobs.node_type[job]
        if not self._fits_if_freed(job, victims):
            return False
        room = self.pools[node_type].free_gpus + sum(jobs.share[v] for v in victims)
        if self.lending[node_type] and not self.preemptible[jobs.tier[job]]:   # GPUs lent out stay reclaimable
            spot_left = (sum(self.spot_gpus[node_type].values())
                         - sum(jobs.share[v] for v in victims if self.preemptible[jobs.tier[v]]))
            room -= max(0, sum(r.guaranteed - r.target for r in self.lending[node_type]) - spot_left)
        if room < jobs.share[job]:
            return False
        for victim in victims:
            self.preempt(victim)
            if self.try_start(job):
                return True
        return False

    def _fits_if_freed(self, job: int, victims: list[int]) -> bool:
        """Would `job` find a place once the victims' GPUs are free? (Nothing is changed.)"""
        jobs = self.jobs
        pool = self.pools[jobs.node_type[job]]
        if pool.shares_gpus:
            return pool.fits_if_freed(jobs, job, [self.running[v][1] for v in victims])
        n, gpus = pool.gpus_per_node, jobs.gpus[job]
        freed: dict[int, int] = {}   # node -> free GPUs with the victims gone
        for victim in victims:
            for node, g in self.running[victim][1]:
                freed[node] = freed.get(node, pool.node_free[node]) + g
        if gpus <= n:
            return any(f >= gpus for f in freed.values()) or any(
                buckets[k] for buckets in pool.buckets.values() for k in range(gpus, n + 1))
        groups = pool.pod_whole if jobs.in_pod[job] else {site: b[n] for site, b in pool.buckets.items()}
        group_of = pool.node_pod if jobs.in_pod[job] else pool.node_site
        emptied: dict = {}
        for node, f in freed.items():
            if f == n:
                emptied[group_of[node]] = emptied.get(group_of[node], 0) + 1
        count = -(-gpus // n)
        return any(len(whole) + emptied.get(group, 0) >= count for group, whole in groups.items())

    def wake_at(self, job: int, delay_h: float) -> None:
        """Dispatch again after `delay_h` if the job is still in the same segment."""
        ev = self.env.timeout(delay_h, value=(job, self.jobs.epoch[job]))
        ev.callbacks.append(self._on_wake)

    def shadow(self, job: int) -> tuple[float, frozenset]:
        """The earliest time the running jobs' estimates free room for `job`, and the nodes
        it would take then (EASY backfill's reservation): the nodes freed by then, in the
        order they free, and nodes free now only where those are too few. Walks running jobs
        by estimated end only as far as needed: cost follows the shortage, not the fleet.
        Cached until a job stops or capacity changes, or `short_started` says the choice of
        nodes changed: starts that EASY allows cannot move the time (a backfilled job ends
        before it, or stays off the reserved nodes)."""
        key = (job, self.version)
        if self._shadow_key != key:
            self._shadow_key, self._shadow = key, self._walk_shadow(job)
        return self._shadow

    def short_started(self) -> bool:
        """A job that ends (by its estimate) before the shadow time has started. Where the
        head's reservation holds nodes that are free now, the nodes the newcomer frees by the
        shadow time come first in it, releasing as many free ones to the jobs behind: the
        reservation is chosen again (True) at the next `shadow` call."""
        if self._shadow_holds_free:
            self._shadow_key = None
            return True
        return False

    def _walk_shadow(self, job: int) -> tuple[float, frozenset]:
        jobs = self.jobs
        node_type = jobs.node_type[job]
        pool = self.pools[node_type]
        self._shadow_holds_free = False
        if pool.shares_gpus:
            return pool.shadow(jobs, job, self.by_end[node_type], self.running)
        n, gpus = pool.gpus_per_node, jobs.gpus[job]
        by_end, running, node_free = self.by_end[node_type], self.running, pool.node_free
        scratch: dict[int, int] = {}   # node -> free GPUs once the jobs walked so far have ended
        if gpus <= n:                  # one node with enough free GPUs
            for end_h, other in by_end:
                for node, g in running[other][1]:
                    free = scratch.get(node, node_free[node]) + g
                    if free >= gpus:
                        return end_h, frozenset([node])
                    scratch[node] = free
            return math.inf, frozenset()
        # whole nodes, enough of them in one pod (or site): those already whole, and those emptied
        count = -(-gpus // n)
        in_pod = jobs.in_pod[job]
        group_of = pool.node_pod if in_pod else pool.node_site
        newly: dict = {}
        found_h, found = math.inf, None
        for end_h, other in by_end:
            if end_h > found_h:
                break   # past the shadow time; jobs ending at it too free nodes by then
            for node, g in running[other][1]:
                free = scratch.get(node, node_free[node]) + g
                scratch[node] = free
                if free == n:
                    group = group_of[node]
                    emptied = newly.setdefault(group, [])
                    emptied.append(node)
                    if found is None:
                        whole = pool.pod_whole[group] if in_pod else pool.buckets[group][n]
                        if len(whole) + len(emptied) >= count:
                            found_h, found = end_h, group
        if found is None:
            return math.inf, frozenset()
        emptied = newly[found]
        top_up = max(0, count - len(emptied))
        self._shadow_holds_free = top_up > 0
        whole = pool.pod_whole[found] if in_pod else pool.buckets[found][n]
        return found_h, frozenset(emptied[:count] + list(islice(reversed(whole), top_up)))

    # ------------------------------------------------------------ internals
    def _enqueue(self, job: int) -> None:
        self.jobs.state[job] = JobTable.QUEUED
        self.policies[self.jobs.node_type[job]].push(job)
        self.meter.change_queued(self.jobs.node_type[job], self.jobs.share[job])

    def _start(self, job: int, pool: Pool, alloc: Allocation) -> None:
        jobs, now = self.jobs, self.env.now
        node_type = pool.node_type
        if jobs.state[job] == JobTable.QUEUED:
            self.meter.change_queued(node_type, -jobs.share[job])
        if math.isnan(jobs.start[job]):
            jobs.start[job] = now
            jobs.site[job] = pool.node_site[alloc[0][0]]
        jobs.run_start[job] = now
        jobs.state[job] = JobTable.RUNNING
        self.running[job] = (pool, alloc)
        self.active[node_type][job] = None
        if self.preemptible[jobs.tier[job]]:
            self._count_spot(job, pool, alloc, +1)
        if self.track_nodes:
            node_jobs = self.node_jobs[node_type]
            for node, _ in alloc:
                node_jobs.setdefault(node, {})[job] = None
        if self.track_ends:
            end = now + jobs.estimate_left(job)
            self.est_end[job] = end
            bisect.insort(self.by_end[node_type], (end, job))
        done = self.env.timeout(jobs.remaining[job], value=(job, jobs.epoch[job]))
        done.callbacks.append(self._on_finish)
        if self.hooks[node_type][0]:
            self.policies[node_type].on_start(self, job)

    def _stop(self, job: int, failed: bool, completed: bool = False) -> None:
        """End the job's current segment: record it, free its GPUs, update its progress."""
        jobs, now = self.jobs, self.env.now
        self.version += 1
        pool, alloc = self.running.pop(job)
        node_type = pool.node_type
        self._record_job(job, pool, alloc, now)
        if self.preemptible[jobs.tier[job]]:
            self._count_spot(job, pool, alloc, -1)
        pool.free(alloc)
        if self.track_nodes:
            node_jobs = self.node_jobs[node_type]
            for node, _ in alloc:
                del node_jobs[node][job]
        del self.active[node_type][job]
        if job in self.est_end:
            by_end = self.by_end[node_type]
            del by_end[bisect.bisect_left(by_end, (self.est_end.pop(job), job))]
        ran = now - jobs.run_start[job]
        lost = 0.0
        if completed:   # the common case, kept short
            jobs.attained[job] += jobs.remaining[job] * jobs.share[job]
            jobs.remaining[job] = 0.0
            jobs.epoch[job] += 1
            if self.hooks[node_type][1]:
                self.policies[node_type].on_stop(job)
            return
        if failed:
            ckpt = jobs.checkpoint[job]
            if math.isnan(ckpt):   # no checkpoints: everything done so far is lost
                lost = ran + (jobs.duration[job] - jobs.remaining[job])
            else:
                lost = ran % ckpt
        useful = ran - lost
        jobs.remaining[job] = max(0.0, jobs.remaining[job] - useful)
        jobs.attained[job] = max(0.0, jobs.attained[job] + useful * jobs.share[job])
        jobs.badput[job] += lost * jobs.share[job]
        jobs.epoch[job] += 1
        if self.hooks[node_type][1]:
            self.policies[node_type].on_stop(job)

    def _count_spot(self, job: int, pool: Pool, alloc: Allocation, sign: int) -> None:
        site = pool.node_site[alloc[0][0]]   # a job's nodes are in one site
        spot = self.spot_gpus[pool.node_type]
        spot[site] = spot.get(site, 0) + sign * sum(g for _, g in alloc)

    def _on_finish(self, event: simpy.Event) -> None:
        job, epoch = event.value
        if epoch != self.jobs.epoch[job]:
            return   # the segment this timer belonged to was preempted or failed
        self.meter.advance(self.env.now)
        node_type = self.jobs.node_type[job]
        self._stop(job, failed=False, completed=True)
        self.jobs.end[job] = self.env.now
        self.jobs.state[job] = JobTable.COMPLETED
        self.dispatch(node_type)

    def _on_wake(self, event: simpy.Event) -> None:
        job, epoch = event.value
        if epoch == self.jobs.epoch[job] and job in self.running:
            self.meter.advance(self.env.now)
            node_type = self.jobs.node_type[job]
            self.policies[node_type].on_start(self, job)   # arm the next wake-up
            self.dispatch(node_type)

    def _record_job(self, job: int, pool: Pool, alloc: Allocation, end: float) -> None:
        """One interval per deployment the job's nodes belong to (a gang job's nodes
        are nearly always in one), its GPUs summed: accounting works by deployment."""
        jobs = self.jobs
        deployment = pool.node_deployment
        if len(alloc) == 1:
            node, gpus = alloc[0]
            self.rec.job(jobs.run_start[job], end, deployment[node], gpus, jobs.share[job], jobs.utilization[job],
                         jobs.tenant[job])
            return
        held: dict[int, int] = {}
        for node, gpus in alloc:
            held[deployment[node]] = held.get(deployment[node], 0) + gpus
        busy_share = jobs.gpus[job] / sum(held.values())  # gang jobs may hold GPUs they do not use
        for dep, gpus in held.items():
            self.rec.job(jobs.run_start[job], end, dep, gpus, gpus * busy_share, jobs.utilization[job], jobs.tenant[job])

    def finish(self, horizon_h: float) -> None:
        """Close every open interval at the horizon; running and queued jobs stay unfinished."""
        self.meter.advance(horizon_h)
        for job, (pool, alloc) in sorted(self.running.items()):
            self._record_job(job, pool, alloc, horizon_h)
        for node_type, reservations in self.reservations.items():
            pool = self.pools[node_type]
            for res in reservations:
                self._close_shortfall(res, horizon_h)
                for node, (gpus, since) in res.held.items():
                    self.rec.reserved(since, horizon_h, pool.node_deployment[node], gpus, res.profile)
        for (node_type, node), since in sorted(self.down_since.items()):
            pool = self.pools[node_type]
            self.rec.down(since, horizon_h, pool.node_deployment[node], pool.gpus_per_node)
        for node_type, node, gpus, since in self.broken.values():
            self.rec.down(since, horizon_h, self.pools[node_type].node_deployment[node], gpus)
        for pool in self.pools.values():
            pool.check()

    def queued(self) -> int:
        return sum(len(p) for p in self.policies.values())
