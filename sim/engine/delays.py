"""Late delivery of a host's sites: per replica and site, with the first hosting contract's
`delivery_delay` odds there, an exponential delay of whole hours, drawn from the site's own
stream (a config and its baseline see the same delays). The engine delays the client's
deployments by it; the contracts move their dates by the same draws."""
from __future__ import annotations

import numpy as np

from ..config.schema import Scenario
from ..config.types import schedule_steps
from ..rng import stream


def delay_spec(s: Scenario, site: str):
    """The odds of late delivery at a site: the first hosting contract there with a
    `delivery_delay` sets them; when a merger makes host and client one company, the
    merger's `delivery_delay` replaces them (owning the site changes the time to power)."""
    h = next((h for h in s.hosting_contracts if h.site == site and h.delivery_delay), None)
    if h is None:
        return None
    merger = s.merger
    if merger is not None and merger.delivery_delay is not None and s.owner_of(h.host) == s.owner_of(h.client):
        return merger.delivery_delay
    return h.delivery_delay


def site_delay_h(s: Scenario, seed: int, replica: int, site: str) -> float:
    """How late (whole hours) the host delivers `site` in this replica: drawn from the site's
    own stream, so a config and its baseline see the same delays (common random numbers; a
    merger's odds apply to the same draws)."""
    spec = delay_spec(s, site)
    if spec is None:
        return 0.0
    rng = stream(seed, replica, f"delivery/{site}")
    late, delay = rng.random(), rng.exponential(spec.mean_delay)   # always both: stable streams
    return float(round(delay)) if late < spec.probability else 0.0


def deployment_delay_h(s: Scenario, seed: int, replica: int, dep) -> float:
    """A deployment's delivery delay: its site's, if it belongs to the client of a hosting
    contract there that has one, and is due on or after the scenario start and by the
    contract's last ramp step (later ones, such as a refresh, go into MW already delivered)."""
    client = s.configured_owner(dep)
    start = s.deployment_start(dep)
    if start < s.start or not any(
            h.site == dep.site and h.client == client and h.delivery_delay
            and start <= max(day for day, _ in schedule_steps(h.billable_mw, h.start or s.start))
            for h in s.hosting_contracts):
        return 0.0
    return site_delay_h(s, seed, replica, dep.site)


def contract_delays_h(s: Scenario, draws: list[tuple[int, int]] | None, R: int) -> np.ndarray:
    """(contracts, replicas) delivery delays: the site's for a contract that has a
    `delivery_delay` (as the engine delays its client's deployments), none for the others
    or without the replicas' (seed, replica)."""
    out = np.zeros((len(s.hosting_contracts), R))
    if draws is not None:
        for i, h in enumerate(s.hosting_contracts):
            if h.delivery_delay is not None:
                out[i] = [site_delay_h(s, seed, k, h.site) for seed, k in draws]
    return out
