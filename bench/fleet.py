"""The one-company, one-site, one-node-type scenario every benchmark builds on."""
from __future__ import annotations

GPU8 = {"name": "g", "gpus_per_node": 8, "gpu_idle_w": 100.0, "gpu_max_w": 700.0}


def one_site(name: str, horizon, nodes: int, workload: dict, *, start: str = "2026-01-01",
             node_type: dict = GPU8, company: str = "c", site: str = "s", tenant: str = "t",
             critical_it_mw: float = 1000.0, usd_per_mwh: float = 50.0, kg_per_mwh: float = 400.0,
             scheduler: dict | None = None, replicas: int | None = None) -> dict:
    """A scenario mapping: `nodes` nodes of `node_type` at one site and one tenant running
    `workload` (its node type filled in)."""
    s = {
        "scenario": name, "start": start, "horizon": horizon,
        "companies": [{"name": company}],
        "sites": [{"name": site, "owner": company, "critical_it_mw": critical_it_mw,
                   "energy_price": {"flat_usd_per_mwh": usd_per_mwh}, "carbon": {"flat_kg_per_mwh": kg_per_mwh}}],
        "node_types": [node_type],
        "deployments": [{"site": site, "node_type": node_type["name"], "nodes": nodes}],
        "tenants": [{"name": tenant, "provider": company, "workload": {"node_type": node_type["name"], **workload}}],
    }
    if scheduler is not None:
        s["scheduler"] = scheduler
    if replicas is not None:
        s["replicas"] = replicas
    return s
