"""Nodes out of service in a scheduler: hardware failures and interruptions (whole nodes or a
failure domain of some GPUs), repairs, spares, and maintenance windows. A failed node's jobs
lose the work since their last checkpoint and are queued again; maintenance preempts them
(they resume without loss)."""
from __future__ import annotations

import simpy

from ..config.schema import Scenario
from ..config.types import HOURS_PER_YEAR


class NodeOutages:
    """The scheduler's outage methods (a mixin of `Scheduler`, whose state they use: pools,
    node_jobs, reservations, broken, down_since, meter, rec, version, dispatch)."""

    def fail_node(self, node_type: str, node: int) -> None:
        """A node fails: its jobs restart from their checkpoints, reservations lose its GPUs."""
        self.take_offline(node_type, node, failed=True)

    def fail_gpus(self, node_type: str, node: int, gpus: int) -> int | None:
        """An outage of `gpus` GPUs of a node (a failure domain smaller than the node): its
        jobs restart from their checkpoints, reservations give its GPUs back, and the GPUs
        out are held until `repair_gpus`. None (nothing happens) when the node is offline or
        has fewer working GPUs than that."""
        pool = self.pools[node_type]
        out = sum(g for t, n, g, _ in self.broken.values() if t == node_type and n == node)
        if not pool.node_up[node] or pool.gpus_per_node - out < gpus:
            return None
        now = self.env.now
        self.meter.advance(now)
        self._clear_node(node_type, node, failed=True)
        pool.take(node, gpus)
        self.version += 1
        outage, self._next_outage = self._next_outage, self._next_outage + 1
        self.broken[outage] = (node_type, node, gpus, now)
        self.dispatch(node_type)
        return outage

    def repair_gpus(self, outage: int) -> None:
        """The GPUs of an outage are back (unless a maintenance window already took them)."""
        if outage not in self.broken:
            return
        node_type, node, gpus, since = self.broken.pop(outage)
        now = self.env.now
        self.meter.advance(now)
        pool = self.pools[node_type]
        self.rec.down(since, now, pool.node_deployment[node], gpus)
        pool.release(node, gpus)
        self.version += 1
        self.dispatch(node_type)

    def _clear_node(self, node_type: str, node: int, failed: bool) -> None:
        """Stop every job on a node (failed: they restart from their checkpoints; else they are
        preempted and resume) and give back the reservations' GPUs on it."""
        now = self.env.now
        pool = self.pools[node_type]
        for job in list(self.node_jobs[node_type].get(node, ())):
            self._stop(job, failed=failed)
            if failed:
                self.jobs.restarts[job] += 1
            else:
                self.jobs.preemptions[job] += 1
            self._enqueue(job)
        for res in self.reservations[node_type]:
            if node in res.held:
                self._close_shortfall(res, now)
                self._release_reserved(res, pool, node, res.held[node][0])

    def take_offline(self, node_type: str, node: int, failed: bool) -> None:
        """A node leaves service: failed (its jobs lose the work since their checkpoints and
        restart) or for maintenance (its jobs are preempted and resume without loss)."""
        now = self.env.now
        self.meter.advance(now)
        pool = self.pools[node_type]
        self._clear_node(node_type, node, failed)
        for outage, (t, n, gpus, since) in list(self.broken.items()):
            if t == node_type and n == node:   # the whole node goes: its partial outage ends now
                del self.broken[outage]
                self.rec.down(since, now, pool.node_deployment[node], gpus)
                pool.release(node, gpus)
        pool.take_down(node)
        self.version += 1
        self.down_since[(node_type, node)] = now
        self.dispatch(node_type)

    def retire_nodes(self, node_type: str, nodes: list[int]) -> None:
        """A deployment's nodes leave service for good (the end of their economic life): jobs
        on them are preempted and queued again, reservations give their GPUs back, and a node
        that is down ends its down time now; repairs and windows then leave them out."""
        now = self.env.now
        self.meter.advance(now)
        pool = self.pools[node_type]
        for node in nodes:
            self.retired.add((node_type, node))
            for outage, (t, n, gpus, since) in list(self.broken.items()):
                if t == node_type and n == node:
                    del self.broken[outage]
                    self.rec.down(since, now, pool.node_deployment[node], gpus)
                    pool.release(node, gpus)
            if pool.node_up[node]:
                self._clear_node(node_type, node, failed=False)
                pool.take_down(node)
            elif (since := self.down_since.pop((node_type, node), None)) is not None:
                self.rec.down(since, now, pool.node_deployment[node], pool.gpus_per_node)
        pool.forget_nodes(nodes)
        self.version += 1
        self.dispatch(node_type)

    def bring_up(self, node_type: str, node: int) -> None:
        """A repaired node or a spare enters service."""
        if (node_type, node) in self.retired:
            return
        now = self.env.now
        self.meter.advance(now)
        pool = self.pools[node_type]
        since = self.down_since.pop((node_type, node), None)
        if since is not None:
            self.rec.down(since, now, pool.node_deployment[node], pool.gpus_per_node)
        pool.bring_up(node)
        self.version += 1
        self.dispatch(node_type)

    def retire_failed(self, node_type: str, node: int) -> None:
        """A repaired node joins the spares instead of service: its down time ends."""
        if (node_type, node) in self.retired:
            return
        since = self.down_since.pop((node_type, node))
        pool = self.pools[node_type]
        self.rec.down(since, self.env.now, pool.node_deployment[node], pool.gpus_per_node)


def outages(env, sched, nt, in_service: list[int], spares: list[int] | None, rng,
            per_gpu_year: float, mean_down_h: float):
    """Node outages of one deployment: exponential times between them at `per_gpu_year`
    per GPU over the nodes in service; the node's jobs restart from their checkpoints and
    it is back after an exponential time of mean `mean_down_h`. Hardware failures pass the
    site's `spares`: a spare takes the failed node's place at once, and the repaired node
    then becomes a spare. Interruptions pass None: the node just comes back. Both kinds
    share `in_service`, so a node that is down cannot fail again. With a failure domain
    smaller than the node, an outage takes only that many GPUs out and the node keeps
    serving with the rest (no spares). Draws come from the deployment's own stream, so
    every variant sees the same outages of the same nodes."""
    rate_per_node_h = per_gpu_year * nt.gpus_per_node / HOURS_PER_YEAR

    def back(node, hours):
        yield env.timeout(hours)
        if spares_in_use[0]:
            spares_in_use[0] -= 1
            sched.retire_failed(nt.name, node)
            spares.append(node)
        else:
            sched.bring_up(nt.name, node)
            in_service.append(node)

    def part_back(outage, hours):
        yield env.timeout(hours)
        sched.repair_gpus(outage)

    spares_in_use = [0]
    try:
        while True:
            gap = rng.exponential(1.0 / (rate_per_node_h * max(len(in_service), 1)))
            pick, down_h = rng.random(), rng.exponential(mean_down_h)
            yield env.timeout(gap)
            if not in_service:
                continue
            index = int(pick * len(in_service))
            if not nt.whole_node_outages:
                outage = sched.fail_gpus(nt.name, in_service[index], nt.failure_domain_gpus)
                if outage is not None:
                    env.process(part_back(outage, down_h))
                continue
            if not sched.pools[nt.name].node_up[in_service[index]]:
                continue   # offline for maintenance: it cannot fail now
            node = in_service.pop(index)
            sched.fail_node(nt.name, node)
            if spares:
                spare = spares.pop()
                sched.bring_up(nt.name, spare)
                in_service.append(spare)
                spares_in_use[0] += 1
            env.process(back(node, down_h))
    except simpy.Interrupt:   # the deployment retired
        return


def maintenance_of(s: Scenario, dep) -> list:
    """The maintenance windows that take a deployment's nodes offline."""
    return [m for m in s.maintenance if m.site == dep.site and m.node_type in (None, dep.node_type)]


def maintenance(env, sched, node_type: str, nodes: list[int], start_h: float, m):
    """A planned window: the first `node_fraction` of the deployment's nodes that are up
    at its start go offline, and come back at its end."""
    yield env.timeout(max(0.0, start_h - env.now))
    pool = sched.pools[node_type]
    up = [n for n in nodes if pool.node_up[n]]
    chosen = up[:int(round(m.node_fraction * len(up)))]
    for node in chosen:
        sched.take_offline(node_type, node, failed=False)
    yield env.timeout(m.duration)
    for node in chosen:
        sched.bring_up(node_type, node)
