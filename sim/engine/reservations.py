"""Reservations in a scheduler: contract capacity served before any job, from whatever is
free in its scope, reclaiming GPUs from spot jobs; what it still cannot get is recorded as
shortfall. A reservation may lend the GPUs its tenant leaves idle to spot work: then no other
job may start if free plus spot GPUs would no longer cover what is lent."""
from __future__ import annotations

from .fleet import Pool


class Reservation:
    """A tenant's reserved GPUs of one node type. `target`: the GPUs it holds now (steps
    over time); `guaranteed`: its contracted level, above the target when it lends its
    idle GPUs to spot work (then only spot jobs may use the difference)."""

    def __init__(self, profile: int, node_type: str, site: str | None):
        self.profile = profile
        self.node_type = node_type
        self.site = site
        self.target = 0
        self.guaranteed = 0
        self.granted = 0
        self.held: dict[int, list] = {}   # node -> [gpus, since]
        self.short_since = 0.0


class ReservationDesk:
    """The scheduler's reservation methods (a mixin of `Scheduler`, whose state they use:
    pools, reservations, lending, spot_gpus, meter, rec, version, dispatch)."""

    def set_reservation(self, res: Reservation, target: int, guaranteed: int | None = None) -> None:
        """Hold `target` GPUs from now; keep `guaranteed` (default: the target) reclaimable."""
        now = self.env.now
        self.meter.advance(now)
        self._close_shortfall(res, now)
        res.target = target
        res.guaranteed = target if guaranteed is None else max(guaranteed, target)
        lending = self.lending[res.node_type]   # only reservations lending now: the guard checks them
        if res.guaranteed > target and res not in lending:
            lending.append(res)
        elif res.guaranteed == target and res in lending:
            lending.remove(res)
        self.version += 1
        pool = self.pools[res.node_type]
        for node in reversed(list(res.held)):
            if res.granted <= target:
                break
            gpus, since = res.held[node]
            give = min(gpus, res.granted - target)
            self._release_reserved(res, pool, node, give)
        if res not in self.reservations[res.node_type]:
            self.reservations[res.node_type].append(res)
        self.dispatch(res.node_type)

    def _lent_reclaimable(self, node_type: str) -> bool:
        """Can every lending reservation still get back its idle GPUs, from free GPUs and
        spot jobs (preempted on demand), in its site and across the pool?"""
        pool, spot = self.pools[node_type], self.spot_gpus[node_type]
        total = 0
        by_site: dict[str, int] = {}
        for res in self.lending[node_type]:
            idle = res.guaranteed - res.target
            total += idle
            if res.site is not None:
                by_site[res.site] = by_site.get(res.site, 0) + idle
        if pool.free_gpus + sum(spot.values()) < total:
            return False
        return all(pool.site_free.get(site, 0) + spot.get(site, 0) >= idle for site, idle in by_site.items())

    def _fill_reservations(self, node_type: str) -> None:
        pool = self.pools[node_type]
        spot_gpus = self.spot_gpus[node_type]
        now = self.env.now
        for res in self.reservations[node_type]:
            if res.granted >= res.target:
                continue
            free = pool.free_gpus if res.site is None else pool.site_free.get(res.site, 0)
            if not free and not (sum(spot_gpus.values()) if res.site is None else spot_gpus.get(res.site, 0)):
                continue   # nothing free and no spot work to reclaim in its scope: still short
            self._close_shortfall(res, now)
            self._grant(res, pool)
            if res.granted < res.target:
                # reclaim from spot work, most recently started first
                for victim in self.spot_victims(node_type, res.site):
                    self.preempt(victim)
                    self._grant(res, pool)
                    if res.granted >= res.target:
                        break

    def _grant(self, res: Reservation, pool: Pool) -> None:
        now = self.env.now
        for node, gpus in pool.take_up_to(res.target - res.granted, res.site):
            if node in res.held:   # close the node's old chunk; one bigger chunk from now
                old, since = res.held[node]
                self.rec.reserved(since, now, pool.node_deployment[node], old, res.profile)
                gpus += old
                res.granted -= old
            res.held[node] = [gpus, now]
            res.granted += gpus

    def _release_reserved(self, res: Reservation, pool: Pool, node: int, give: int) -> None:
        now = self.env.now
        gpus, since = res.held[node]
        self.rec.reserved(since, now, pool.node_deployment[node], gpus, res.profile)
        pool.release(node, give)
        if give == gpus:
            del res.held[node]
        else:
            res.held[node] = [gpus - give, now]
        res.granted -= give

    def _close_shortfall(self, res: Reservation, now: float) -> None:
        short = res.target - res.granted
        if short > 0 and now > res.short_since:
            self.rec.shortfall(res.short_since, now, res.profile, short)
        res.short_since = now
