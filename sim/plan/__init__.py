"""From a validated scenario to the one a replica runs: the fleet over its life (retirement,
refresh, conversions that become MW and GPUs; the same in every replica) and the demand
beyond the backlog (renewals and signings at market prices; drawn per replica), as plain
deployments and tenants the engine and the books take as they take configured ones.

May import: `sim.config`, `sim.inputs`, `sim.errors`, `sim.rng`, `sim.metrics`."""
from __future__ import annotations

from ..config.schema import Scenario
from .fleet import plan_fleet
from .signings import plan_demand


def planned(scenarios: list[Scenario], seed: int) -> list[Scenario]:
    """Each replica's planned scenario: one shared object per distinct input scenario when
    no demand is drawn (so replicas keep sharing their kernels batch)."""
    fleets: dict[int, Scenario] = {}
    out = []
    for k, s in enumerate(scenarios):
        if id(s) not in fleets:
            fleets[id(s)] = plan_fleet(s)
        fleet = fleets[id(s)]
        demand, lost = plan_demand(fleet, seed, k)
        if demand is not fleet:
            demand._lost_demand = tuple(lost)
        out.append(demand)
    return out
